"""Values a feed suite refers to by `{"$PARAMETER": name}`, filled in for one run.

Plain names: `rows_received` and `rows_landed` (what the pull ledger says upstream delivered and
ingest landed for the batch; None when unknown), `empty_day` (the feed spec's word on days without
rows), `logical_date`, `window_end` (end of the pull window: the watermark's upper bound),
`previous_row_count` (rows in the previous incremental run of the feed), `row_count_tolerance`
(the feed spec's bound on the change). Prefixed names: `reference_keys__<feed>__<column>` (a
`quality.key_sets` handle on the keys of another feed's conformed snapshot, for referential integrity)
and `psi_edges__<column>` / `psi_shares__<column>` (the column's distribution in the feed's conformed
snapshot before this run, for drift checks on model inputs).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import pandas as pd

from datafactory.quality import key_sets
from datafactory.quality.drift import reference_bins
from datafactory.quality.references import REFERENCE_PREFIX, parameter_names
from datafactory.specs import SuiteSpec
from datafactory.zones import Zones

PSI_EDGES_PREFIX = "psi_edges__"
DEFAULT_ROW_COUNT_TOLERANCE = 0.5  # ± share of the previous run's rows (feed specs set their own)
PSI_SHARES_PREFIX = "psi_shares__"


@dataclass(frozen=True)
class Delivered:
    """What the pull ledger says about a batch: rows upstream delivered for the feed and date, and rows
    ingest landed in this batch (None for a region slice, whose share of the delivery is not recorded)."""

    rows_received: int | None = None
    rows_landed: int | None = None


def previous_row_count(zones: Zones, source: str, logical_date: date) -> int | None:
    """Rows in of the newest earlier run of `source` that was not its initial full load."""
    folder = zones.home / "quality"
    if not folder.exists():
        return None
    runs = sorted(p.parent.name for p in folder.glob(f"*/{source}.json") if p.parent.name < logical_date.isoformat())
    if len(runs) < 2:  # the feed's first run is its initial full load: no baseline for increments
        return None
    return int(json.loads((folder / runs[-1] / f"{source}.json").read_text())["rows_in"])


def _snapshot(zones: Zones, source: str, as_of: date, column: str) -> pd.Series | None:
    path = zones.conformed_as_of(source, as_of)
    if path is None:
        return None
    return pd.read_parquet(path, columns=[column])[column]


def suite_parameters(
    suite: SuiteSpec,
    source: str,
    logical_date: date,
    zones: Zones,
    row_count_tolerance: float = DEFAULT_ROW_COUNT_TOLERANCE,
    reference_as_of: date | None = None,
    *,
    delivery: Delivered | None = None,
    empty_day: str = "critical",
) -> dict[str, Any]:
    """`reference_as_of` picks the referenced feeds' snapshot (default: the run's date; a release
    of old quarantined rows checks against the newest)."""
    delivery = delivery or Delivered()
    values: dict[str, Any] = {
        "rows_received": delivery.rows_received,
        "rows_landed": delivery.rows_landed,
        "empty_day": empty_day,
        "logical_date": logical_date.isoformat(),
        "row_count_tolerance": row_count_tolerance,
        "window_end": datetime.combine(logical_date + timedelta(days=1), time.min).isoformat(),
        "previous_row_count": previous_row_count(zones, source, logical_date),
    }
    for name in parameter_names(suite):
        if name.startswith(REFERENCE_PREFIX):
            feed, column = name[len(REFERENCE_PREFIX) :].split("__", 1)
            keys = _snapshot(zones, feed, reference_as_of or logical_date, column)
            values[name] = key_sets.register([] if keys is None else keys)
        elif name.startswith((PSI_EDGES_PREFIX, PSI_SHARES_PREFIX)):
            column = name.split("__", 1)[1]
            history = _snapshot(zones, source, logical_date - timedelta(days=1), column)
            numbers = pd.to_numeric(history, errors="coerce").to_numpy(dtype=float) if history is not None else []
            edges, shares = reference_bins(numbers)
            values[PSI_EDGES_PREFIX + column], values[PSI_SHARES_PREFIX + column] = edges, shares
    return values
