"""Regression of an expected quantity (e.g. a building's annual energy) with a ridge baseline.

`target_per: <column>` models the target per unit of that column (energy per m2, the usual
benchmark for buildings) and multiplies back; `target_transform: log` fits the log of it. Both
suit quantities that scale with size, which trees cannot extrapolate on their own.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
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
    linear_pipeline,
    sample_rows,
)
from datafactory.modeling.families.base import Family, HoldoutView, TrainingDataError, with_importance
from datafactory.modeling.metrics import regression_metrics
from datafactory.modeling.plots import actual_vs_predicted_svg
from datafactory.specs.model import RegressionModel, RegressionOptions


@dataclass(frozen=True)
class TargetScale:
    transform: str
    per: str | None

    def _unit(self, x: pd.DataFrame) -> np.ndarray:
        if self.per is None:
            return np.ones(len(x))
        return np.clip(x[self.per].to_numpy(dtype=float), 1e-9, None)

    def forward(self, y: np.ndarray, x: pd.DataFrame) -> np.ndarray:
        z = y / self._unit(x)
        return np.log1p(z) if self.transform == "log" else z

    def inverse(self, z: np.ndarray, x: pd.DataFrame) -> np.ndarray:
        return (np.expm1(z) if self.transform == "log" else z) * self._unit(x)


@dataclass
class BoosterRegressor:
    booster: lgb.Booster
    scale: TargetScale

    def predict_outputs(self, x: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"prediction": self.scale.inverse(self.booster.predict(x), x)}, index=x.index)


@dataclass
class LinearRegressor:
    pipeline: Any
    scale: TargetScale
    logged: list[str]  # non-negative inputs taken as log1p, so a log target gets a power law

    def linear_input(self, x: pd.DataFrame) -> pd.DataFrame:
        out = as_linear_input(x)
        for c in self.logged:
            out[c] = np.log1p(out[c].clip(lower=0))
        return out

    def predict_outputs(self, x: pd.DataFrame) -> pd.DataFrame:
        z = self.pipeline.predict(self.linear_input(x))
        return pd.DataFrame({"prediction": self.scale.inverse(z, x)}, index=x.index)


class RegressionFamily(Family):
    spec = RegressionModel
    primary = "prediction"
    target_kind = "regression"

    def _scale(self, config: TrainingConfig, x: pd.DataFrame | None = None) -> TargetScale:
        options: RegressionOptions = config.options  # type: ignore[assignment]
        per = options.target_per
        if per is not None and x is not None and per not in x.columns:
            raise TrainingDataError(f"{config.scenario}: target_per column '{per}' is not a numeric feature")
        return TargetScale(options.target_transform, per)

    def target(self, values: pd.Series, config: TrainingConfig) -> np.ndarray:
        numbers = pd.to_numeric(values, errors="coerce")
        if numbers.isna().any():
            raise TrainingDataError(f"{config.scenario}: target '{values.name}' has non-numeric values")
        if self._scale(config).transform == "log" and (numbers < 0).any():
            raise TrainingDataError(f"{config.scenario}: a log target needs values >= 0 in '{values.name}'")
        if numbers.nunique() < 2:
            raise TrainingDataError(
                f"target '{values.name}' has a single value ({numbers.iloc[0]}) in all {len(numbers)} labelled rows; "
                "there is nothing to predict"
            )
        return numbers.to_numpy(dtype=float)

    def modelled_target(self, y: np.ndarray, x: pd.DataFrame, config: TrainingConfig) -> np.ndarray:
        return self._scale(config, x).forward(y, x)

    def fit(self, algorithm: str, params: dict[str, Any], x: pd.DataFrame, y: np.ndarray, config: TrainingConfig):
        self.check_algorithm(algorithm, config)
        scale = self._scale(config, x)
        return BoosterRegressor(fit_booster(x, scale.forward(y, x), params, objective="regression"), scale)

    def fit_baseline(self, kind: str, x: pd.DataFrame, y: np.ndarray, config: TrainingConfig):
        scale = self._scale(config, x)
        rows = sample_rows(len(x), BASELINE_MAX_ROWS)
        numeric = [c for c in x.columns if not isinstance(x[c].dtype, pd.CategoricalDtype)]
        categorical = [c for c in x.columns if c not in numeric]
        logged = [c for c in numeric if scale.transform == "log" and x[c].min() >= 0]
        baseline = LinearRegressor(linear_pipeline(numeric, categorical, Ridge(alpha=1.0)), scale, logged)
        sample = x.iloc[rows]
        baseline.pipeline.fit(baseline.linear_input(sample), scale.forward(y[rows], sample))
        return baseline

    def evaluate(self, y: np.ndarray, outputs: pd.DataFrame, config: TrainingConfig) -> dict[str, float]:
        return regression_metrics(y, outputs["prediction"].to_numpy(dtype=float))

    def group_summary(self, y: np.ndarray, outputs: pd.DataFrame) -> dict[str, float]:
        return {"mean_actual": float(np.mean(y)), "mean_prediction": float(outputs["prediction"].mean())}

    def artifacts(self, view: HoldoutView) -> dict[str, Any]:
        plot = actual_vs_predicted_svg(view.y, view.outputs["prediction"].to_numpy())
        return with_importance({"plots/actual_vs_predicted.svg": plot}, view.estimator, view.features)


def recipe_for_own_target(values: pd.Series, config: TrainingConfig) -> tuple[TrainingConfig, str | None]:
    """A scenario's regression recipe fitted to a modeller's target, and what was changed. The scenario's
    log transform and MAPE suit a quantity that is always positive (a building's energy). A target with
    zeros or negatives (claims, most of them 0; a profit) cannot be logged where negative, its MAPE skips
    every zero row, and a log fit of a target that is mostly 0 predicts far too low (on a claims table:
    holdout R2 -0.35 logged, 0.25 as is). Such a target is fitted as is and compared by R2: the models
    fit squared error, so they estimate the mean (an expected claim), which squared error judges; MAE
    would favour predicting the median, 0 on a table of mostly-zero claims."""
    numbers = pd.to_numeric(values, errors="coerce").dropna()
    options: RegressionOptions = config.options  # type: ignore[assignment]
    not_positive = int((numbers <= 0).sum())
    if numbers.empty or not_positive == 0:
        return config, None
    changed = []
    if options.target_transform == "log":
        config = replace(config, options=options.model_copy(update={"target_transform": "none"}))
        changed.append("fitted as is, not logged")
    if config.promotion_metric == "mape" and "r2" in config.metrics:
        config = config.with_metric("r2")
        changed.append("compared by r2 (MAPE leaves out every row whose target is 0)")
    if not changed:
        return config, None
    share = f"{not_positive} of {len(numbers)} values are zero or negative"
    return config, f"'{values.name}': {share}: {'; '.join(changed)}"
