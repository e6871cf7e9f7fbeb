"""Pull one feed for one logical date into an immutable raw partition, exactly once."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, date, datetime

import sqlalchemy as sa

from datafactory.sources import exchange_db
from datafactory.sources.ledger import SUCCESS, Ledger, PullRecord
from datafactory.sources.pseudonymize import pseudonymize_column
from datafactory.sources.watermark import advance, pull_window
from datafactory.specs import SourceSpec
from datafactory.zones import Zones, write_partition_atomic


class IngestError(RuntimeError):
    """A feed could not be pulled; the message says which and why."""


@dataclass(frozen=True)
class IngestResult:
    source: str
    partition: str
    rows: int
    reused: bool
    watermark_before: str | None
    watermark_after: str | None


def ingest(
    spec: SourceSpec,
    logical_date: date,
    run_id: str,
    *,
    upstream: sa.Engine,
    ledger: Ledger,
    zones: Zones,
    pseudonym_key: bytes,
) -> IngestResult:
    partition = zones.raw_partition(spec.name, logical_date)
    done = ledger.successful_pull(spec.name, logical_date)
    if done and partition.exists():
        return _result(done, reused=True)
    if spec.channel != "exchange_db":
        raise IngestError(f"{spec.name}: channel {spec.channel!r} is not supported")
    started = datetime.now(UTC).replace(tzinfo=None)
    clock = time.perf_counter()
    before = ledger.watermark(spec.name, logical_date)
    lower, upper = pull_window(before, logical_date)
    try:
        frame = exchange_db.read_increment(upstream, spec, lower, upper)
    except sa.exc.SQLAlchemyError as exc:
        ledger.record(_failed(spec, logical_date, run_id, started, clock, before, exc))
        raise IngestError(f"{spec.name}: upstream read failed: {exc.__class__.__name__}: {exc}") from exc
    after = advance(before, frame[spec.watermark_column]) if spec.watermark_column in frame else before
    for column in spec.pii:
        if column in frame:
            frame[column] = pseudonymize_column(frame[column], pseudonym_key)
    size = write_partition_atomic(frame, partition)
    rec = PullRecord(
        source=spec.name,
        logical_date=logical_date,
        run_id=run_id,
        started_at=started,
        duration_s=time.perf_counter() - clock,
        rows=len(frame),
        bytes=size,
        watermark_before=before,
        watermark_after=after,
        outcome=SUCCESS,
        partition=str(partition),
    )
    ledger.record(rec)
    return _result(rec, reused=False)


def _failed(spec, logical_date, run_id, started, clock, before, exc) -> PullRecord:
    return PullRecord(
        source=spec.name,
        logical_date=logical_date,
        run_id=run_id,
        started_at=started,
        duration_s=time.perf_counter() - clock,
        rows=0,
        bytes=0,
        watermark_before=before,
        watermark_after=before,
        outcome="failed",
        partition=None,
        message=str(exc)[:2000],
    )


def _result(rec: PullRecord, reused: bool) -> IngestResult:
    return IngestResult(
        source=rec.source,
        partition=rec.partition or "",
        rows=rec.rows,
        reused=reused,
        watermark_before=rec.watermark_before.isoformat() if rec.watermark_before else None,
        watermark_after=rec.watermark_after.isoformat() if rec.watermark_after else None,
    )
