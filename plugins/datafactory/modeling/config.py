"""The training recipe, derived from a scenario's typed model spec (nothing is parsed here again)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from typing import Any

from datafactory.specs.model import MODEL_TYPES, FamilyOptions, ModelSpec, Selection, Tuning

# The LightGBM candidate of a family whose own algorithm is not LightGBM (the scorecard), unless the
# spec declares a LightGBM challenger: settings that hold up from a few hundred rows to millions.
LIGHTGBM_DEFAULTS: dict[str, Any] = {
    "learning_rate": 0.05,
    "num_leaves": 15,
    "min_data_in_leaf": 20,
    "feature_fraction": 0.9,
    "num_boost_round": 200,
}
# Bumped when the split, the column roles or the selection change what a recipe trains on.
SESSION_VERSION = 2


@dataclass(frozen=True)
class Candidate:
    """One model a training session fits and compares: the scenario's algorithm ("primary"), its
    declared challenger, LightGBM, or the linear baseline."""

    role: str  # "primary", "challenger", "lightgbm" or "baseline"
    algorithm: str  # lightgbm, woe_logistic, logistic_regression, ridge
    params: dict[str, Any]
    name: str = ""  # what the comparison table, the nested run and the logged model are called

    @property
    def label(self) -> str:
        return self.name or self.algorithm

    @property
    def is_baseline(self) -> bool:
        return self.role == "baseline"


# A modeller's table is one interactive session, where the right winner matters more than a minute: on
# a 300,000-row credit table, folds on 20,000 or 50,000 training rows chose the logistic baseline, and
# LightGBM (which learns more from more rows) then beat it on the holdout by 0.022 AUC, far beyond the
# noise; folds on 100,000 rows chose LightGBM. Scenarios keep their declared `selection.max_rows`.
OWN_TABLE_SELECTION_ROWS = 100_000


@dataclass(frozen=True)
class TrainingConfig:
    scenario: str
    family: str
    target: str
    id_column: str | None
    hash_column: str | None  # rows with the same value always fall on the same side of the holdout
    holdout_share: float
    candidates: tuple[Candidate, ...]
    baseline: str | None  # as declared (kept for the recipe identity); the baseline candidate is always fitted
    tuning: Tuning | None  # its metric resolved (the promotion metric when the spec leaves it out)
    promotion_metric: str
    min_improvement: float
    options: FamilyOptions  # the family's own sections of model.yaml
    metrics: tuple[str, ...]  # holdout metrics logged and shown
    categorical: tuple[str, ...] = ()
    passthrough: tuple[str, ...] = ()  # carried for scoring or fairness, never a model input
    group_column: str | None = None
    description: str = ""
    selection: Selection = field(default_factory=Selection)
    owner: str = "datafactory"
    title: str = ""  # the model card's title: the scenario, or the modeller's table

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

    def session_identity(self) -> str:
        """The whole session's recipe: every candidate's identity, how they are compared, and the
        version of the split and column roles. Same data and same session identity: nothing retrains."""
        recipe = {
            "candidates": [[c.label, self.identity(c)] for c in self.candidates],
            "selection": self.selection.model_dump(),
            "version": SESSION_VERSION,
        }
        return hashlib.sha256(json.dumps(recipe, sort_keys=True, default=str).encode()).hexdigest()[:16]

    def with_data(self, target: str, id_column: str | None, group_column: str | None) -> TrainingConfig:
        """The same recipe pointed at another table (modellers' own data); options that name the
        scenario's own columns or labels (e.g. `target_per: floor_area`) do not carry over.

        The split hashes `group_column` (`--group`) when given, else `id_column` (`--id`): rows sharing
        its value stay on one side of the holdout and in one cross-validation fold. Neither is a
        feature. An own table has no fairness regions (the scenario's `group_column`). Its candidates are
        cross-validated on up to `OWN_TABLE_SELECTION_ROWS` training rows."""
        rows = max(self.selection.max_rows, OWN_TABLE_SELECTION_ROWS)
        return replace(
            self,
            selection=self.selection.model_copy(update={"max_rows": rows}),
            options=self.options.for_other_data(),
            target=target,
            id_column=id_column,
            hash_column=group_column or id_column,
            group_column=None,
            categorical=(),
            passthrough=(),
        )

    @property
    def split_groups(self) -> bool:
        """Whether the split's key is a grouping column (`--group`, `holdout.hash_column`) rather than the id."""
        return self.hash_column is not None and self.hash_column != self.id_column

    def described(self, title: str, description: str, owner: str | None = None) -> TrainingConfig:
        """The recipe with its card's title and description (a modeller's table, not the scenario's text)."""
        return replace(self, title=title, description=description, owner=owner or self.owner)

    def with_positive(self, positive: str) -> TrainingConfig:
        """A binary or scorecard recipe told which target label means bad."""
        if "positive" not in type(self.options).model_fields:
            raise ValueError(f"{self.scenario}: family {self.family} has no positive label; drop --positive")
        return replace(self, options=self.options.model_copy(update={"positive": positive}))

    def with_metric(self, metric: str) -> TrainingConfig:
        """The recipe compared, tuned and promoted by another of its metrics (a tuning metric that was the
        promotion metric follows it)."""
        tuning = self.tuning
        if tuning is not None and tuning.metric == self.promotion_metric:
            tuning = tuning.model_copy(update={"metric": metric})
        return replace(self, promotion_metric=metric, tuning=tuning)

    def with_classes(self, classes: tuple[str, ...]) -> TrainingConfig:
        """An ordinal recipe told its classes, least to most risky (`--classes`, or the order found)."""
        if "classes" not in type(self.options).model_fields:
            raise ValueError(f"{self.scenario}: family {self.family} has no ordered classes; drop --classes")
        return replace(self, options=self.options.model_copy(update={"classes": classes}))


def candidates_for(spec: ModelSpec) -> tuple[Candidate, ...]:
    """The scenario's algorithm, its declared challenger, LightGBM (when neither is LightGBM) and the
    family's baseline (the spec's, or the family's first): every session fits and compares them all."""
    out = [Candidate("primary", spec.algorithm, dict(spec.params), spec.algorithm)]
    challenger = spec.challenger
    if challenger is not None:
        name = challenger.algorithm if challenger.algorithm != spec.algorithm else f"{challenger.algorithm}_challenger"
        out.append(Candidate("challenger", challenger.algorithm, dict(challenger.params), name))
    if all(c.algorithm != "lightgbm" for c in out):
        out.append(Candidate("lightgbm", "lightgbm", dict(LIGHTGBM_DEFAULTS), "lightgbm"))
    baseline = spec.baseline or MODEL_TYPES[spec.family].baselines[0]
    out.append(Candidate("baseline", baseline, {}, baseline))
    return tuple(out)


def training_config(spec: ModelSpec) -> TrainingConfig:
    candidates = candidates_for(spec)
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
        selection=spec.selection,
        owner=spec.owner,
    )
