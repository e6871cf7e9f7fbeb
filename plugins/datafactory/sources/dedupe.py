"""Row identities for exactly-once landing. Pure functions.

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


def drop_seen(units: list[pd.DataFrame], columns: list[str], seen: np.ndarray) -> tuple[pd.DataFrame, int]:
    """Concatenate units in arrival order, dropping rows whose identity was seen before or in an
    earlier unit. Returns the frame and how many rows were dropped."""
    units = [u for u in units if len(u)] or units[:1]
    if not units:
        return pd.DataFrame(), 0
    frame = pd.concat(units, ignore_index=True) if len(units) > 1 else units[0].reset_index(drop=True)
    if len(units) == 1 and not len(seen):
        return frame, 0  # one unit and nothing landed before: nothing can repeat across units
    ids = identities(frame, columns)
    unit_no = np.repeat(np.arange(len(units)), [len(u) for u in units])
    first_unit = pd.Series(unit_no).groupby(ids).transform("min").to_numpy()
    repeated = (unit_no > first_unit) | np.isin(ids, seen)
    return frame[~repeated].reset_index(drop=True), int(repeated.sum())
