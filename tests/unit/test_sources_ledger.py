from datetime import date, datetime

import pandas as pd
import pytest
import sqlalchemy as sa

from datafactory.sources.ledger import FileReceipt, Ledger, PullRecord
from datafactory.sources.protect import pii_rules, protect
from datafactory.specs import SourceSpec

pytestmark = pytest.mark.unit
DAY = date(2026, 11, 1)


def _record(day: date, outcome: str = "success", **extra) -> PullRecord:
    return PullRecord(
        source="feed",
        logical_date=day,
        run_id="r",
        started_at=datetime(2026, 11, 2),
        duration_s=0.1,
        rows=3,
        bytes=10,
        watermark_before=None,
        watermark_after=datetime(2026, 11, 1, 23),
        outcome=outcome,
        partition=f"/raw/feed/ds={day}",
        **extra,
    )


def test_a_ledger_from_an_older_version_gains_the_new_columns(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path}/state.db")
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "CREATE TABLE pulls (id INTEGER PRIMARY KEY, source VARCHAR, logical_date DATE, run_id VARCHAR, "
                "started_at DATETIME, duration_s FLOAT, rows BIGINT, bytes BIGINT, watermark_before DATETIME, "
                "watermark_after DATETIME, outcome VARCHAR, partition VARCHAR, message TEXT)"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO pulls (source, logical_date, run_id, started_at, duration_s, rows, bytes, outcome) "
                "VALUES ('old', '2026-10-31', 'r', '2026-10-31 01:00:00', 1.0, 5, 50, 'success')"
            )
        )
    ledger = Ledger(engine)
    ledger.record(_record(DAY, channel="files", rows_received=4, rows_duplicate=1, rows_quarantined=0, units=2))
    old, new = sorted(ledger.history(), key=lambda r: r.logical_date)
    assert old.source == "old" and old.channel is None and old.rows_received is None
    assert new.channel == "files" and new.rows_received == new.rows + new.rows_duplicate + new.rows_quarantined


def test_a_pull_and_its_file_receipts_commit_together(tmp_path):
    ledger = Ledger(sa.create_engine(f"sqlite:///{tmp_path}/state.db"))
    bad = FileReceipt("feed", "a.csv", "x" * 64, 1, "landed", None, DAY, "r")
    with pytest.raises(sa.exc.IntegrityError):  # a receipt that cannot be written takes the pull with it
        ledger.record(_record(DAY), [bad, FileReceipt("feed", None, "y", 1, "landed", None, DAY, "r")])
    assert ledger.history() == [] and ledger.taken_files("feed") == []
    ledger.record(_record(DAY), [bad])
    assert ledger.taken_files("feed") == [("a.csv", "x" * 64)]


def test_partitions_include_later_dates_but_not_the_one_being_pulled(tmp_path):
    ledger = Ledger(sa.create_engine(f"sqlite:///{tmp_path}/state.db"))
    for day in (date(2026, 10, 30), date(2026, 10, 31), DAY, date(2026, 11, 3)):
        ledger.record(_record(day))
    ledger.record(_record(date(2026, 11, 4), outcome="failed"))
    assert ledger.partitions("feed", since=date(2026, 10, 31), besides=DAY) == [
        "/raw/feed/ds=2026-10-31",
        "/raw/feed/ds=2026-11-03",
    ]


def test_protecting_an_empty_delivery_keeps_its_columns():
    spec = SourceSpec(
        name="f",
        channel="api",
        table="f",
        keys=["id"],
        watermark_column="updated_at",
        columns={"id": "string", "pid": "string", "updated_at": "timestamp"},
        pii={"pid": {"action": "pseudonymize", "validate": "resident_id"}},
    )
    out = protect(pd.DataFrame({"id": [], "pid": []}, dtype=object), pii_rules(spec), b"k", None)
    assert list(out.columns) == ["id", "pid", "pid_valid"] and out.empty
