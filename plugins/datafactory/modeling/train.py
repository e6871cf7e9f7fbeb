"""Trains a scenario's LightGBM model and its logistic-regression baseline. No I/O."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from datafactory.modeling.metrics import binary_metrics
from datafactory.modeling.split import holdout_mask


class TrainingDataError(ValueError):
    """The labelled data cannot train a model (too few rows or a single class)."""


@dataclass
class TrainedBinaryModel:
    booster: lgb.Booster
    baseline: Any
    features: list[str]
    holdout_x: pd.DataFrame
    holdout_y: np.ndarray
    metrics: dict[str, float]
    baseline_metrics: dict[str, float]
    train_rows: int


def feature_columns(frame: pd.DataFrame, id_column: str, target: str) -> list[str]:
    return [c for c in frame.columns if c not in (id_column, target)]


def training_fingerprint(frame: pd.DataFrame, params: dict[str, Any]) -> str:
    """Same labelled data and same parameters give the same fingerprint, so nothing retrains twice."""
    digest = hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    digest.update(repr(sorted(params.items())).encode())
    return digest.hexdigest()[:32]


def labelled(frame: pd.DataFrame, target: str) -> pd.DataFrame:
    return frame[frame[target].notna()].reset_index(drop=True)


def train_binary(frame: pd.DataFrame, raw_spec: dict[str, Any]) -> TrainedBinaryModel:
    target, id_column = raw_spec["target"], raw_spec["id_column"]
    data = labelled(frame, target)
    features = feature_columns(data, id_column, target)
    x = data[features].astype("float64")
    y = data[target].astype(int).to_numpy()
    test = holdout_mask(data[id_column], raw_spec["holdout"]["share"])
    if test.sum() < 10 or (~test).sum() < 10 or len(np.unique(y[test])) < 2 or len(np.unique(y[~test])) < 2:
        raise TrainingDataError(f"{raw_spec['scenario']}: need both classes in train and holdout; got {len(data)} rows")
    params = dict(raw_spec["params"])
    rounds = int(params.pop("num_boost_round", 200))
    params.update({"verbosity": -1, "deterministic": True, "num_threads": 2})
    booster = lgb.train(params, lgb.Dataset(x[~test], y[~test]), num_boost_round=rounds)
    baseline = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    baseline.fit(x[~test], y[~test])
    cutoff = float(raw_spec["operating_cutoff"])
    return TrainedBinaryModel(
        booster=booster,
        baseline=baseline,
        features=features,
        holdout_x=x[test].reset_index(drop=True),
        holdout_y=y[test],
        metrics=binary_metrics(y[test], booster.predict(x[test]), cutoff),
        baseline_metrics=binary_metrics(y[test], baseline.predict_proba(x[test])[:, 1], cutoff),
        train_rows=int((~test).sum()),
    )
