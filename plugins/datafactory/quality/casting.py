"""Cast raw columns to the values a feed spec declares. Pure; reports values that won't parse.

Each value is read on its own by the column's declared forms (`quality.parsing`), so a delivery's
first rows never decide how the rest is read.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from datafactory.quality.parsing import parse_column
from datafactory.specs.feed import ColumnSpec


class TypeFailures(dict[str, pd.Series]):
    """Per column, the mask of values present but unreadable; `reasons` holds, per column, the
    reason text ("updated_at: expected a timestamp as iso or %Y/%m/%d %H:%M")."""

    def __init__(self) -> None:
        super().__init__()
        self.reasons: dict[str, str] = {}


def missing_columns(frame: pd.DataFrame, columns: Mapping[str, object]) -> list[str]:
    return [c for c in columns if c not in frame.columns]


def coerce(frame: pd.DataFrame, columns: Mapping[str, ColumnSpec | str]) -> tuple[pd.DataFrame, TypeFailures]:
    """The typed frame and, per column with a failure, a mask of values present but unreadable.
    `columns` maps a column to its ColumnSpec (a bare kind reads with that kind's defaults)."""
    typed = frame.copy(deep=False)
    failures = TypeFailures()
    for column, spec in columns.items():
        if column not in typed:
            continue
        parsed = parse_column(frame[column], spec, column)
        if parsed.failed.any():
            failures[column] = pd.Series(parsed.failed, index=frame.index)
            failures.reasons[column] = parsed.reason
        typed[column] = parsed.values
    return typed, failures
