"""Pull one feed for one logical date into an immutable raw partition, exactly once.

Order of effects, so a crash anywhere leaves nothing half-done: read the channel; drop transport
duplicates; protect personal fields; write the ingest quarantine and the raw partition (each whole,
by rename); then commit the pull record and the file receipts in one transaction. Until that commit
the watermark has not moved and no file counts as taken, so a retry reads the same data again.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

from datafactory.quality.parsing import parse_column
from datafactory.sources.channels import ChannelError, Delivery, SchemaDriftError, Window
from datafactory.sources.dedupe import SeenIdentities, identities
from datafactory.sources.landing import free_name, restrict_tree, write_private
from datafactory.sources.ledger import DRIFT, FAILED, SUCCESS, FileReceipt, Ledger, PullRecord
from datafactory.sources.protect import pii_rules, protect
from datafactory.sources.pseudonymize import encrypt_bytes, encrypt_column
from datafactory.sources.upstream import Upstream
from datafactory.sources.watermark import advance, pull_window
from datafactory.specs import SourceSpec
from datafactory.zones import PartitionWriter, Zones, read_partition

BATCH_ROWS = 500_000  # rows in memory at once while landing


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
    channel: str | None = None
    rows_received: int | None = None
    rows_duplicate: int | None = None
    rows_quarantined: int | None = None
    drift: str | None = None


def ingest(
    spec: SourceSpec,
    logical_date: date,
    run_id: str,
    *,
    upstream: Upstream | sa.Engine,
    ledger: Ledger,
    zones: Zones,
    pseudonym_key: bytes,
    sm4_key: bytes | None = None,
) -> IngestResult:
    partition = zones.raw_partition(spec.name, logical_date)
    done = ledger.successful_pull(spec.name, logical_date)
    if done and partition.exists():
        return _result(done, reused=True)
    if isinstance(upstream, sa.Engine):
        upstream = Upstream(exchange=upstream)
    rules = pii_rules(spec)
    started = datetime.now(UTC).replace(tzinfo=None)
    clock = time.perf_counter()
    before = ledger.watermark(spec.name, logical_date)
    lower, upper = pull_window(before, logical_date)
    window = Window(lower - timedelta(hours=spec.watermark_lookback_hours) if lower else None, upper, logical_date)
    failure = _Failure(spec, logical_date, run_id, started, clock, before)
    identity = [*spec.keys, spec.watermark_column]
    landed_before = _landed_identities(spec, ledger, zones, logical_date, identity)
    try:
        delivery = upstream.channel(spec, ledger).fetch(spec, window)
        with PartitionWriter(partition) as writer:
            landed = _land(
                spec, delivery, writer, landed_before, before, lambda f: protect(f, rules, pseudonym_key, sm4_key)
            )
            quarantined = _write_quarantine(zones, spec, logical_date, run_id, delivery, sm4_key if rules else None)
            size = writer.commit()
    except SchemaDriftError as exc:
        ledger.record(failure.record(exc, DRIFT, exc.drift.summary(spec.name)))
        raise IngestError(f"{spec.name}: {exc}") from exc
    except ChannelError as exc:
        ledger.record(failure.record(exc, FAILED))
        raise IngestError(f"{spec.name}: {exc}") from exc
    after = landed.watermark
    if after is not None and after > upper:  # a mis-dated row must not push the watermark into the future
        after = upper
    repeats, late = landed.repeats, landed.late
    duplicates = delivery.transport_duplicates + repeats
    notes = [*delivery.notes]
    if delivery.transport_duplicates:
        notes.append(f"{delivery.transport_duplicates} row(s) delivered twice (repeated page or re-sent file)")
    if repeats:
        notes.append(f"{repeats} row(s) already landed (lookback overlap or re-delivery)")
    if late:
        notes.append(f"{late} late row(s) older than the watermark, caught by the lookback window")
    notes += [f"quarantined {q.name}: {q.reason}" for q in delivery.quarantined_files]
    rec = PullRecord(
        source=spec.name,
        logical_date=logical_date,
        run_id=run_id,
        started_at=started,
        duration_s=time.perf_counter() - clock,
        rows=landed.rows,
        bytes=delivery.bytes or size,
        watermark_before=before,
        watermark_after=after,
        outcome=SUCCESS,
        partition=str(partition),
        message="; ".join(notes)[:4000] or None,
        channel=spec.channel,
        rows_received=landed.rows + duplicates + quarantined,
        rows_duplicate=duplicates,
        rows_quarantined=quarantined,
        units=landed.units + len(delivery.quarantined_files),
        drift=delivery.drift.summary(spec.name) if delivery.drift else None,
    )
    receipts = [
        FileReceipt(spec.name, r.name, r.sha256, r.bytes, r.outcome, r.reason, logical_date, run_id)
        for r in delivery.receipts
    ]
    ledger.record(rec, receipts)
    return _result(rec, reused=False)


@dataclass
class _Landed:
    watermark: datetime | None
    rows: int = 0
    repeats: int = 0
    late: int = 0
    units: int = 0


def _land(
    spec: SourceSpec,
    delivery: Delivery,
    writer: PartitionWriter,
    landed_before: np.ndarray,
    before: datetime | None,
    protect_rows: Callable[[pd.DataFrame], pd.DataFrame],
) -> _Landed:
    """Streams the delivery's units into the partition, batch by batch, so memory holds one batch (plus
    64-bit identities). A row whose identity landed before, or came in an earlier unit, is a transport
    duplicate and is dropped with a count; repeats inside one unit are upstream's own and are kept."""
    identity = [*spec.keys, spec.watermark_column]
    seen = SeenIdentities(landed_before)
    landed = _Landed(watermark=before)
    for unit in delivery.units:
        landed.units += 1
        for batch in unit.batches(BATCH_ROWS):
            repeated = seen.repeated(identities(batch, identity))
            fresh = batch[~repeated] if repeated.any() else batch
            landed.repeats += int(repeated.sum())
            landed.rows += len(fresh)
            if len(fresh):
                stamps = parse_column(fresh[spec.watermark_column], spec.columns[spec.watermark_column]).values
                landed.watermark = advance(landed.watermark, stamps)
                landed.late += _late_rows(stamps, before)
            writer.write(protect_rows(fresh.reset_index(drop=True)))
        seen.end_unit()
    if not writer.parts:  # nothing delivered: the partition still has the feed's columns
        writer.write(protect_rows(pd.DataFrame({c: pd.Series(dtype=object) for c in spec.columns})))
    return landed


def _landed_identities(spec: SourceSpec, ledger: Ledger, zones: Zones, day: date, columns: list[str]) -> np.ndarray:
    """Identities already landed in partitions the lookback window can overlap, or in later ones."""
    reach = math.ceil(spec.watermark_lookback_hours / 24) + 1
    found = []
    for path in ledger.partitions(spec.name, day - timedelta(days=reach), besides=day):
        if Path(path).exists():
            found.append(identities(read_partition(Path(path), columns), columns))
    return np.concatenate(found) if found else np.array([], dtype=np.uint64)


def _late_rows(stamps: pd.Series, before: datetime | None) -> int:
    if before is None or stamps.empty:
        return 0
    return int((stamps <= before).sum())


def _write_quarantine(
    zones: Zones, spec: SourceSpec, day: date, run_id: str, delivery: Delivery, sm4_key: bytes | None
) -> int:
    """Malformed rows and whole files set aside by ingest. Raw text of a feed with personal fields is
    kept SM4-encrypted, so quarantine never holds a readable resident ID. Returns rows quarantined."""
    target = zones.ingest_quarantine(spec.name, day)
    rows = delivery.rejected_rows
    if (rows is None or rows.empty) and not delivery.quarantined_files:
        if target.exists():
            shutil.rmtree(target)  # left by an attempt that crashed before committing
        return 0
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.{uuid.uuid4().hex}")
    (staging / "files").mkdir(parents=True)
    count = 0
    if rows is not None and not rows.empty:
        rows = rows.assign(_run_id=run_id, _source=spec.name)
        if sm4_key:
            rows["_row_text"] = encrypt_column(rows["_row_text"], sm4_key, context="_row_text")
        rows.to_parquet(staging / "rows.parquet", index=False)
        count += len(rows)
    for item in delivery.quarantined_files:
        base = free_name(staging / "files", quarantined_file_name(spec, item.name))  # no copy replaces another
        data = encrypt_bytes(item.data, sm4_key, base.encode()) if sm4_key else item.data
        write_private(staging / "files" / (base + (".sm4" if sm4_key else "")), data)
        reason = {"name": item.name, "sha256": item.sha256, "reason": item.reason, "rows": item.rows}
        reason |= {"stored_as": base, "control": item.control}
        reason_text = json.dumps(
            {**reason, "run_id": run_id, "sm4_encrypted": bool(sm4_key)}, ensure_ascii=False, indent=2
        )
        write_private(staging / "files" / f"{base}.reason.json", reason_text.encode())
        count += item.rows
    restrict_tree(staging)  # owner-only: 0700 folders, 0600 files
    if target.exists():
        shutil.rmtree(target)
    os.replace(staging, target)
    return count


def quarantined_file_name(spec: SourceSpec, name: str) -> str:
    """A whole file's name in the quarantine: its path below the feed's folder, `/` as `__` (files of the
    same name in two subfolders stay apart)."""
    folder = (getattr(spec.options, "folder", None) or spec.name).strip("/") + "/"
    return name.removeprefix(folder).replace("/", "__")


@dataclass(frozen=True)
class _Failure:
    spec: SourceSpec
    logical_date: date
    run_id: str
    started: datetime
    clock: float
    before: datetime | None

    def record(self, exc: Exception, outcome: str, drift: str | None = None) -> PullRecord:
        return PullRecord(
            source=self.spec.name,
            logical_date=self.logical_date,
            run_id=self.run_id,
            started_at=self.started,
            duration_s=time.perf_counter() - self.clock,
            rows=0,
            bytes=0,
            watermark_before=self.before,
            watermark_after=self.before,
            outcome=outcome,
            partition=None,
            message=str(exc)[:2000],
            channel=self.spec.channel,
            drift=drift,
        )


def _result(rec: PullRecord, reused: bool) -> IngestResult:
    return IngestResult(
        source=rec.source,
        partition=rec.partition or "",
        rows=rec.rows,
        reused=reused,
        watermark_before=rec.watermark_before.isoformat() if rec.watermark_before else None,
        watermark_after=rec.watermark_after.isoformat() if rec.watermark_after else None,
        channel=rec.channel,
        rows_received=rec.rows_received,
        rows_duplicate=rec.rows_duplicate,
        rows_quarantined=rec.rows_quarantined,
        drift=rec.drift,
    )
