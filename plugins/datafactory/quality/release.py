"""Operator views of the quarantine zone, and re-release of quarantined rows after a fix.

A release re-validates a date's quarantined rows against the current suite (and the newest
conformed reference data), moves the rows that now pass into the conformed snapshots, and keeps
the rest with their current reasons. Accounting is recomputed from what is on disk, so
`rows_in = rows_conformed + rows_quarantined` holds after every release, and repeating a release
(or finishing one that crashed) moves nothing twice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd

from datafactory.quality.casting import coerce
from datafactory.quality.conform import evaluate
from datafactory.quality.parameters import suite_parameters
from datafactory.quality.quarantine_view import ReleaseError
from datafactory.quality.readmit import readmit
from datafactory.quality.split import (
    ROW_COLUMN,
    RUN_COLUMN,
    Failures,
    merge_conformed,
    older_duplicates,
    split_rows,
)
from datafactory.specs import SourceSpec, SuiteSpec
from datafactory.zones import Zones, read_partition, write_json_atomic, write_parquet_atomic, write_partition_atomic


@dataclass(frozen=True)
class ReleaseResult:
    source: str
    logical_date: str
    checked: int
    released: int
    remaining: int
    readmitted: int = 0  # parse-time rejects that now parse, moved into the raw partition and re-validated


def release(
    spec: SourceSpec,
    suite_json: SuiteSpec,
    day: date,
    zones: Zones,
    *,
    pseudonym_key: bytes | None = None,
    sm4_key: bytes | None = None,
) -> ReleaseResult:
    """Release one feed's quarantined rows of `day`: first the parse-time rejects that now parse (see
    `readmit`), then everything in the validation quarantine is re-validated."""
    back = readmit(spec, day, zones, pseudonym_key, sm4_key)
    if not zones.quarantine_partition(spec.name, day).exists() and zones.ingest_quarantine(spec.name, day).exists():
        # not conformed yet: re-admitted rows wait in the raw partition, and conform will judge them
        return ReleaseResult(spec.name, day.isoformat(), back.checked, 0, back.remaining, back.admitted)
    result = _release(spec, suite_json, day, zones)
    return ReleaseResult(
        result.source,
        result.logical_date,
        result.checked + back.checked - back.admitted,
        result.released,
        result.remaining + back.remaining,
        back.admitted,
    )


def _release(spec: SourceSpec, suite_json: SuiteSpec, day: date, zones: Zones) -> ReleaseResult:
    """A feed conformed region by region is released region by region, then its feed-level snapshots,
    quarantine and result are assembled again."""
    from datafactory.partitioning.regions import RegionZones, known_regions

    regions = [
        r
        for r in known_regions(zones.home, spec.name)
        if RegionZones(zones.home, spec.name, r).quarantine_partition(spec.name, day).exists()
    ]
    if not regions:
        return _release_batch(spec, suite_json, day, zones)
    region_zones = [RegionZones(zones.home, spec.name, r) for r in regions]
    for rz in region_zones:  # a critical failure in any region must stop the release before anything moves
        _release_batch(spec, suite_json, day, rz, apply=False)
    parts = [_release_batch(spec, suite_json, day, rz) for rz in region_zones]
    _reassemble(spec, zones, day)
    return ReleaseResult(
        spec.name,
        day.isoformat(),
        sum(p.checked for p in parts),
        sum(p.released for p in parts),
        sum(p.remaining for p in parts),
    )


def _reassemble(spec: SourceSpec, zones: Zones, day: date) -> None:
    """The feed-level snapshot, quarantine and result of `day` and of every later run, from the regions
    (released rows now live in the regions' snapshots from `day` on)."""
    from datafactory.partitioning.regions import assemble

    for path in sorted((zones.home / "quality").glob(f"*/{spec.name}.json")):
        if path.parent.name >= day.isoformat():
            result = json.loads(path.read_text())
            regions = list(result.get("partitions") or {})
            assemble(spec, zones, date.fromisoformat(path.parent.name), result["run_id"], regions)


def _release_batch(
    spec: SourceSpec, suite_json: SuiteSpec, day: date, zones: Zones, apply: bool = True
) -> ReleaseResult:
    partition = zones.quarantine_partition(spec.name, day)
    if not partition.exists():
        raise ReleaseError(f"{spec.name} has no quarantine for {day}; see `datafactory quarantine list`")
    held = pd.read_parquet(partition)
    if held.empty:
        return ReleaseResult(spec.name, day.isoformat(), 0, 0, 0)
    if ROW_COLUMN not in held:
        raise ReleaseError(f"{spec.name} {day}: quarantine predates row tracking; rerun the ingest for that date")
    raw = read_partition(zones.raw_partition(spec.name, day))
    positions = held[ROW_COLUMN].to_numpy(dtype=np.int64)
    typed_all, _ = coerce(raw, spec.landed_columns)
    duplicates = older_duplicates(typed_all, spec.keys, spec.watermark_column)  # judged within the whole batch
    rows = raw.iloc[positions].reset_index(drop=True)
    parameters = suite_parameters(suite_json, spec.name, day, zones, spec.row_count_tolerance, date.max)
    ev = evaluate(spec, suite_json, rows, duplicates.iloc[positions].reset_index(drop=True), parameters)
    if ev.critical:
        raise ReleaseError(f"{spec.name} {day}: critical expectation still fails: {ev.critical[0].label}")
    split = split_rows(rows, ev.typed, ev.failures, "", spec.name)
    still = ev.failures.failed()
    remaining = split.quarantined.assign(
        **{ROW_COLUMN: positions[still], RUN_COLUMN: held[RUN_COLUMN].to_numpy()[still]}
    )
    if not apply:
        return ReleaseResult(spec.name, day.isoformat(), len(held), len(split.conformed), len(remaining))
    _upsert_from(zones, spec, day, split.conformed)
    write_partition_atomic(remaining, partition)
    _update_accounting(zones, spec.name, day, len(remaining), ev.failures)
    return ReleaseResult(spec.name, day.isoformat(), len(held), len(split.conformed), len(remaining))


def _upsert_from(zones: Zones, spec: SourceSpec, day: date, released: pd.DataFrame) -> None:
    """Upsert the released rows into the snapshot of `day` and every later snapshot (each is the
    full table as of its date); the newest version of a key still wins."""
    if released.empty:
        return
    folder = zones.home / "conformed" / spec.name
    later = sorted(p for p in folder.glob("ds=*.parquet") if p.stem[3:] > day.isoformat())
    base = zones.conformed_as_of(spec.name, day)
    targets = [(zones.conformed(spec.name, day), base), *((p, p) for p in later)]
    for target, source in targets:
        existing = pd.read_parquet(source) if source else None
        write_parquet_atomic(merge_conformed(existing, released, spec.keys, spec.watermark_column), target)


def _update_accounting(zones: Zones, source: str, day: date, remaining: int, failures: Failures) -> None:
    path = zones.quality_result(day, source)
    if not path.exists():
        return
    result = json.loads(path.read_text())
    quarantined_at_conform = int(result["rows_quarantined"]) + int(result.get("rows_released", 0))
    result["rows_quarantined"] = remaining
    result["rows_released"] = quarantined_at_conform - remaining
    result["rows_conformed"] = int(result["rows_in"]) - remaining
    result["failures_by_expectation"] = failures.counts()
    if result.get("critical"):  # the batch passes its critical checks now: it is no longer held
        result["critical_at_conform"], result["critical"] = result["critical"], []
    result.setdefault("releases", []).append(
        {"at": datetime.now(UTC).isoformat(timespec="seconds"), "released_total": result["rows_released"]}
    )
    write_json_atomic(result, path)


# --- parse-time rejects -------------------------------------------------------------------------------
