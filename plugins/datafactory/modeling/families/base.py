"""What every algorithm family provides to the generic trainer, tracker, registry and scorer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import numpy as np
import pandas as pd

from datafactory.modeling.config import TrainingConfig
from datafactory.modeling.labels import named_label, spelling_hint
from datafactory.specs.model import MODEL_TYPES, ModelSpec


class TrainingDataError(ValueError):
    """The labelled data cannot train this family (too few rows, a missing class, a bad target)."""


class Estimator(Protocol):
    def predict_outputs(self, x: pd.DataFrame) -> pd.DataFrame:
        """Named outputs for a prepared matrix, one row per input row."""


@dataclass
class HoldoutView:
    """What a family needs to draw its artifacts: the holdout truth and every model's outputs on it."""

    y: np.ndarray
    outputs: pd.DataFrame  # the winner's
    curves: dict[str, pd.DataFrame]  # every candidate's outputs on the holdout, by candidate name
    estimator: Any  # the winner's
    config: TrainingConfig
    features: list[str]


class Family:
    spec: ClassVar[type[ModelSpec]]  # the family's model spec: its name, algorithms, baselines and metrics
    primary: ClassVar[str]  # the output `score()` returns and PSI watches
    primary_is_discrete: ClassVar[bool] = False
    name: ClassVar[str]
    algorithms: ClassVar[tuple[str, ...]]
    baselines: ClassVar[tuple[str, ...]]
    metric_names: ClassVar[tuple[str, ...]]
    target_kind: ClassVar[str] = "binary"  # binary, ordinal or regression: how leakage and strata are read

    @property
    def stratified(self) -> bool:
        return self.target_kind != "regression"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # What a family offers is declared once, in its spec (specs/model.py).
        cls.name = next(name for name, spec in MODEL_TYPES.items() if spec is cls.spec)
        cls.algorithms, cls.baselines, cls.metric_names = cls.spec.algorithms, cls.spec.baselines, cls.spec.metric_names

    def target(self, values: pd.Series, config: TrainingConfig) -> np.ndarray:
        raise NotImplementedError

    def check_split(self, y_train: np.ndarray, y_test: np.ndarray, config: TrainingConfig) -> None:
        if len(y_test) < 10 or len(y_train) < 10:
            raise TrainingDataError(
                f"{config.scenario}: need at least 10 labelled rows on each side of the holdout; "
                f"got {len(y_train)} train and {len(y_test)} holdout"
            )

    def fit(self, algorithm: str, params: dict[str, Any], x: pd.DataFrame, y: np.ndarray, config: TrainingConfig):
        raise NotImplementedError

    def fit_baseline(self, kind: str, x: pd.DataFrame, y: np.ndarray, config: TrainingConfig):
        raise NotImplementedError

    def fit_candidate(self, candidate: Any, params: dict[str, Any], x: pd.DataFrame, y: np.ndarray, config):
        """The candidate's model: the baseline through `fit_baseline`, an algorithm through `fit`."""
        if candidate.is_baseline:
            return self.fit_baseline(candidate.algorithm, x, y, config)
        return self.fit(candidate.algorithm, params, x, y, config)

    def modelled_target(self, y: np.ndarray, x: pd.DataFrame, config: TrainingConfig) -> np.ndarray:
        """The target as the models see it (for the leakage check): the label, or a scaled quantity."""
        return y

    def evaluate(self, y: np.ndarray, outputs: pd.DataFrame, config: TrainingConfig) -> dict[str, float]:
        raise NotImplementedError

    def metric(self, name: str, y: np.ndarray, outputs: pd.DataFrame, config: TrainingConfig) -> float:
        """One metric, as `evaluate` gives it; families override it where a cheaper exact form exists
        (the holdout bootstrap asks for it a hundred times)."""
        return self.evaluate(y, outputs, config)[name]

    def label_warnings(self, y: np.ndarray, validation: pd.DataFrame | None, config: TrainingConfig) -> list[str]:
        """Warnings about how the target is coded, read on validation outputs (none by default)."""
        return []

    def group_summary(self, y: np.ndarray, outputs: pd.DataFrame) -> dict[str, float]:
        """Plain facts about one group for the fairness table (observed outcome, mean output)."""
        return {"observed_mean": float(np.mean(y)), f"mean_{self.primary}": float(outputs[self.primary].mean())}

    def artifacts(self, view: HoldoutView) -> dict[str, Any]:
        """Artifact path -> text (CSV, markdown, SVG) or dict (JSON)."""
        return {}

    def check_algorithm(self, algorithm: str, config: TrainingConfig) -> None:
        if algorithm not in self.algorithms:
            raise TrainingDataError(
                f"{config.scenario}: family {self.name} has no algorithm '{algorithm}'; "
                f"choose one of {', '.join(self.algorithms)}"
            )


def with_importance(artifacts: dict[str, Any], estimator: Any, features: list[str]) -> dict[str, Any]:
    """`features`: the model's inputs in the order it was fitted on, named as in the table."""
    from datafactory.modeling.estimators import importance

    table = importance(estimator, features)
    if table is not None:
        artifacts["feature_importance.csv"] = table.to_csv(index=False)
    return artifacts


def shown_values(values: pd.Series, limit: int = 12) -> str:
    distinct = sorted(map(str, values.dropna().unique()))
    more = f", ... ({len(distinct)} in all)" if len(distinct) > limit else ""
    return ", ".join(distinct[:limit]) + more


def binary_target(values: pd.Series, positive: Any, scenario: str) -> np.ndarray:
    """0/1 from booleans, from 0/1 numbers, or from two labels where `positive` names the bad one."""
    distinct = values.dropna().unique()
    if len(distinct) == 1:
        raise TrainingDataError(
            f"target '{values.name}' has a single value ({distinct[0]}) in all {values.notna().sum()} labelled rows; "
            "a classifier needs rows of both classes"
        )
    if len(distinct) > 2:
        raise TrainingDataError(
            f"{scenario}: a binary target needs two values; '{values.name}' has {len(distinct)}: {shown_values(values)}"
            f"{spelling_hint(map(str, distinct))}"
        )
    if positive is not None:
        from datafactory.modeling.columns import as_text

        text = as_text(values)  # 1.0 reads as 1, as on the command line
        label = named_label(positive, set(text[values.notna()]))
        if label is None:
            raise TrainingDataError(
                f"--positive {positive} is not a value of '{values.name}'; its values are {shown_values(values)}"
            )
        return (text == label).to_numpy(dtype=int)
    if pd.api.types.is_bool_dtype(values) or set(pd.to_numeric(values, errors="coerce").dropna().unique()) <= {0, 1}:
        numeric = pd.to_numeric(values, errors="coerce")
        if numeric.notna().all():
            return numeric.to_numpy(dtype=int)
    shown = ", ".join(sorted(map(str, distinct)))
    raise TrainingDataError(f"{scenario}: target '{values.name}' has values {shown}; say which one is positive")


def check_both_classes(y_train: np.ndarray, y_test: np.ndarray, scenario: str) -> None:
    for side, y in (("train", y_train), ("holdout", y_test)):
        if len(np.unique(y)) < 2:
            raise TrainingDataError(f"{scenario}: the {side} side has a single class; need both ({len(y)} rows)")
