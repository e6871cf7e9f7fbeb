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


def write_partition_atomic(frame: pd.DataFrame, partition: Path) -> int:
    """Publish a whole partition folder at once: build it aside, then rename into place."""
    partition.parent.mkdir(parents=True, exist_ok=True)
    staging = partition.with_name(f".{partition.name}.{uuid.uuid4().hex}")
    staging.mkdir()
    frame.to_parquet(staging / "part-0.parquet", index=False)
    size = (staging / "part-0.parquet").stat().st_size
    if partition.exists():
        shutil.rmtree(partition)
    os.replace(staging, partition)
    return size


def write_json_atomic(payload: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_text(json.dumps(payload, indent=2, ensure_ascii=False, default=str))
    os.replace(tmp, path)
