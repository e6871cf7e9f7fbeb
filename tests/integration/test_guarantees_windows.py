"""Exactly-once pull windows through the real exchange-DB channel, on SQLite and on PostgreSQL.

The window is watermark < updated_at < midnight after the logical date (sources/watermark.py), both
bounds exclusive: a row stamped exactly at the previous watermark was pulled last time and is not
read again, a row stamped exactly at midnight belongs to the next day, and a row a microsecond
inside either bound is read. The ingest-level tests elsewhere hide an inclusive bound behind the
dedupe step; here the channel's own query is on trial.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd
import pytest
import sqlalchemy as sa
import yaml

from datafactory.sources.channels import Window
from datafactory.sources.channels.exchange_db import ExchangeDbChannel
from datafactory.sources.ingest import ingest
from datafactory.sources.ledger import Ledger
from datafactory.sources.watermark import advance, pull_window
from datafactory.specs import load_source, load_sources
from datafactory.zones import Zones
from tests.conftest import REPO

pytestmark = pytest.mark.integration
DAY = date(2026, 11, 2)
MARK = datetime(2026, 11, 1, 12, 30)  # the previous run's watermark
MIDNIGHT = datetime(2026, 11, 3)  # the end of DAY: the window's exclusive upper bound
TICK = timedelta(microseconds=1)


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request, tmp_path):
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else f"sqlite:///{tmp_path}/x.db"
    engine = sa.create_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture
def spec():
    return load_sources(REPO)["ent_admin_penalty"]


def _write(engine: sa.Engine, spec, stamps: dict[str, datetime]) -> None:
    rows = pd.DataFrame(
        {
            "penalty_id": list(stamps),
            "uscc": ["91110000600037341L"] * len(stamps),
            "decision_date": [DAY] * len(stamps),
            "amount": [1.0] * len(stamps),
            spec.watermark_column: list(stamps.values()),
        }
    )
    rows.to_sql(spec.table, engine, if_exists="append", index=False)


def _pulled(engine: sa.Engine, spec, window: Window) -> set[str]:
    delivery = ExchangeDbChannel(engine).fetch(spec, window)
    frames = [batch for unit in delivery.units for batch in unit.batches(2)]  # several batches
    return set(pd.concat(frames)["penalty_id"]) if frames else set()


EDGES = {
    "before_mark": MARK - TICK,
    "at_mark": MARK,
    "just_after_mark": MARK + TICK,
    "midday": datetime(2026, 11, 2, 12),
    "just_before_midnight": MIDNIGHT - TICK,
    "at_midnight": MIDNIGHT,
    "after_midnight": MIDNIGHT + TICK,
}


def test_the_window_excludes_both_bounds_and_includes_a_microsecond_inside(engine, spec):
    _write(engine, spec, EDGES)
    lower, upper = pull_window(MARK, DAY)
    assert (lower, upper) == (MARK, MIDNIGHT)
    assert _pulled(engine, spec, Window(lower, upper, DAY)) == {"just_after_mark", "midday", "just_before_midnight"}


def test_a_first_pull_reads_everything_before_the_end_of_the_day(engine, spec):
    _write(engine, spec, EDGES)
    lower, upper = pull_window(None, DAY)
    assert lower is None
    assert _pulled(engine, spec, Window(lower, upper, DAY)) == set(EDGES) - {"at_midnight", "after_midnight"}


def test_consecutive_windows_neither_overlap_nor_leave_a_gap(engine, spec):
    """Day by day, each next window starts at the watermark the last one reached: every row once."""
    stamps = {f"r{i}": datetime(2026, 11, 1) + timedelta(hours=6 * i) for i in range(16)}  # on day edges too
    stamps |= {"edge_a": datetime(2026, 11, 2) - TICK, "edge_b": datetime(2026, 11, 3)}
    _write(engine, spec, stamps)
    mark, seen = None, []
    for offset in range(4):
        day = date(2026, 11, 1) + timedelta(days=offset)
        lower, upper = pull_window(mark, day)
        got = _pulled(engine, spec, Window(lower, upper, day))
        seen += sorted(got)
        mark = advance(mark, pd.Series([stamps[k] for k in got], dtype="datetime64[ns]"))
    assert sorted(seen) == sorted(stamps)  # each row exactly once


def test_a_rerun_pull_does_not_read_the_row_at_the_watermark_again(engine, spec, settings, tmp_path):
    """Through ingest with no lookback: day 2 must not re-read day 1's newest row (nothing duplicate)."""
    raw = yaml.safe_load((REPO / "sources" / f"{spec.name}.yaml").read_text()) | {"watermark_lookback_hours": 0}
    path = tmp_path / "sources" / f"{spec.name}.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(raw))
    spec = load_source(path)
    ledger = Ledger(sa.create_engine(settings.state_url))
    zones = Zones(settings.home)
    _write(engine, spec, {"a": datetime(2026, 11, 1, 8), "b": MARK})

    def pull(day: date):
        return ingest(spec, day, "run", upstream=engine, ledger=ledger, zones=zones, pseudonym_key=b"k")

    first = pull(date(2026, 11, 1))
    assert first.rows == 2 and datetime.fromisoformat(first.watermark_after) == MARK
    _write(engine, spec, {"c": MARK + TICK, "d": MIDNIGHT})
    second = pull(DAY)
    assert (second.rows, second.rows_duplicate) == (1, 0)  # only "c": "b" sits on the watermark
    assert datetime.fromisoformat(second.watermark_after) == MARK + TICK


# --- pull_window / advance: pure ----------------------------------------------------------------


@pytest.mark.parametrize("logical", [date(2026, 11, 2), date(2026, 12, 31), date(2028, 2, 28), date(2028, 2, 29)])
def test_the_upper_bound_is_midnight_after_the_logical_date(logical: date):
    lower, upper = pull_window(MARK, logical)
    assert lower == MARK and upper == datetime(logical.year, logical.month, logical.day) + timedelta(days=1)
    assert pull_window(None, logical) == (None, upper)


def test_advance_never_moves_the_watermark_backwards():
    newest = pd.Series([MARK - timedelta(hours=1), MARK + TICK, MARK - TICK], dtype="datetime64[ns]")
    assert advance(MARK, newest) == MARK + TICK
    assert advance(MARK, pd.Series([MARK - TICK], dtype="datetime64[ns]")) == MARK  # older only: stays
    assert advance(MARK, pd.Series([MARK], dtype="datetime64[ns]")) == MARK  # equal: stays
    assert advance(MARK, pd.Series(["not a stamp", None])) == MARK  # nothing readable: stays
    assert advance(None, pd.Series([], dtype="datetime64[ns]")) is None
    assert advance(None, pd.Series(["2026-11-01T12:30:00.000001", "garbage"])) == MARK + TICK
