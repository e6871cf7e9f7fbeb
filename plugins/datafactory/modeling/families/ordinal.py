"""Ordered decision classes (e.g. standard < rated < exclusion < postpone < decline).

LightGBM multiclass gives class probabilities; the decision is the class with the lowest expected
cost under the declared cost matrix, where grading a risk too low costs more than too high.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from datafactory.modeling.class_order import ClassOrder, class_order
from datafactory.modeling.columns import as_text
from datafactory.modeling.config import TrainingConfig
from datafactory.modeling.estimators import (
    BASELINE_MAX_ROWS,
    as_linear_input,
    fit_booster,
    linear_pipeline,
    sample_rows,
)
from datafactory.modeling.families.base import Family, HoldoutView, TrainingDataError, with_importance
from datafactory.modeling.metrics import confusion, grading_cost_matrix, ordinal_metrics
from datafactory.modeling.plots import confusion_svg
from datafactory.specs.model import OrdinalModel, OrdinalOptions


@dataclass(frozen=True)
class Grading:
    classes: tuple[str, ...]  # least to most risky
    under_per_step: float
    over_per_step: float
    high_risk_from: int  # rank from which an applicant counts as high risk

    @property
    def costs(self) -> np.ndarray:
        return grading_cost_matrix(len(self.classes), self.under_per_step, self.over_per_step)

    def decide(self, probabilities: np.ndarray) -> np.ndarray:
        """Rank with the lowest expected cost per row."""
        return np.argmin(probabilities @ self.costs, axis=1)

    def outputs(self, probabilities: np.ndarray, index: pd.Index) -> pd.DataFrame:
        rank = self.decide(probabilities)
        return pd.DataFrame({"grade": np.array(self.classes, dtype=object)[rank], "grade_rank": rank}, index=index)


def found_order(values: pd.Series) -> ClassOrder:
    """The order `class_order` finds in a target's labelled values (numbers by value)."""
    known = values.dropna()
    return class_order(set(as_text(known)), numeric=pd.to_numeric(known, errors="coerce").notna().all())


def grading_for(values: pd.Series, options: OrdinalOptions) -> Grading:
    """The declared classes, in their order (the spec's, or `--classes`); without them, the order
    `class_order` finds in the target's own values (a known scale, numbers, else alphabetical)."""
    text = as_text(values.dropna())  # 2.0 is the class '2', as the command line names it
    seen = set(text)
    declared = options.classes
    if declared:
        unknown = sorted(seen - set(declared))
        if unknown:
            raise TrainingDataError(f"target '{values.name}' has values outside the declared classes: {unknown}")
        classes = declared
    else:
        classes = found_order(values).classes
    if len(classes) < 3:
        raise TrainingDataError(f"an ordinal target needs at least 3 classes; '{values.name}' has {len(classes)}")
    high = [classes.index(c) for c in options.high_risk if c in classes]
    return Grading(
        classes=classes,
        under_per_step=float(options.costs.under_grade_per_step),
        over_per_step=float(options.costs.over_grade_per_step),
        high_risk_from=min(high) if high else len(classes) - max(1, len(classes) // 3),
    )


@dataclass
class BoosterGrader:
    booster: lgb.Booster
    grading: Grading

    def predict_outputs(self, x: pd.DataFrame) -> pd.DataFrame:
        return self.grading.outputs(np.asarray(self.booster.predict(x)), x.index)


@dataclass
class LinearGrader:
    pipeline: Any
    grading: Grading

    def predict_outputs(self, x: pd.DataFrame) -> pd.DataFrame:
        seen = self.pipeline.classes_
        probabilities = np.zeros((len(x), len(self.grading.classes)))
        probabilities[:, seen] = self.pipeline.predict_proba(as_linear_input(x))
        return self.grading.outputs(probabilities, x.index)


class OrdinalFamily(Family):
    spec = OrdinalModel
    primary = "grade_rank"
    primary_is_discrete = True
    target_kind = "ordinal"

    def __init__(self) -> None:
        self._grading: Grading | None = None

    def grading(self, config: TrainingConfig) -> Grading:
        if self._grading is None:
            raise TrainingDataError(f"{config.scenario}: the target has not been read yet")
        return self._grading

    def target(self, values: pd.Series, config: TrainingConfig) -> np.ndarray:
        self._grading = grading_for(values, config.options)  # type: ignore[arg-type]
        rank = {c: i for i, c in enumerate(self._grading.classes)}
        return as_text(values).map(rank).to_numpy(dtype=int)

    def check_split(self, y_train: np.ndarray, y_test: np.ndarray, config: TrainingConfig) -> None:
        super().check_split(y_train, y_test, config)
        missing = sorted(set(range(len(self.grading(config).classes))) - set(np.unique(y_train)))
        if missing:
            names = [self.grading(config).classes[i] for i in missing]
            raise TrainingDataError(f"{config.scenario}: no training rows for class(es) {', '.join(names)}")

    def fit(self, algorithm: str, params: dict[str, Any], x: pd.DataFrame, y: np.ndarray, config: TrainingConfig):
        self.check_algorithm(algorithm, config)
        grading = self.grading(config)
        booster = fit_booster(x, y, params, objective="multiclass", num_class=len(grading.classes))
        return BoosterGrader(booster, grading)

    def fit_baseline(self, kind: str, x: pd.DataFrame, y: np.ndarray, config: TrainingConfig):
        rows = sample_rows(len(x), BASELINE_MAX_ROWS)
        numeric = [c for c in x.columns if not isinstance(x[c].dtype, pd.CategoricalDtype)]
        categorical = [c for c in x.columns if c not in numeric]
        pipeline = linear_pipeline(numeric, categorical, LogisticRegression(max_iter=2000))
        pipeline.fit(as_linear_input(x.iloc[rows]), y[rows])
        return LinearGrader(pipeline, self.grading(config))

    def evaluate(self, y: np.ndarray, outputs: pd.DataFrame, config: TrainingConfig) -> dict[str, float]:
        grading = self.grading(config)
        predicted = outputs["grade_rank"].to_numpy(dtype=int)
        return ordinal_metrics(y, predicted, len(grading.classes), grading.under_per_step, grading.high_risk_from)

    def group_summary(self, y: np.ndarray, outputs: pd.DataFrame) -> dict[str, float]:
        return {"observed_mean_rank": float(np.mean(y)), "mean_grade_rank": float(outputs["grade_rank"].mean())}

    def artifacts(self, view: HoldoutView) -> dict[str, Any]:
        grading = self.grading(view.config)
        labels = list(grading.classes)
        matrix = confusion(view.y, view.outputs["grade_rank"].to_numpy(dtype=int), len(labels))
        table = pd.DataFrame(matrix, index=pd.Index(labels, name="actual"), columns=labels)
        return with_importance(
            {
                "confusion_matrix.csv": table.to_csv(),
                "plots/confusion_matrix.svg": confusion_svg(matrix, labels),
                "grading.json": {
                    "classes_least_to_most_risky": labels,
                    "under_grade_cost_per_step": grading.under_per_step,
                    "over_grade_cost_per_step": grading.over_per_step,
                    "high_risk_classes": labels[grading.high_risk_from :],
                    "cost_matrix_true_by_predicted": grading.costs.tolist(),
                },
            },
            view.estimator,
            view.features,
        )
