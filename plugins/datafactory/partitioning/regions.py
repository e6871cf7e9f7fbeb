"""Region partitions of a feed: split, per-region zones, and the feed-level assembly (see the package doc)."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

from datafactory.partitioning import region_column
from datafactory.specs import SourceSpec
from datafactory.zones import Zones, partition_dataset, read_partition, write_json_atomic, write_partition_atomic

UNKNOWN_REGION = "unknown"  # rows whose identifier carries no area code
REGION_LENGTH = 6  # GB/T 2260 area code
HELD_REASON = "held: critical expectation failed in region"


def region_codes(values, column: str, buckets: int = 0):
    """Partition per value of `column` (a pyarrow array): the USCC's area code (positions 3-8), the
    region code itself, the month of a period, or with `buckets` the key's hash bucket (`k00`...);
    `unknown` where there is none."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pc.cast(values, pa.string())
    if buckets:
        return pa.array(key_buckets(text.to_numpy(zero_copy_only=False), buckets), type=pa.string())
    code = pc.utf8_slice_codeunits(text, 2, 2 + REGION_LENGTH) if column == "uscc" else text
    pattern = r"^\d{4}-(?:0[1-9]|1[0-2])$" if column == "period" else r"^\d{6}$"
    valid = pc.and_(pc.is_valid(code), pc.match_substring_regex(code, pattern))
    return pc.if_else(pc.fill_null(valid, False), code, pa.scalar(UNKNOWN_REGION))


def key_buckets(keys, buckets: int) -> list[str]:
    """A stable bucket per key (pandas' fixed-key SipHash, the same in every process); nulls: unknown."""
    import numpy as np
    import pandas as pd

    keys = np.asarray(keys, dtype=object)
    present = pd.notna(keys)
    hashes = pd.util.hash_array(np.where(present, keys, "").astype(str).astype(object))
    names = np.array([f"k{b:02d}" for b in range(buckets)], dtype=object)[hashes % np.uint64(buckets)]
    return np.where(present, names, UNKNOWN_REGION).tolist()


class RegionZones(Zones):
    """The zones one region of one feed is conformed in. Its own paths live under the region home; the
    other feeds' conformed snapshots (referential checks) stay the feed-level ones."""

    def __init__(self, home: Path, source: str, region: str):
        super().__init__(region_home(home, source, region))
        self.feed_level = Zones(home)
        self.source = source

    def conformed(self, source: str, logical_date: date) -> Path:
        zones = self if source == self.source else self.feed_level
        return Zones.conformed(zones, source, logical_date)

    def conformed_as_of(self, source: str, as_of: date) -> Path | None:
        zones = self if source == self.source else self.feed_level
        return Zones.conformed_as_of(zones, source, as_of)


def region_home(home: Path, source: str, region: str) -> Path:
    return home / "partitions" / source / f"region={region}"


def known_regions(home: Path, source: str) -> list[str]:
    folder = home / "partitions" / source
    return sorted(p.name.removeprefix("region=") for p in folder.glob("region=*") if p.is_dir())


def split_by_region(spec: SourceSpec, zones: Zones, logical_date: date, batch_rows: int = 250_000) -> dict[str, int]:
    """Streams the feed's raw partition into one raw slice per region; returns rows per region.

    Reads `batch_rows` rows at a time, so memory does not grow with the feed. A feed batch with no rows
    still yields one (empty) slice, so its checks run and say so.
    """
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    column = region_column(spec)
    if column is None:
        raise ValueError(f"{spec.name}: has no uscc or region_code column to partition by")
    source = partition_dataset(zones.raw_partition(spec.name, logical_date))
    staging = zones.home / "partitions" / spec.name / f".split-{logical_date.isoformat()}-{uuid.uuid4().hex}"
    writers: dict[str, pq.ParquetWriter] = {}
    counts: dict[str, int] = {}
    try:
        for batch in source.to_batches(batch_size=batch_rows):
            codes = region_codes(batch.column(column), column, spec.key_buckets)
            for region in pc.unique(codes).to_pylist():
                part = batch.filter(pc.equal(codes, region))
                if region not in writers:
                    (staging / region).mkdir(parents=True)
                    writers[region] = pq.ParquetWriter(staging / region / "part-0.parquet", source.schema)
                writers[region].write_batch(part)
                counts[region] = counts.get(region, 0) + part.num_rows
        if not writers:  # an empty delivery is still a batch to check
            (staging / UNKNOWN_REGION).mkdir(parents=True)
            pq.write_table(source.schema.empty_table(), staging / UNKNOWN_REGION / "part-0.parquet")
            counts[UNKNOWN_REGION] = 0
    finally:
        for writer in writers.values():
            writer.close()
    for region in counts:
        target = RegionZones(zones.home, spec.name, region).raw_partition(spec.name, logical_date)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging / region, target)
    shutil.rmtree(staging, ignore_errors=True)
    return dict(sorted(counts.items()))


def batch_regions(rows: dict[str, int], min_rows: int) -> list[list[str]]:
    """Regions grouped, in order, into the batches one conform task each takes: a batch closes once it
    holds `min_rows` rows, so a big region stays alone and small ones share a task (each task has a
    fixed cost in the orchestrator, whatever its size). Every region is in exactly one batch."""
    batches: list[list[str]] = []
    current: list[str] = []
    held = 0
    for region, count in rows.items():
        current.append(region)
        held += count
        if held >= min_rows:
            batches.append(current)
            current, held = [], 0
    if current:
        batches.append(current)
    return batches


def batch_label(regions: list[str]) -> str:
    """How a batch is named in the UI (the mapped task's index): its region, or its first and last."""
    return regions[0] if len(regions) == 1 else f"{regions[0]}..{regions[-1]} ({len(regions)} partitions)"


def assemble(spec: SourceSpec, zones: Zones, logical_date: date, run_id: str, regions: list[str]) -> dict[str, Any]:
    """The feed-level result from its regions' results (`regions`: the ones delivered on the date).

    Without a critical failure: writes the feed's conformed snapshot (every known region's newest
    snapshot), its quarantine partition and its quality result. With one: holds the batch (see module doc).
    """
    results = {r: _region_result(zones, spec.name, r, logical_date) for r in regions}
    critical = {r: res["critical"] for r, res in results.items() if res["critical"]}
    if critical:
        results = _hold(spec, zones, logical_date, run_id, results, critical)
    else:
        _write_snapshot(spec.name, zones, logical_date)
    _publish_quarantine(spec.name, zones, logical_date, regions)
    result = combine_results(spec, logical_date, run_id, results, held=bool(critical))
    write_json_atomic(result, zones.quality_result(logical_date, spec.name))
    return result


def _region_result(zones: Zones, source: str, region: str, logical_date: date) -> dict[str, Any]:
    import json

    path = RegionZones(zones.home, source, region).quality_result(logical_date, source)
    if not path.exists():
        raise FileNotFoundError(f"{source}: region {region} has no quality result for {logical_date}: {path}")
    return json.loads(path.read_text())


def _region_snapshots(source: str, zones: Zones, logical_date: date) -> Iterator[Path]:
    for region in known_regions(zones.home, source):
        path = RegionZones(zones.home, source, region).conformed_as_of(source, logical_date)
        if path is not None:
            yield path


def _write_snapshot(source: str, zones: Zones, logical_date: date) -> int:
    """Concatenates the regions' snapshots into the feed's, one region in memory at a time."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    paths = list(_region_snapshots(source, zones, logical_date))
    schemas = [pq.read_schema(p) for p in paths]
    # Keep the quality engine's pandas metadata (nullable dtypes) so readers see the same frame types.
    schema = pa.unify_schemas([s.remove_metadata() for s in schemas], promote_options="permissive")
    schema = schema.with_metadata(schemas[0].metadata)
    target = zones.conformed(source, logical_date)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    rows = 0
    with pq.ParquetWriter(tmp, schema) as writer:
        for path in paths:
            table = pq.read_table(path)
            columns = {
                f.name: table[f.name] if f.name in table.column_names else pa.nulls(table.num_rows, f.type)
                for f in schema
            }
            writer.write_table(pa.table(columns).cast(schema))
            rows += table.num_rows
    os.replace(tmp, target)
    return rows


def _hold(spec, zones: Zones, logical_date: date, run_id: str, results: dict, critical: dict) -> dict:
    """A critical failure anywhere holds the whole batch: the other regions' rows go to quarantine with
    the reason, and their snapshots for the date are removed, so no region moves on alone."""
    import pandas as pd

    from datafactory.quality.split import REASON_COLUMN, ROW_COLUMN, RUN_COLUMN, SOURCE_COLUMN

    where = ", ".join(f"{r}: {labels[0]}" for r, labels in sorted(critical.items()))
    for region in results:
        if region in critical:
            continue
        rz = RegionZones(zones.home, spec.name, region)
        snapshot = rz.conformed(spec.name, logical_date)
        if snapshot.exists():
            snapshot.unlink()
        raw = read_partition(rz.raw_partition(spec.name, logical_date))
        held = raw.astype("string")
        held[REASON_COLUMN] = pd.array([f"{HELD_REASON} {where}"] * len(raw), dtype="string")
        held[RUN_COLUMN] = run_id
        held[SOURCE_COLUMN] = spec.name
        held[ROW_COLUMN] = range(len(raw))
        write_partition_atomic(held, rz.quarantine_partition(spec.name, logical_date))
        results = {**results, region: {**results[region], "rows_conformed": 0, "rows_quarantined": len(raw)}}
        results[region]["held_rows"] = len(raw)
    return results


def _publish_quarantine(source: str, zones: Zones, logical_date: date, regions: list[str]) -> None:
    """The feed's quarantine partition: one file per region, published as one folder at once."""
    target = zones.quarantine_partition(source, logical_date)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.{uuid.uuid4().hex}")
    staging.mkdir()
    for region in regions:
        folder = RegionZones(zones.home, source, region).quarantine_partition(source, logical_date)
        for i, part in enumerate(sorted(folder.glob("*.parquet"))):
            shutil.copyfile(part, staging / f"part-{region}-{i}.parquet")
    if target.exists():
        shutil.rmtree(target)
    os.replace(staging, target)


def combine_results(
    spec: SourceSpec, logical_date: date, run_id: str, results: dict[str, dict[str, Any]], held: bool
) -> dict[str, Any]:
    """One quality result for the feed, in the quality engine's shape, from its regions' results. Pure."""
    counts = ("rows_in", "rows_conformed", "rows_quarantined", "rows_released")
    total = {k: sum(int(r.get(k) or 0) for r in results.values()) for k in counts}
    if held:
        total["rows_conformed"] = 0
        total["rows_quarantined"] = total["rows_in"]
    failures: dict[str, int] = {}
    expectations: dict[str, dict[str, Any]] = {}
    for region, res in sorted(results.items()):
        for label, n in (res.get("failures_by_expectation") or {}).items():
            failures[label] = failures.get(label, 0) + n
        for exp in res.get("expectations") or []:
            merged = expectations.setdefault(exp["label"], {**exp, "success": True, "unexpected_count": 0})
            if not merged.get("sample_values"):
                merged["sample_values"] = []
            merged["success"] = merged["success"] and exp["success"]
            merged["unexpected_count"] += int(exp.get("unexpected_count") or 0)
            if not exp["success"]:
                merged["sample_values"] = (merged["sample_values"] + list(exp.get("sample_values") or []))[:5]
                merged["observed"] = {**(merged["observed"] if isinstance(merged["observed"], dict) else {})}
                merged["observed"][region] = exp.get("observed")
    held_rows = sum(int(r.get("held_rows") or 0) for r in results.values())
    if held_rows:
        failures[HELD_REASON] = held_rows
    previous = [r.get("previous_rows_in") for r in results.values() if r.get("previous_rows_in") is not None]
    return {
        "source": spec.name,
        "suite": spec.suite,
        "logical_date": logical_date.isoformat(),
        "run_id": run_id,
        **total,
        "previous_rows_in": sum(previous) if previous else None,
        "critical": [f"region {r}: {c}" for r, res in sorted(results.items()) for c in res.get("critical") or []],
        "warnings": sorted({w for res in results.values() for w in res.get("warnings") or []}),
        "failures_by_expectation": failures,
        "expectations": list(expectations.values()),
        "partitions": {r: {k: res.get(k) for k in counts} for r, res in sorted(results.items())},
    }
