"""The training part of a scenario's `model.yaml`, parsed once and checked with clear messages."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from typing import Any

from datafactory.specs import SpecError

FAMILIES = ("binary", "ordinal", "scorecard", "regression")
# Options that name the scenario's own columns or labels; they do not apply to another table.
SCENARIO_COLUMN_OPTIONS = ("target_per", "efficiency", "emissions", "classes", "high_risk", "positive")


@dataclass(frozen=True)
class Candidate:
    """One model the training run fits: the scenario's algorithm, or its declared challenger."""

    role: str  # "primary" or "challenger"
    algorithm: str
    params: dict[str, Any]


@dataclass(frozen=True)
class Tuning:
    metric: str
    validation_share: float
    grid: dict[str, list[Any]]


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
    tuning: Tuning | None
    promotion_metric: str
    min_improvement: float
    categorical: tuple[str, ...] = ()
    passthrough: tuple[str, ...] = ()  # carried for scoring or fairness, never a model input
    group_column: str | None = None
    options: dict[str, Any] = field(default_factory=dict)  # family-specific sections of model.yaml

    @property
    def non_features(self) -> set[str]:
        return {c for c in (self.id_column, self.target, self.hash_column, *self.passthrough) if c}

    def identity(self, candidate: Candidate) -> str:
        """Everything about the training recipe that changes the model (data aside), as a short hash."""
        recipe = {
            "family": self.family,
            "algorithm": candidate.algorithm,
            "params": candidate.params,
            "target": self.target,
            "holdout": [self.hash_column, self.holdout_share],
            "tuning": None if self.tuning is None else vars(self.tuning),
            "baseline": self.baseline,
            "columns": [sorted(self.categorical), sorted(self.passthrough)],
            "options": {k: self.options.get(k) for k in FAMILY_OPTIONS.get(self.family, ())},
        }
        return hashlib.sha256(json.dumps(recipe, sort_keys=True, default=str).encode()).hexdigest()[:16]

    def with_data(self, target: str, id_column: str | None, group_column: str | None) -> TrainingConfig:
        """The same recipe pointed at another table (modellers' own data); options that name the
        scenario's own columns or labels (e.g. `target_per: floor_area`) do not carry over."""
        return replace(
            self,
            options={k: v for k, v in self.options.items() if k not in SCENARIO_COLUMN_OPTIONS},
            target=target,
            id_column=id_column,
            hash_column=id_column,
            group_column=group_column,
            categorical=(),
            passthrough=(),
        )


# model.yaml sections that change how a family fits or scores, so they belong in the fingerprint.
FAMILY_OPTIONS = {
    "binary": ("operating_cutoff", "positive"),
    "ordinal": ("classes", "costs", "high_risk_from"),
    "scorecard": ("scaling", "grades", "binning", "positive"),
    "regression": ("target_transform", "target_per"),
}


def _require(raw: dict[str, Any], key: str, where: str) -> Any:
    if key not in raw or raw[key] in (None, ""):
        raise SpecError(f"{where}: missing '{key}'")
    return raw[key]


def _tuning(raw: dict[str, Any] | None, promotion_metric: str, where: str) -> Tuning | None:
    if not raw:
        return None
    grid = raw.get("grid") or {}
    if not isinstance(grid, dict) or not all(isinstance(v, list) and v for v in grid.values()):
        raise SpecError(f"{where}: tuning.grid must map each parameter to a non-empty list of values")
    share = float(raw.get("validation_share", 0.2))
    if not 0 < share < 0.5:
        raise SpecError(f"{where}: tuning.validation_share must be between 0 and 0.5, got {share}")
    return Tuning(metric=str(raw.get("metric", promotion_metric)), validation_share=share, grid=grid)


def training_config(raw: dict[str, Any]) -> TrainingConfig:
    where = f"models/{raw.get('scenario', '?')}/model.yaml"
    scenario = _require(raw, "scenario", where)
    family = raw.get("family", "binary")
    if family not in FAMILIES:
        raise SpecError(f"{where}: family '{family}' is not one of {', '.join(FAMILIES)}")
    holdout = raw.get("holdout") or {}
    share = float(holdout.get("share", 0.25))
    if not 0 < share < 0.6:
        raise SpecError(f"{where}: holdout.share must be between 0 and 0.6, got {share}")
    candidates = [Candidate("primary", _require(raw, "algorithm", where), dict(raw.get("params") or {}))]
    if raw.get("challenger"):
        challenger = raw["challenger"]
        candidates.append(
            Candidate(
                "challenger", _require(challenger, "algorithm", f"{where} challenger"), challenger.get("params") or {}
            )
        )
    promotion = _require(raw, "promotion", where)
    metric = _require(promotion, "metric", f"{where} promotion")
    baseline = raw.get("baseline")
    return TrainingConfig(
        scenario=scenario,
        family=family,
        target=_require(raw, "target", where),
        id_column=raw.get("id_column"),
        hash_column=holdout.get("hash_column") or raw.get("id_column"),
        holdout_share=share,
        candidates=tuple(candidates),
        baseline=None if baseline in (None, "none") else baseline,
        tuning=_tuning(raw.get("tuning"), metric, where),
        promotion_metric=metric,
        min_improvement=float(promotion.get("min_improvement", 0.0)),
        categorical=tuple(raw.get("categorical") or ()),
        passthrough=tuple(raw.get("passthrough") or ()),
        group_column=raw.get("group_column"),
        options=raw,
    )
