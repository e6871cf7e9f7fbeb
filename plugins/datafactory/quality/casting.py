"""Cast raw columns to the types a feed spec declares. Pure; reports values that won't cast."""

from __future__ import annotations

import pandas as pd

_CASTS = {
    "string": lambda s: s.astype("string[pyarrow]"),
    "float": lambda s: pd.to_numeric(s, errors="coerce").astype("float64"),
    "int": lambda s: pd.to_numeric(s, errors="coerce").astype("Int64"),
    "date": lambda s: pd.to_datetime(s, errors="coerce"),
    "timestamp": lambda s: pd.to_datetime(s, errors="coerce"),
    "bool": lambda s: s.map({True: True, False: False, "true": True, "false": False}).astype("boolean"),
}


def missing_columns(frame: pd.DataFrame, columns: dict[str, str]) -> list[str]:
    return [c for c in columns if c not in frame.columns]


def coerce(frame: pd.DataFrame, columns: dict[str, str]) -> tuple[pd.DataFrame, dict[str, pd.Series]]:
    """Returns the typed frame and, per column, a mask of values that were present but unreadable."""
    typed = frame.copy()
    failures: dict[str, pd.Series] = {}
    for column, kind in columns.items():
        if column not in typed:
            continue
        cast = _CASTS[kind](typed[column])
        lost = cast.isna() & frame[column].notna()
        if lost.any():
            failures[column] = lost
        typed[column] = cast
    return typed, failures
