"""Row identities for exactly-once landing.

A row's identity is its key plus its watermark value: one version of one record. The same identity
arriving again (a page served twice, a file re-sent, the lookback window re-reading rows already
landed) is a transport duplicate and is dropped with a count. Repeats *inside* one unit are kept:
those are upstream's own duplicates, and conform quarantines them as a quality finding.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def identities(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """64-bit hashes of the identity columns, stable across channels' representations of the same value."""
    if frame.empty:
        return np.array([], dtype=np.uint64)
    normal = pd.DataFrame({c: _text(frame[c]) for c in columns})
    return pd.util.hash_pandas_object(normal, index=False).to_numpy()


def _text(series: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(series):
        return series.dt.strftime("%Y-%m-%d %H:%M:%S.%f").fillna("\x00")
    present = series.dropna()
    if series.dtype == object and len(present) and hasattr(present.iloc[0], "strftime"):
        stamps = series.map(lambda v: v.strftime("%Y-%m-%d %H:%M:%S.%f") if hasattr(v, "strftime") else v)
        return stamps.astype(str).where(series.notna(), "\x00")
    return series.astype(str).where(series.notna(), "\x00")


def _sorted_unique(ids: np.ndarray) -> np.ndarray:
    """Sorted distinct ids (a sort and a neighbour compare: faster than np.unique's hashing on uint64)."""
    ordered = np.sort(ids, kind="stable")
    if len(ordered) < 2:
        return ordered
    return ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))]


class SeenIdentities:
    """Identities landed so far while a delivery streams in, batch by batch. A unit's own identities join
    only when the unit ends (`end_unit`), so repeats inside one unit are kept; a row seen in an earlier
    unit or landed by an earlier pull is `repeated`."""

    def __init__(self, landed: np.ndarray):
        self._sorted = _sorted_unique(landed)
        self._unit: list[np.ndarray] = []
        self._ended: list[np.ndarray] = []  # merged lazily, so the last unit is never merged

    def repeated(self, ids: np.ndarray) -> np.ndarray:
        """Per id of a batch of the current unit: was it seen before this unit."""
        if self._ended:
            self._sorted = _sorted_unique(np.concatenate([self._sorted, *self._ended]))
            self._ended = []
        self._unit.append(ids)
        if not len(self._sorted) or not len(ids):
            return np.zeros(len(ids), dtype=bool)
        at = np.searchsorted(self._sorted, ids).clip(max=len(self._sorted) - 1)
        return self._sorted[at] == ids

    def end_unit(self) -> None:
        self._ended += self._unit
        self._unit = []
