"""What every algorithm family provides to the generic trainer, tracker, registry and scorer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import numpy as np
import pandas as pd

from datafactory.modeling.config import TrainingConfig
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
    outputs: pd.DataFrame
    baseline_outputs: pd.DataFrame | None
    estimator: Any
    config: TrainingConfig


class Family:
    spec: ClassVar[type[ModelSpec]]  # the family's model spec: its name, algorithms, baselines and metrics
    primary: ClassVar[str]  # the output `score()` returns and PSI watches
    primary_is_discrete: ClassVar[bool] = False
    name: ClassVar[str]
    algorithms: ClassVar[tuple[str, ...]]
    baselines: ClassVar[tuple[str, ...]]
    metric_names: ClassVar[tuple[str, ...]]

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

    def evaluate(self, y: np.ndarray, outputs: pd.DataFrame, config: TrainingConfig) -> dict[str, float]:
        raise NotImplementedError

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


def binary_target(values: pd.Series, positive: Any, scenario: str) -> np.ndarray:
    """0/1 from booleans, from 0/1 numbers, or from two labels where `positive` names the bad one."""
    distinct = values.dropna().unique()
    if len(distinct) > 2:
        raise TrainingDataError(f"{scenario}: a binary target needs two values; '{values.name}' has {len(distinct)}")
    if positive is not None:
        return (values.astype(str) == str(positive)).to_numpy(dtype=int)
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
