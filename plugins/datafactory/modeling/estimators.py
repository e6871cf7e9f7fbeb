"""Fitting helpers every family shares: LightGBM with deterministic settings, and linear baselines."""

from __future__ import annotations

import os
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from datafactory.modeling.columns import MISSING

BASELINE_MAX_ROWS = 30_000  # a linear baseline on a few dozen inputs: a large sample says as much as every row


PARALLEL_FROM_ROWS = 50_000  # below this, extra OpenMP threads cost more than they save on a busy machine


def booster_params(params: dict[str, Any], rows: int, **defaults: Any) -> tuple[dict[str, Any], int]:
    """Spec params over family defaults, with reproducibility settings; returns (params, rounds)."""
    merged = {**defaults, **params}
    rounds = int(merged.pop("num_boost_round", 200))
    merged.setdefault("seed", 42)
    merged.setdefault("num_threads", 1 if rows < PARALLEL_FROM_ROWS else min(4, os.cpu_count() or 1))
    merged.update({"verbosity": -1, "deterministic": True})
    return merged, rounds


# LightGBM refuses feature names with JSON's special characters ("amount [CNY]", "rate, %"); inside the
# booster they become their full-width forms, which read the same. Predictions go by position.
_LIGHTGBM_SAFE = str.maketrans({'"': "＂", ",": "，", ":": "：", "[": "［", "]": "］", "{": "｛", "}": "｝"})


def lightgbm_names(names: list[str]) -> list[str]:
    """Names LightGBM accepts, one per column, still distinct (by position if translating merged two)."""
    safe = [str(name).translate(_LIGHTGBM_SAFE) for name in names]
    return safe if len(set(safe)) == len(safe) else [f"f{i}_{name}" for i, name in enumerate(safe)]


def fit_booster(x: pd.DataFrame, y: np.ndarray, params: dict[str, Any], **defaults: Any) -> lgb.Booster:
    merged, rounds = booster_params(params, len(x), **defaults)
    names = lightgbm_names(list(x.columns))
    if names != list(x.columns):
        x = x.set_axis(names, axis=1)
    return lgb.train(merged, lgb.Dataset(x, y, free_raw_data=True), num_boost_round=rounds)


def gain_importance(booster: lgb.Booster, names: list[str] | None = None) -> pd.DataFrame:
    """Gain per feature, under the table's own column names when given (in the order it was fitted on)."""
    features = names if names is not None and len(names) == booster.num_feature() else booster.feature_name()
    return pd.DataFrame({"feature": features, "gain": booster.feature_importance("gain")}).sort_values(
        "gain", ascending=False
    )


def importance(estimator: Any, names: list[str] | None = None) -> pd.DataFrame | None:
    """Gain per feature for a booster, |coefficient| per input for a linear pipeline, else None."""
    booster = getattr(estimator, "booster", None)
    if booster is not None:
        return gain_importance(booster, names)
    pipeline = getattr(estimator, "pipeline", None)
    model = getattr(pipeline, "named_steps", {}).get("model") if pipeline is not None else None
    if model is None or not hasattr(model, "coef_"):
        return None
    names = pipeline.named_steps["prepare"].get_feature_names_out()
    coef = np.abs(np.atleast_2d(model.coef_)).max(axis=0)
    table = pd.DataFrame({"input": names, "abs_coefficient_per_sd": coef})
    return table.sort_values("abs_coefficient_per_sd", ascending=False)


def sample_rows(n: int, limit: int, seed: int = 0) -> np.ndarray:
    if n <= limit:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, limit, replace=False))


def linear_pipeline(numeric: list[str], categorical: list[str], estimator: Any) -> Pipeline:
    """Impute and scale numbers, one-hot categories (unseen levels ignored), then the linear model."""
    parts = []
    if numeric:
        parts.append(("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric))
    if categorical:
        parts.append(("categorical", OneHotEncoder(handle_unknown="ignore", min_frequency=5), categorical))
    return Pipeline([("prepare", ColumnTransformer(parts)), ("model", estimator)])


def as_linear_input(x: pd.DataFrame) -> pd.DataFrame:
    """Categoricals back to text (missing as its own level) so the one-hot encoder sees no NaN."""
    out = x.copy()
    for c in out.columns:
        if isinstance(out[c].dtype, pd.CategoricalDtype):
            out[c] = out[c].astype(object).where(out[c].notna(), MISSING)
    return out
