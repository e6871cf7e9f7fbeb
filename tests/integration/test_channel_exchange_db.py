"""Exchange-DB channel against the real PostgreSQL (and SQLite): every exchange feed, exactly once,
with late rows and out-of-order logical dates, shown by row accounting."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta

import pandas as pd
import pytest
import sqlalchemy as sa

from datafactory.sources.dedupe import identities
from datafactory.sources.ingest import ingest
from datafactory.sources.ledger import Ledger
from datafactory.sources.simulator.deliver import deliver_day
from datafactory.sources.upstream import Upstream
from datafactory.specs import load_sources
from datafactory.zones import Zones

pytestmark = pytest.mark.integration
FIRST = date(2026, 11, 1)
DAYS = [FIRST + timedelta(days=i) for i in range(3)]
SIZE = 400


@pytest.fixture(params=["postgres", "sqlite"])
def upstream_url(request, settings) -> str:
    if request.param == "postgres":
        return request.getfixturevalue("postgres_url")
    return f"sqlite:///{settings.home}/exchange.db"


def _exchange_specs(settings):
    return {n: s for n, s in load_sources(settings.repo).items() if s.channel == "exchange_db"}


def _pull(spec, day, settings, engine, ledger, run="run-a"):
    return ingest(
        spec,
        day,
        run,
        upstream=Upstream(exchange=engine),
        ledger=ledger,
        zones=Zones(settings.home),
        pseudonym_key=b"k",
        sm4_key=bytes(16),
    )


def _landed(settings, feed: str) -> pd.DataFrame:
    parts = sorted((settings.home / "raw" / feed).glob("ds=*"))
    return pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)


def _identity_counts(frame: pd.DataFrame, spec) -> Counter:
    return Counter(identities(frame, [*spec.keys, spec.watermark_column]).tolist())


def test_every_exchange_feed_lands_each_upstream_row_once(settings, upstream_url):
    engine = sa.create_engine(upstream_url)
    ledger = Ledger(sa.create_engine(settings.state_url))
    specs = _exchange_specs(settings)
    assert {"ent_tax_credit", "ent_housing_fund", "ent_env_penalty", "ent_registry"} <= set(specs)
    for day in DAYS:
        assert deliver_day(engine, settings.seed, SIZE, FIRST, day) > 0
        assert deliver_day(engine, settings.seed, SIZE, FIRST, day) == 0  # delivered exactly once
        for spec in specs.values():
            first = _pull(spec, day, settings, engine, ledger)
            again = _pull(spec, day, settings, engine, ledger, run="run-b")
            assert first.rows >= 1 and again.reused and again.rows == first.rows
            assert first.rows_received == first.rows + first.rows_duplicate + first.rows_quarantined
    for name, spec in specs.items():
        upstream = pd.read_sql_table(spec.table, engine)
        landed = _landed(settings, name)
        assert len(landed) == len(upstream), name  # nothing lost, nothing landed twice
        assert _identity_counts(landed, spec) == _identity_counts(upstream, spec), name
    raw = _landed(settings, "ent_registry")
    assert raw["legal_rep_id"].str.startswith("p_").all() and set(raw["legal_rep_id_valid"].dropna()) == {1}
    engine.dispose()


def test_late_rows_behind_the_watermark_land_once(settings, upstream_url):
    """Rows committed late, stamped before the watermark but inside the lookback window."""
    engine = sa.create_engine(upstream_url)
    ledger = Ledger(sa.create_engine(settings.state_url))
    spec = _exchange_specs(settings)["ent_admin_penalty"]
    deliver_day(engine, settings.seed, SIZE, FIRST, DAYS[0])
    first = _pull(spec, DAYS[0], settings, engine, ledger)
    mark = datetime.fromisoformat(first.watermark_after)
    late = pd.DataFrame(
        {
            "penalty_id": ["LATE-1", "LATE-2"],
            "uscc": ["91110000600037341L"] * 2,
            "decision_date": [DAYS[0]] * 2,
            "amount": [10.0, 20.0],
            "updated_at": [mark - timedelta(hours=2), mark - timedelta(minutes=1)],
        }
    )
    late.to_sql(spec.table, engine, if_exists="append", index=False)
    deliver_day(engine, settings.seed, SIZE, FIRST, DAYS[1])
    second = _pull(spec, DAYS[1], settings, engine, ledger)
    landed = _landed(settings, spec.name)
    assert landed["penalty_id"].isin(["LATE-1", "LATE-2"]).sum() == 2
    assert second.rows_duplicate > 0  # the lookback re-read rows that had landed; they were dropped
    assert datetime.fromisoformat(second.watermark_after) > mark  # never moves backwards
    assert "late row(s)" in ledger.successful_pull(spec.name, DAYS[1]).message
    assert len(landed) == len(pd.read_sql_table(spec.table, engine))
    engine.dispose()


def test_logical_dates_pulled_out_of_order_lose_and_repeat_nothing(settings, upstream_url):
    engine = sa.create_engine(upstream_url)
    ledger = Ledger(sa.create_engine(settings.state_url))
    spec = _exchange_specs(settings)["ent_tax_monthly"]
    for day in DAYS:
        deliver_day(engine, settings.seed, SIZE, FIRST, day)
    pulled = {day: _pull(spec, day, settings, engine, ledger) for day in (DAYS[0], DAYS[2], DAYS[1])}
    assert pulled[DAYS[1]].rows == 0 and pulled[DAYS[1]].rows_duplicate > 0  # day 3 already took them
    upstream = pd.read_sql_table(spec.table, engine)
    landed = _landed(settings, spec.name)
    assert len(landed) == len(upstream)
    assert _identity_counts(landed, spec) == _identity_counts(upstream, spec)
    engine.dispose()
