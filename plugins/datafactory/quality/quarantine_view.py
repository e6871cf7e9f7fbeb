"""What the quarantine zone holds, for operators: per feed and date, rows and their reasons, from the
validation quarantine and from ingest (rows rejected at parse time, and whole files)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

import pandas as pd

from datafactory.quality.split import REASON_COLUMN
from datafactory.zones import Zones

INGEST = "_ingest"


class ReleaseError(RuntimeError):
    """A release could not run; nothing was moved."""


@dataclass(frozen=True)
class QuarantineEntry:
    source: str
    logical_date: str
    stage: str  # "validation" (GE suite) or "ingest" (malformed rows and files)
    rows: int
    reasons: dict[str, int]


def _reason_counts(reasons: pd.Series) -> dict[str, int]:
    counts = reasons.dropna().str.split("; ").explode().value_counts()
    return {str(k): int(v) for k, v in counts.items()}


def list_quarantine(zones: Zones, source: str | None = None, day: date | None = None) -> list[QuarantineEntry]:
    root = zones.home / "quarantine"
    entries = []
    for stage, folder in (("validation", root), ("ingest", root / INGEST)):
        for partition in sorted(folder.glob("*/ds=*")):
            feed, ds = partition.parent.name, partition.name.removeprefix("ds=")
            if feed == INGEST or (source and feed != source) or (day and ds != day.isoformat()):
                continue
            if stage == "validation":
                frame = pd.read_parquet(partition, columns=[REASON_COLUMN])
                entries.append(QuarantineEntry(feed, ds, stage, len(frame), _reason_counts(frame[REASON_COLUMN])))
            else:
                rows, reasons = ingest_reasons(partition)
                entries.append(QuarantineEntry(feed, ds, stage, rows, reasons))
    return [e for e in entries if e.rows or e.reasons]


def ingest_reasons(partition) -> tuple[int, dict[str, int]]:
    """Rows set aside at parse time, by their own reason, plus each whole file with the rows it held."""
    reasons: dict[str, int] = {}
    count = 0
    rows = partition / "rows.parquet"
    if rows.exists():
        frame = pd.read_parquet(rows, columns=["_reason"])
        count += len(frame)
        reasons |= {str(k): int(v) for k, v in frame["_reason"].value_counts().items()}
    for path in sorted((partition / "files").glob("*.reason.json")):
        held = json.loads(path.read_text())
        count += int(held.get("rows") or 0)
        label = f"file {held.get('name', path.name.removesuffix('.reason.json'))}: {held.get('reason', '')}"
        reasons[label] = int(held.get("rows") or 0)
    return count, reasons
