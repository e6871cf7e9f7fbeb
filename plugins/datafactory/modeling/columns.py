"""Which columns are numeric or categorical inputs, and the one way every model sees them. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

MISSING = "(missing)"
MAX_LEVELS = 60  # a text column with more distinct values than this looks like an identifier, not a category


@dataclass(frozen=True)
class FeatureSchema:
    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    levels: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return [*self.numeric, *self.categorical]

    def with_levels(self, frame: pd.DataFrame) -> FeatureSchema:
        """Fix each categorical's levels from the training rows; unseen levels become missing later."""
        levels = {c: tuple(sorted(as_text(frame[c]).unique())) for c in self.categorical}
        return FeatureSchema(self.numeric, self.categorical, levels)

    def external(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The model's public input: numbers as float64, categories as text. This is the signature."""
        missing = [c for c in self.names if c not in frame.columns]
        if missing:
            raise KeyError(f"input lacks the model's columns: {', '.join(missing)}")
        out = {c: pd.to_numeric(frame[c], errors="coerce").astype("float64") for c in self.numeric}
        out.update({c: as_text(frame[c]) for c in self.categorical})
        return pd.DataFrame(out, index=frame.index)[self.names]

    def matrix(self, frame: pd.DataFrame) -> pd.DataFrame:
        """What the estimators fit on: float64 numbers and pandas categoricals with fixed levels."""
        out = self.external(frame)
        for c in self.categorical:
            out[c] = pd.Categorical(out[c].where(out[c] != MISSING), categories=list(self.levels.get(c, ())))
        return out


def as_text(column: pd.Series) -> pd.Series:
    """Categories as text; whole floats print as integers so 1 and 1.0 are one level."""
    text = column.astype(object)
    if pd.api.types.is_float_dtype(column):
        whole = column.notna() & (column % 1 == 0)
        text[whole] = column[whole].astype("int64").astype(str)
    text = text.astype("string").fillna(MISSING).astype(object)
    return text.where(text != "", MISSING)


def infer_schema(
    frame: pd.DataFrame, exclude: set[str], declared_categorical: tuple[str, ...] = ()
) -> tuple[FeatureSchema, dict[str, str]]:
    """Numbers and booleans are numeric; low-cardinality text is categorical. Returns what was ignored and why."""
    numeric, categorical, ignored = [], [], {}
    for name in frame.columns:
        if name in exclude:
            continue
        column = frame[name]
        if name in declared_categorical:
            categorical.append(name)
        elif pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
            if column.notna().any():
                numeric.append(name)
            else:
                ignored[name] = "always empty"
        elif pd.api.types.is_datetime64_any_dtype(column):
            ignored[name] = "a date: derive a number (age, days since) in the features instead"
        else:
            distinct = column.nunique(dropna=True)
            if distinct == 0:
                ignored[name] = "always empty"
            elif distinct > MAX_LEVELS and distinct > 0.05 * len(column):
                ignored[name] = f"text with {distinct} distinct values looks like an identifier"
            else:
                categorical.append(name)
    return FeatureSchema(tuple(numeric), tuple(categorical)), ignored


def row_keys(frame: pd.DataFrame) -> pd.Series:
    """A stable key per row from its content, for tables without an id column."""
    return pd.Series(pd.util.hash_pandas_object(frame, index=False).to_numpy().astype(np.uint64).astype(str))
