"""Reason codes: the main reasons behind each row's grade, for any model. Pure functions.

Each model input in turn is set to its population median (the most frequent value for text) and
the model is asked again; the features whose neutralisation moves the prediction most are the row's
main reasons, marked `-` when the feature counts against the row (raises its risk) and `+` when it
counts in its favour. It needs nothing from the model but predictions, so it works the same for a
scorecard, a LightGBM model or a logistic baseline (one extra prediction pass per feature).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

NO_REASON = "no factor stands out"


def contributions(
    predict: Callable[[pd.DataFrame], np.ndarray], inputs: pd.DataFrame, risk_is_high: bool = True
) -> pd.DataFrame:
    """Per row and feature: how much risk goes away when the feature is neutral (negative: risk comes)."""
    base = np.asarray(predict(inputs), dtype=float)
    sign = 1.0 if risk_is_high else -1.0
    effects = {}
    for column in inputs.columns:
        values = inputs[column]
        neutral = inputs.copy()
        if pd.api.types.is_numeric_dtype(values):
            neutral[column] = values.median()
        elif values.notna().any():
            neutral[column] = values.mode().iloc[0]
        else:
            continue
        effects[column] = sign * (base - np.asarray(predict(neutral), dtype=float))
    return pd.DataFrame(effects, index=inputs.index)


def top_reasons(effects: pd.DataFrame, labels: dict[str, str], top: int) -> pd.Series:
    """The `top` features with the largest effect per row, as '-label; +label' ('-' counts against)."""
    if effects.empty:
        return pd.Series(NO_REASON, index=effects.index, dtype=object)
    values = effects.to_numpy()
    order = np.argsort(-np.abs(values), axis=1)[:, :top]
    names = [labels.get(c, c.replace("_", " ")) for c in effects.columns]
    reasons = []
    for row, picks in enumerate(order):
        chosen = [f"{'-' if values[row, j] > 0 else '+'}{names[j]}" for j in picks if abs(values[row, j]) > 1e-9]
        reasons.append("; ".join(chosen) or NO_REASON)
    return pd.Series(reasons, index=effects.index, dtype=object)
