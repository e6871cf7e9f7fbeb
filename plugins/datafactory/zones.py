"""Where each zone lives on disk, and atomic writes so a crash never leaves half a file."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd


class Zones:
    def __init__(self, home: Path):
        self.home = home

    def raw_partition(self, source: str, logical_date: date) -> Path:
        return self.home / "raw" / source / f"ds={logical_date.isoformat()}"

    def conformed(self, source: str, logical_date: date) -> Path:
        """The feed's full conformed snapshot as of `logical_date` (one file per date: time travel)."""
        return self.home / "conformed" / source / f"ds={logical_date.isoformat()}.parquet"

    def conformed_as_of(self, source: str, as_of: date) -> Path | None:
        """The newest conformed snapshot on or before `as_of`, so reruns of old dates see old data."""
        folder = self.home / "conformed" / source
        dated = sorted(p for p in folder.glob("ds=*.parquet") if p.stem[3:] <= as_of.isoformat())
        return dated[-1] if dated else None

    def quarantine_partition(self, source: str, logical_date: date) -> Path:
        return self.home / "quarantine" / source / f"ds={logical_date.isoformat()}"

    def ingest_quarantine(self, source: str, logical_date: date) -> Path:
        """Whole files and malformed rows that ingest set aside, before any validation."""
        return self.home / "quarantine" / "_ingest" / source / f"ds={logical_date.isoformat()}"

    def quality_result(self, logical_date: date, source: str) -> Path:
        return self.home / "quality" / logical_date.isoformat() / f"{source}.json"

    def reports(self) -> Path:
        return self.home / "reports"

    def features(self, scenario: str, logical_date: date) -> Path:
        return self.home / "features" / scenario / f"ds={logical_date.isoformat()}.parquet"


def write_parquet_atomic(frame: pd.DataFrame, path: Path) -> int:
    """Write to a temp file in the same folder, then rename; returns bytes written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    frame.to_parquet(tmp, index=False)
    size = tmp.stat().st_size
    os.replace(tmp, path)
    return size


class PartitionWriter:
    """Builds a partition folder aside, one part file per `write`, and publishes it whole on `commit`.
    Leaving the `with` block without committing (an error) removes what was built."""

    def __init__(self, partition: Path):
        self.partition = partition
        self.staging = partition.with_name(f".{partition.name}.{uuid.uuid4().hex}")
        self.parts = 0
        self.bytes = 0

    def __enter__(self) -> PartitionWriter:
        self.partition.parent.mkdir(parents=True, exist_ok=True)
        self.staging.mkdir()
        return self

    def write(self, frame: pd.DataFrame) -> None:
        """One part file; an empty frame is written only as the partition's first part (it keeps the schema)."""
        if frame.empty and self.parts:
            return
        path = self.staging / f"part-{self.parts:05d}.parquet"
        frame.to_parquet(path, index=False)
        self.parts += 1
        self.bytes += path.stat().st_size

    def commit(self) -> int:
        """Publishes the partition (replacing an older one); returns the bytes written."""
        if self.partition.exists():
            shutil.rmtree(self.partition)
        os.replace(self.staging, self.partition)
        return self.bytes

    def __exit__(self, *exc_info) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)  # gone already when committed


def write_partition_atomic(frame: pd.DataFrame, partition: Path) -> int:
    """Publish a whole partition folder at once: build it aside, then rename into place."""
    with PartitionWriter(partition) as writer:
        writer.write(frame)
        return writer.commit()


def partition_dataset(partition: Path):
    """A partition's part files as one pyarrow dataset. Parts written from separate reads may type a
    column differently (all null in one, text in another; int and float), so their schemas are unified."""
    import pyarrow as pa
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    files = sorted(partition.glob("*.parquet"))
    if not files:
        raise FileNotFoundError(f"partition {partition} holds no parquet files")
    schemas = [pq.read_schema(f) for f in files]
    schema = pa.unify_schemas([s.remove_metadata() for s in schemas], promote_options="permissive")
    return ds.dataset([str(f) for f in files], schema=schema.with_metadata(schemas[0].metadata), format="parquet")


def read_partition(partition: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """A partition's rows in part order, with a RangeIndex."""
    return partition_dataset(partition).to_table(columns=columns).to_pandas().reset_index(drop=True)


def write_json_atomic(payload: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_text(json.dumps(payload, indent=2, ensure_ascii=False, default=str))
    os.replace(tmp, path)
