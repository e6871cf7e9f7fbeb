"""Binary risk (e.g. fraud): LightGBM probability, logistic-regression baseline."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from datafactory.modeling.config import TrainingConfig
from datafactory.modeling.estimators import (
    BASELINE_MAX_ROWS,
    as_linear_input,
    fit_booster,
    linear_pipeline,
    sample_rows,
)
from datafactory.modeling.families.base import (
    Family,
    HoldoutView,
    binary_target,
    check_both_classes,
    with_importance,
)
from datafactory.modeling.metrics import binary_metrics, rank_auc
from datafactory.modeling.plots import roc_svg
from datafactory.specs.model import BinaryModel, BinaryOptions


def _options(config: TrainingConfig) -> BinaryOptions:
    return config.options  # type: ignore[return-value]  # a binary config carries binary options


@dataclass
class BoosterBinary:
    booster: lgb.Booster

    def probability(self, x: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.booster.predict(x), dtype=float)

    def predict_outputs(self, x: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"probability": self.probability(x)}, index=x.index)


@dataclass
class LinearBinary:
    pipeline: Any

    def probability(self, x: pd.DataFrame) -> np.ndarray:
        return self.pipeline.predict_proba(as_linear_input(x))[:, 1]

    def predict_outputs(self, x: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"probability": self.probability(x)}, index=x.index)


def fit_logistic(x: pd.DataFrame, y: np.ndarray) -> LinearBinary:
    rows = sample_rows(len(x), BASELINE_MAX_ROWS)
    numeric = [c for c in x.columns if not isinstance(x[c].dtype, pd.CategoricalDtype)]
    categorical = [c for c in x.columns if c not in numeric]
    pipeline = linear_pipeline(numeric, categorical, LogisticRegression(max_iter=1000))
    pipeline.fit(as_linear_input(x.iloc[rows]), y[rows])
    return LinearBinary(pipeline)


class BinaryFamily(Family):
    spec = BinaryModel
    primary = "probability"

    def target(self, values: pd.Series, config: TrainingConfig) -> np.ndarray:
        return binary_target(values, _options(config).positive, config.scenario)

    def check_split(self, y_train: np.ndarray, y_test: np.ndarray, config: TrainingConfig) -> None:
        super().check_split(y_train, y_test, config)
        check_both_classes(y_train, y_test, config.scenario)

    def fit(self, algorithm: str, params: dict[str, Any], x: pd.DataFrame, y: np.ndarray, config: TrainingConfig):
        self.check_algorithm(algorithm, config)
        return BoosterBinary(fit_booster(x, y, params, objective="binary"))

    def fit_baseline(self, kind: str, x: pd.DataFrame, y: np.ndarray, config: TrainingConfig):
        return fit_logistic(x, y)

    def metric(self, name: str, y: np.ndarray, outputs: pd.DataFrame, config: TrainingConfig) -> float:
        if name in ("auc", "gini"):  # the rank form: roc_auc_score's value without its per-call checks
            auc = rank_auc(y, outputs["probability"].to_numpy())
            return auc if name == "auc" else 2 * auc - 1
        return super().metric(name, y, outputs, config)

    def evaluate(self, y: np.ndarray, outputs: pd.DataFrame, config: TrainingConfig) -> dict[str, float]:
        cutoff = _options(config).operating_cutoff
        return binary_metrics(y, outputs["probability"].to_numpy(), cutoff)

    def artifacts(self, view: HoldoutView) -> dict[str, Any]:
        curves = {name: outputs["probability"].to_numpy() for name, outputs in view.curves.items()}
        return with_importance({"plots/roc.svg": roc_svg(view.y, curves)}, view.estimator, view.features)
