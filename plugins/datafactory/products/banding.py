"""Bands and grades from scores. Pure functions."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from datafactory.specs.product import Grade


def band(scores: np.ndarray, upper_bounds: dict[str, float], inclusive: bool = False) -> np.ndarray:
    """Name of the first band whose upper bound is above the score (or at it, when `inclusive`).

    Bounds must increase; a score past the last bound is an error, so the last bound must cover
    the whole range (e.g. 1001 for a 0-1000 score, or a very large K)."""
    names = list(upper_bounds)
    bounds = np.array(list(upper_bounds.values()), dtype=float)
    if np.any(np.diff(bounds) <= 0):
        raise ValueError(f"band bounds must increase: {upper_bounds}")
    values = np.asarray(scores, dtype=float)
    if np.isnan(values).any():
        raise ValueError("cannot band a missing value")
    index = np.searchsorted(bounds, values, side="left" if inclusive else "right")
    if np.any(index >= len(names)):
        raise ValueError(f"score above the last band bound {bounds[-1]}")
    return np.array(names, dtype=object)[index]


def apply_grades(frame: pd.DataFrame, grades: list[Grade]) -> pd.DataFrame:
    """Add each declared grade column, computed from its source column."""
    out = frame.copy()
    for grade in grades:
        if grade.source not in out:
            raise KeyError(f"grade {grade.column} is computed from {grade.source}, which the output lacks")
        out[grade.column] = band(out[grade.source].to_numpy(), grade.bounds, grade.inclusive)
    return out
