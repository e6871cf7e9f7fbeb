"""The usage writer: batches, a final flush on close, no double rows on retry, spill and replay."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from datafactory.serving.clock import utcnow
from datafactory.serving.ledger import UsageRow, UsageWriter, insert_rows, keys_hash, replay_spills, spill
from datafactory.serving.tables import USAGE, create_tables

pytestmark = pytest.mark.unit


def _engine(tmp_path: Path) -> sa.Engine:
    engine = sa.create_engine(f"sqlite:///{tmp_path}/state.db")
    create_tables(engine)
    return engine


def _count(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(USAGE)).scalar_one()


def test_close_flushes_every_submitted_row(tmp_path: Path):
    engine = _engine(tmp_path)
    writer = UsageWriter(engine, tmp_path / "spill", flush_rows=50, flush_s=60)  # only size or close flush
    writer.start()
    for i in range(1234):
        writer.submit(UsageRow(at=utcnow(), endpoint="record", status=200, latency_ms=0.1, rows=i % 2))
    writer.close()
    assert _count(engine) == writer.written == 1234


def test_a_retried_batch_never_doubles_a_row(tmp_path: Path):
    engine = _engine(tmp_path)
    records = [UsageRow(at=utcnow(), endpoint="batch", status=200, latency_ms=1.0).record() for _ in range(5)]
    insert_rows(engine, records[:3])
    insert_rows(engine, records)  # the first three landed before: only two are new
    assert _count(engine) == 5


def test_spilled_rows_are_replayed_once(tmp_path: Path):
    engine = _engine(tmp_path)
    records = [UsageRow(at=utcnow(), endpoint="record", status=401, latency_ms=0.2).record() for _ in range(3)]
    spill(tmp_path / "spill", records)
    assert replay_spills(engine, tmp_path / "spill") == 3
    assert replay_spills(engine, tmp_path / "spill") == 0
    assert _count(engine) == 3


def test_keys_hash_is_keyed_and_never_the_keys():
    digest = keys_hash(b"secret", ["91110000600037341L"])
    assert digest and "91110000600037341L" not in digest and len(digest) == 64
    assert digest != keys_hash(b"other", ["91110000600037341L"])
    assert keys_hash(b"secret", []) is None
