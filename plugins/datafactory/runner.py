"""The engine side of the main job: which day runs next, and the simulated upstream delivery of that day.

Running the DAGs themselves (`dag.test()`, logs, progress) is Airflow's part: datafactory.airflow.runs."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa

from datafactory.settings import Settings
from datafactory.sources.ledger import PULLS, Ledger


class RunFailedError(RuntimeError):
    """A DAG run ended in a state other than success."""


@dataclass(frozen=True)
class RunSummary:
    logical_date: date
    dag_states: dict[str, str]
    report: Path
    product_versions: dict[str, int]


def next_logical_date(settings: Settings) -> date:
    """The day after the newest date every feed has pulled; the simulator's first day otherwise."""
    engine = settings.state_engine()
    Ledger(engine)
    with engine.connect() as conn:
        newest = conn.execute(sa.select(sa.func.max(PULLS.c.logical_date)).where(PULLS.c.outcome == "success")).scalar()
    return newest + timedelta(days=1) if newest else date.fromisoformat(settings.first_logical_date)


def deliver_upstream(settings: Settings, logical_date: date) -> int:
    """The simulator delivers the day to every channel: exchange DB, sharing platform, file drops."""
    from datafactory.sources.landing import open_landing
    from datafactory.sources.simulator.deliver import Scale, Targets, deliver_everything
    from datafactory.specs import load_sources

    for url in (settings.exchange_url, settings.platform_url):
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    targets = Targets(
        settings.exchange_engine(),
        sa.create_engine(settings.platform_url),
        open_landing(settings.landing_url, settings.s3_endpoint_url),
    )
    first = date.fromisoformat(settings.first_logical_date)
    specs = load_sources(settings.repo)
    delivered = deliver_everything(targets, specs, settings.seed, Scale(settings.enterprises), first, logical_date)
    return sum(delivered.values())


@contextmanager
def simulated_platform() -> Iterator[str | None]:
    """Serve the simulated sharing-platform API on loopback while the DAGs run, unless a real
    platform is configured (DATAFACTORY_API_URL). Tasks find it through that variable."""
    from datafactory.settings import load_settings

    settings = load_settings()
    if settings.api_url:
        yield settings.api_url
        return
    from datafactory.sources.simulator.api_server import PlatformApi

    with PlatformApi(settings.platform_url, settings.api_key, settings.api_secret()) as api:
        os.environ["DATAFACTORY_API_URL"] = api.url
        try:
            yield api.url
        finally:
            os.environ.pop("DATAFACTORY_API_URL", None)


def critical_reasons(logical_date: date) -> list[str]:
    """One line per critical quality failure recorded for the date."""
    import json

    from datafactory.settings import load_settings

    folder = load_settings().home / "quality" / logical_date.isoformat()
    reasons = []
    for path in sorted(folder.glob("*.json")):
        result = json.loads(path.read_text())
        reasons += [f"{result.get('source', path.stem)}: {c}" for c in result.get("critical", [])]
    return reasons
