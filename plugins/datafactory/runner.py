"""The main job: simulate the day's upstream delivery, then run every DAG through `dag.test()`."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, timedelta
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


def airflow_environment(settings: Settings) -> dict[str, str]:
    """Embedded default: SQLite metadata under var/airflow. Values already set win (production)."""
    home = settings.home / "airflow"
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(settings.repo / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(settings.repo / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": "http://localhost:8080/execution/",
        "DATAFACTORY_HOME": str(settings.home),
    }


def prepare_airflow(settings: Settings) -> None:
    for key, value in airflow_environment(settings).items():
        os.environ.setdefault(key, value)
    Path(os.environ["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
    airflow = Path(sys.executable).with_name("airflow")
    done = subprocess.run([str(airflow), "db", "migrate"], capture_output=True, text=True)
    if done.returncode != 0:
        raise RunFailedError(f"airflow db migrate failed: {done.stderr.strip().splitlines()[-1:]}")


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


def run_dags(dag_ids: list[str], logical_date: date) -> dict[str, str]:
    """Run each DAG once for `logical_date`, in order, stopping at the first failure."""
    from datetime import datetime

    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    if bag.import_errors:
        raise RunFailedError(f"DAG import errors: {bag.import_errors}")
    stamp = datetime.combine(logical_date, datetime.min.time(), tzinfo=UTC)
    states = {}
    with simulated_platform():
        for dag_id in dag_ids:
            run = bag.get_dag(dag_id).test(logical_date=stamp, run_conf={"logical_date": logical_date.isoformat()})
            states[dag_id] = str(run.state)
            if states[dag_id] != "success":
                reasons = "; ".join(critical_reasons(logical_date)) or "see the task log above"
                raise RunFailedError(f"{dag_id} ended {states[dag_id]} for {logical_date}: {reasons}")
    return states
