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
    # categorize=False: the same hashes, without first factorizing columns whose values are mostly distinct
    return pd.util.hash_pandas_object(normal, index=False, categorize=False).to_numpy()


_STAMP = "%Y-%m-%d %H:%M:%S.%f"


def _text(series: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(series):
        fast = _iso_stamps(series)
        return fast if fast is not None else series.dt.strftime(_STAMP).fillna("\x00")
    first = series.first_valid_index()
    if series.dtype == object and first is not None and hasattr(series.loc[first], "strftime"):
        stamps = series.map(lambda v: v.strftime("%Y-%m-%d %H:%M:%S.%f") if hasattr(v, "strftime") else v)
        return stamps.astype(str).where(series.notna(), "\x00")
    return series.astype(str).where(series.notna(), "\x00")


def _iso_stamps(series: pd.Series) -> pd.Series | None:
    """`series.dt.strftime(_STAMP)` (NaT as the strftime path leaves it) by numpy's C formatter, for
    timezone-naive stamps of four-digit years; None for anything else."""
    if getattr(series.dt, "tz", None) is not None:
        return None
    stamps = series.to_numpy()
    missing = np.isnat(stamps)
    years = stamps[~missing].astype("datetime64[Y]").astype(np.int64) + 1970
    if len(years) and (years.min() < 1000 or years.max() > 9999):
        return None
    text = np.datetime_as_string(stamps.astype("datetime64[us]"), unit="us")
    width = text.dtype.itemsize // 4
    text.view("<U1").reshape(-1, width)[:, 10] = " "  # 2026-11-01T08:00:00.000000 -> 2026-11-01 08:00:00.000000
    out = text.astype(object)
    if missing.any():
        out[missing] = pd.Series([pd.NaT], dtype=series.dtype).dt.strftime(_STAMP).fillna("\x00").iloc[0]
    return pd.Series(out, index=series.index)


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
