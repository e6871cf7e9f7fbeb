"""Schema drift between what upstream delivered and what the feed spec declares. Pure functions.

Known renames (the spec's `renames:`) are mapped and reported; anything else is reported and never
coerced: a missing column blocks the delivery, an extra column is dropped (data minimisation: an
undeclared column may carry personal data), a retyped column is flagged and its unreadable values
are quarantined row by row by conform.
"""

from __future__ import annotations

import datetime as dt
import decimal
from dataclasses import dataclass, field

import pandas as pd

from datafactory.quality.parsing import as_spec, parse_column
from datafactory.specs.feed import ColumnSpec

# Which observed kinds a declared kind accepts without a castability check.
_ACCEPTS = {
    "string": {"string"},
    "int": {"int", "bool"},
    "float": {"int", "float"},
    "date": {"date", "timestamp"},
    "timestamp": {"timestamp", "date"},
}
_SAMPLE = 2000
_CASTABLE_SHARE = 0.5  # below this share of readable values the column has changed type, not just gone dirty


@dataclass(frozen=True)
class Drift:
    renamed: dict[str, str] = field(default_factory=dict)  # upstream name -> spec name (mapped)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    retyped: dict[str, str] = field(default_factory=dict)  # column -> "declared X, delivered Y"

    @property
    def blocking(self) -> bool:
        return bool(self.missing)

    def __bool__(self) -> bool:
        return bool(self.renamed or self.missing or self.extra or self.retyped)

    def summary(self, feed: str) -> str:
        parts = []
        if self.renamed:
            parts.append("renamed " + ", ".join(f"{a}->{b}" for a, b in self.renamed.items()) + " (mapped by spec)")
        if self.missing:
            parts.append(f"missing {self.missing}")
        if self.extra:
            parts.append(f"extra {self.extra} (dropped)")
        if self.retyped:
            parts.append("retyped " + ", ".join(f"{c}: {d}" for c, d in self.retyped.items()))
        if self.missing and self.extra:
            parts.append(f"if a column was renamed, map it under `renames:` in sources/{feed}.yaml")
        return "; ".join(parts)

    def merge(self, other: Drift) -> Drift:
        return Drift(
            {**self.renamed, **other.renamed},
            sorted(set(self.missing) | set(other.missing)),
            sorted(set(self.extra) | set(other.extra)),
            {**self.retyped, **other.retyped},
        )


def first_present(series: pd.Series, count: int) -> pd.Series:
    """The first `count` values that are not missing, without scanning a whole column when its head
    holds them (a null check over a million text values costs ~10 ms, and drift asks per column)."""
    head = series.head(4 * count).dropna()
    return head.head(count) if len(head) >= count or len(series) <= 4 * count else series.dropna().head(count)


def observed_kind(series: pd.Series) -> str:
    """The kind of value upstream delivered: string, int, float, bool, date, timestamp, or empty."""
    if pd.api.types.is_bool_dtype(series):
        return "bool"
    if pd.api.types.is_integer_dtype(series):
        return "int"
    if pd.api.types.is_float_dtype(series):
        values = series.dropna()
        return "int" if len(values) and bool((values == values.round()).all()) else "float"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "timestamp"
    values = first_present(series, 1)
    if values.empty:
        return "empty"
    first = values.iloc[0]
    if isinstance(first, str):
        return "string"
    if isinstance(first, bool):
        return "bool"
    if isinstance(first, int):
        return "int"
    if isinstance(first, float | decimal.Decimal):
        return "float"
    if isinstance(first, dt.datetime):
        return "timestamp"
    if isinstance(first, dt.date):
        return "date"
    return type(first).__name__


def apply_renames(frame: pd.DataFrame, renames: dict[str, str]) -> tuple[pd.DataFrame, dict[str, str]]:
    """Map known upstream names to spec names; returns the renamed frame and the renames that applied."""
    applied = {old: new for old, new in renames.items() if old in frame.columns and new not in frame.columns}
    return (frame.rename(columns=applied) if applied else frame), applied


def detect(
    frame: pd.DataFrame, declared: dict[str, ColumnSpec] | dict[str, str], renamed: dict[str, str] | None = None
) -> Drift:
    """`declared`: the spec's columns (a bare kind reads with that kind's default forms)."""
    missing = [c for c in declared if c not in frame.columns]
    extra = [c for c in frame.columns if c not in declared]
    retyped = {}
    for column, spec in declared.items():
        if column in frame.columns:
            problem = _retyped(frame[column], as_spec(spec))
            if problem:
                retyped[column] = problem
    return Drift(dict(renamed or {}), missing, extra, retyped)


def _retyped(series: pd.Series, spec: ColumnSpec) -> str | None:
    kind = spec.kind
    seen = observed_kind(series)
    if seen == "empty" or seen in _ACCEPTS.get(kind, {kind}):
        return None
    if seen == "string" and kind != "string":
        sample = first_present(series, _SAMPLE)
        unreadable = int(parse_column(sample, spec).failed.sum())  # by the column's declared forms
        if unreadable <= len(sample) * (1 - _CASTABLE_SHARE):
            return None  # text that reads as the declared kind (CSV, JSON): not drift
        return f"declared {kind}, delivered text that mostly does not read as {kind}"
    return f"declared {kind}, delivered {seen}"


def align(frame: pd.DataFrame, spec) -> tuple[pd.DataFrame, Drift]:
    """Map known renames, detect drift against the spec, and keep only declared columns."""
    renamed_frame, renamed = apply_renames(frame, spec.renames)
    drift = detect(renamed_frame, spec.columns, renamed)
    if drift.extra:
        renamed_frame = renamed_frame.drop(columns=drift.extra)
    return renamed_frame, drift
