"""Scores and risk bands. Pure functions."""

from __future__ import annotations

import numpy as np
import pandas as pd


def to_score(probability: np.ndarray) -> np.ndarray:
    """Probability of fraud as an integer 0-1000 (higher is riskier)."""
    return np.clip(np.rint(np.asarray(probability, dtype=float) * 1000), 0, 1000).astype(int)


def band(scores: np.ndarray, upper_bounds: dict[str, int]) -> np.ndarray:
    """Band whose exclusive upper bound is the first above the score; bounds must increase."""
    names = list(upper_bounds)
    bounds = np.array(list(upper_bounds.values()))
    if np.any(np.diff(bounds) <= 0):
        raise ValueError(f"band bounds must increase: {upper_bounds}")
    index = np.searchsorted(bounds, np.asarray(scores), side="right")
    if np.any(index >= len(names)):
        raise ValueError(f"score above the last band bound {bounds[-1]}")
    return np.array(names, dtype=object)[index]


def score_table(ids: pd.Series, probability: np.ndarray, bounds: dict[str, int], model_version: str) -> pd.DataFrame:
    scores = to_score(probability)
    return pd.DataFrame(
        {
            "uscc": ids.astype(str).to_numpy(),
            "score": scores,
            "risk_band": band(scores, bounds),
            "model_version": str(model_version),
        }
    )
