"""Regression of an expected quantity (e.g. a building's annual energy) with a ridge baseline."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.linear_model import Ridge

from datafactory.modeling.config import TrainingConfig
from datafactory.modeling.estimators import (
    BASELINE_MAX_ROWS,
    as_linear_input,
    fit_booster,
    gain_importance,
    linear_pipeline,
    sample_rows,
)
from datafactory.modeling.families.base import Family, HoldoutView, TrainingDataError
from datafactory.modeling.metrics import regression_metrics
from datafactory.modeling.plots import actual_vs_predicted_figure

TRANSFORMS = ("none", "log")


def _forward(y: np.ndarray, transform: str) -> np.ndarray:
    return np.log1p(y) if transform == "log" else y


def _inverse(z: np.ndarray, transform: str) -> np.ndarray:
    return np.expm1(z) if transform == "log" else z


@dataclass
class BoosterRegressor:
    booster: lgb.Booster
    transform: str

    def predict_outputs(self, x: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"prediction": _inverse(self.booster.predict(x), self.transform)}, index=x.index)


@dataclass
class LinearRegressor:
    pipeline: Any
    transform: str

    def predict_outputs(self, x: pd.DataFrame) -> pd.DataFrame:
        z = self.pipeline.predict(as_linear_input(x))
        return pd.DataFrame({"prediction": _inverse(z, self.transform)}, index=x.index)


class RegressionFamily(Family):
    name = "regression"
    primary = "prediction"
    algorithms = ("lightgbm",)
    baselines = ("ridge",)
    metric_names = ("mae", "mape", "r2")

    def _transform(self, config: TrainingConfig) -> str:
        transform = str(config.options.get("target_transform", "none"))
        if transform not in TRANSFORMS:
            raise TrainingDataError(f"{config.scenario}: target_transform must be one of {', '.join(TRANSFORMS)}")
        return transform

    def target(self, values: pd.Series, config: TrainingConfig) -> np.ndarray:
        numbers = pd.to_numeric(values, errors="coerce")
        if numbers.isna().any():
            raise TrainingDataError(f"{config.scenario}: target '{values.name}' has non-numeric values")
        if self._transform(config) == "log" and (numbers < 0).any():
            raise TrainingDataError(f"{config.scenario}: a log target needs values >= 0 in '{values.name}'")
        return numbers.to_numpy(dtype=float)

    def fit(self, algorithm: str, params: dict[str, Any], x: pd.DataFrame, y: np.ndarray, config: TrainingConfig):
        self.check_algorithm(algorithm, config)
        transform = self._transform(config)
        return BoosterRegressor(fit_booster(x, _forward(y, transform), params, objective="regression"), transform)

    def fit_baseline(self, kind: str, x: pd.DataFrame, y: np.ndarray, config: TrainingConfig):
        transform = self._transform(config)
        rows = sample_rows(len(x), BASELINE_MAX_ROWS)
        numeric = [c for c in x.columns if not isinstance(x[c].dtype, pd.CategoricalDtype)]
        categorical = [c for c in x.columns if c not in numeric]
        pipeline = linear_pipeline(numeric, categorical, Ridge(alpha=1.0))
        pipeline.fit(as_linear_input(x.iloc[rows]), _forward(y[rows], transform))
        return LinearRegressor(pipeline, transform)

    def evaluate(self, y: np.ndarray, outputs: pd.DataFrame, config: TrainingConfig) -> dict[str, float]:
        return regression_metrics(y, outputs["prediction"].to_numpy(dtype=float))

    def group_summary(self, y: np.ndarray, outputs: pd.DataFrame) -> dict[str, float]:
        return {"mean_actual": float(np.mean(y)), "mean_prediction": float(outputs["prediction"].mean())}

    def artifacts(self, view: HoldoutView) -> dict[str, Any]:
        return {
            "plots/actual_vs_predicted.png": actual_vs_predicted_figure(view.y, view.outputs["prediction"].to_numpy()),
            "feature_importance.csv": gain_importance(view.estimator.booster).to_csv(index=False),
        }
