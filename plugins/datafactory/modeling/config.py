"""The training recipe, derived from a scenario's typed model spec (nothing is parsed here again)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from typing import Any

from datafactory.specs.model import FamilyOptions, ModelSpec, Tuning


@dataclass(frozen=True)
class Candidate:
    """One model the training run fits: the scenario's algorithm, or its declared challenger."""

    role: str  # "primary" or "challenger"
    algorithm: str
    params: dict[str, Any]


@dataclass(frozen=True)
class TrainingConfig:
    scenario: str
    family: str
    target: str
    id_column: str | None
    hash_column: str | None  # rows with the same value always fall on the same side of the holdout
    holdout_share: float
    candidates: tuple[Candidate, ...]
    baseline: str | None
    tuning: Tuning | None  # its metric resolved (the promotion metric when the spec leaves it out)
    promotion_metric: str
    min_improvement: float
    options: FamilyOptions  # the family's own sections of model.yaml
    metrics: tuple[str, ...]  # holdout metrics logged and shown
    categorical: tuple[str, ...] = ()
    passthrough: tuple[str, ...] = ()  # carried for scoring or fairness, never a model input
    group_column: str | None = None
    description: str = ""

    @property
    def non_features(self) -> set[str]:
        return {c for c in (self.id_column, self.target, self.hash_column, *self.passthrough) if c}

    def identity(self, candidate: Candidate) -> str:
        """Everything about the training recipe that changes the model (data aside), as a short hash.
        The recipe's shape is the one hashed since the first runs, so registered versions still match."""
        recipe = {
            "family": self.family,
            "algorithm": candidate.algorithm,
            "params": candidate.params,
            "target": self.target,
            "holdout": [self.hash_column, self.holdout_share],
            "tuning": None if self.tuning is None else self.tuning.model_dump(),
            "baseline": self.baseline,
            "columns": [sorted(self.categorical), sorted(self.passthrough)],
            "options": self.options.identity(),
        }
        return hashlib.sha256(json.dumps(recipe, sort_keys=True, default=str).encode()).hexdigest()[:16]

    def with_data(self, target: str, id_column: str | None, group_column: str | None) -> TrainingConfig:
        """The same recipe pointed at another table (modellers' own data); options that name the
        scenario's own columns or labels (e.g. `target_per: floor_area`) do not carry over."""
        return replace(
            self,
            options=self.options.for_other_data(),
            target=target,
            id_column=id_column,
            hash_column=id_column,
            group_column=group_column,
            categorical=(),
            passthrough=(),
        )

    def with_positive(self, positive: str) -> TrainingConfig:
        """A binary or scorecard recipe told which target label means bad."""
        if "positive" not in type(self.options).model_fields:
            raise ValueError(f"{self.scenario}: family {self.family} has no positive label; drop --positive")
        return replace(self, options=self.options.model_copy(update={"positive": positive}))


def training_config(spec: ModelSpec) -> TrainingConfig:
    primary = Candidate("primary", spec.algorithm, dict(spec.params))
    challenger = spec.challenger
    candidates = (primary,)
    if challenger is not None:
        candidates += (Candidate("challenger", challenger.algorithm, dict(challenger.params)),)
    tuning = spec.tuning
    if tuning is not None and tuning.metric is None:
        tuning = tuning.model_copy(update={"metric": spec.promotion.metric})
    return TrainingConfig(
        scenario=spec.scenario,
        family=spec.family,
        target=spec.target,
        id_column=spec.id_column,
        hash_column=spec.holdout.hash_column or spec.id_column,
        holdout_share=spec.holdout.share,
        candidates=candidates,
        baseline=spec.baseline,
        tuning=tuning,
        promotion_metric=spec.promotion.metric,
        min_improvement=spec.promotion.min_improvement,
        options=spec.options,
        metrics=spec.holdout_metrics,
        categorical=spec.categorical,
        passthrough=spec.passthrough,
        group_column=spec.group_column,
        description=spec.description,
    )
