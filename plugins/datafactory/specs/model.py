"""The model spec (`models/<scenario>/model.yaml`): what a scenario trains, how it is split, tuned and
promoted, and what its outputs carry on top. Typed per family, so an option of another family (say
`classes:` on a binary model) is an error when the spec loads, not a silent no-op in training.

This module is the one place that knows the families, their algorithms, baselines and holdout
metrics; the training code (`modeling/families`) implements them. It imports nothing heavy: the DAG
factory and `datafactory check` load specs at parse time.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import BeforeValidator, Field, PrivateAttr, model_validator

from datafactory.specs.base import SpecError, Strict

Family = Literal["binary", "ordinal", "scorecard", "regression"]
FAMILIES: tuple[str, ...] = get_args(Family)
Algorithm = Literal["lightgbm", "woe_logistic"]
Baseline = Literal["logistic_regression", "ridge"]
Direction = Literal["higher", "lower"]

# Every holdout metric a family computes (modeling/metrics.py), and which way is better.
METRIC_DIRECTIONS: dict[str, Direction] = {
    "auc": "higher",
    "ks": "higher",
    "gini": "higher",
    "pr_auc": "higher",
    "precision_at_cutoff": "higher",
    "recall_at_cutoff": "higher",
    "macro_f1": "higher",
    "accuracy": "higher",
    "under_grading_cost": "lower",
    "high_risk_under_graded_rate": "lower",
    "mae": "lower",
    "mape": "lower",
    "r2": "higher",
}

Share = Annotated[float, Field(gt=0, lt=1)]
# int | float keeps a YAML 3 as 3 (not 3.0): the training identity hashes these values as written.
Number = int | float
Positive = Annotated[Number, Field(gt=0)]
ColumnName = Annotated[str, Field(min_length=1)]
# GB/T 2260 codes are digits; YAML reads an unquoted 330000 as a number.
RegionCode = Annotated[str, BeforeValidator(lambda v: str(v) if isinstance(v, int) else v)]


# --- shared sections -----------------------------------------------------------------------------


class Holdout(Strict):
    share: Share = 0.25
    # Rows with the same value always fall on the same side (the id column when unset).
    hash_column: str | None = None


class Tuning(Strict):
    """A grid searched by the session's cross-validation on the training side (`selection`); the
    holdout stays unseen."""

    metric: str | None = None  # the promotion metric when unset
    validation_share: Share = 0.2  # no longer read (the folds replaced one validation part); kept so specs load
    grid: dict[str, Annotated[list[Any], Field(min_length=1)]] = Field(min_length=1)


class Selection(Strict):
    """How the candidates (the family's algorithm, LightGBM, the linear or WoE baseline) are compared:
    k-fold cross-validation on the training side, on at most `max_rows` of its rows (a deterministic
    sample). A small sample next to the training side favours models that learn little from more rows:
    LightGBM is judged at the sample's size and refitted at full size. A scenario trades that against
    its daily time budget; a modeller's own table is cross-validated on more (`OWN_TABLE_SELECTION_ROWS`
    in modeling/config.py)."""

    folds: Annotated[int, Field(ge=2, le=10)] = 3
    max_rows: Annotated[int, Field(ge=500)] = 20_000


class Challenger(Strict):
    algorithm: Algorithm
    params: dict[str, Any] = Field(default_factory=dict)


class Promotion(Strict):
    """A challenger becomes champion only if it beats the champion on the same holdout by more than
    `min_improvement`, in the metric's direction (lower is better for costs and errors)."""

    metric: str
    min_improvement: Annotated[float, Field(ge=0)] = 0.0
    direction: Direction | None = None  # optional in the YAML; when written, it must be the metric's own

    @model_validator(mode="after")
    def _direction(self) -> Promotion:
        known = METRIC_DIRECTIONS.get(self.metric)
        if known is None:
            raise ValueError(f"metric {self.metric!r} is not one of {', '.join(METRIC_DIRECTIONS)}")
        if self.direction is not None and self.direction != known:
            raise ValueError(f"{self.metric} is {known}-is-better, not {self.direction}")
        return self

    @property
    def lower_is_better(self) -> bool:
        return METRIC_DIRECTIONS[self.metric] == "lower"


class EmissionActivity(Strict):
    column: ColumnName  # the metered amount (kWh, m3)
    factor: str  # a list under `factors`


class EmissionFactor(Strict):
    region: RegionCode  # a GB/T 2260 code (330000 covers 33xxxx) or "national"
    year: int
    value: Annotated[float, Field(gt=0)]
    source: str = ""


class Emissions(Strict):
    """kg CO2 = activity x factor; a factor is chosen by region (most specific first) and year."""

    year_column: ColumnName
    region_column: ColumnName
    activities: Annotated[dict[str, EmissionActivity], Field(min_length=1)]
    factors: dict[str, Annotated[list[EmissionFactor], Field(min_length=1)]]

    @model_validator(mode="after")
    def _declared_factors(self) -> Emissions:
        for name, activity in self.activities.items():
            if activity.factor not in self.factors:
                raise ValueError(f"activities.{name}: factor {activity.factor!r} is not declared under factors")
        return self

    @property
    def columns(self) -> list[str]:
        return [self.year_column, self.region_column, *(a.column for a in self.activities.values())]


class Efficiency(Strict):
    """K = actual / expected, graded by right-closed upper bounds in order; the last grade is open."""

    actual: ColumnName
    expected: ColumnName = "prediction"
    grades: dict[int | str, Annotated[float, Field(gt=0)] | None]

    @model_validator(mode="after")
    def _bounds(self) -> Efficiency:
        limits = list(self.grades.values())
        if len(limits) < 2 or limits[-1] is not None or any(v is None for v in limits[:-1]):
            raise ValueError("grades: every grade but the last needs an upper bound; the last is null")
        if any(b <= a for a, b in itertools.pairwise(limits[:-1])):  # type: ignore[operator]
            raise ValueError(f"grades: upper bounds must increase: {self.grades}")
        return self


# --- family options ------------------------------------------------------------------------------


class FamilyOptions(Strict):
    """The sections of model.yaml that only one family reads."""

    # Names hashed into the training identity since the first runs. A name the spec no longer has
    # (ordinal `high_risk_from`, scorecard `binning`) hashes as null, so identities stay stable.
    identity_keys: ClassVar[tuple[str, ...]] = ()
    # Options naming the scenario's own columns or labels: they do not carry over to another table.
    scenario_columns: ClassVar[tuple[str, ...]] = ()

    def for_other_data(self) -> FamilyOptions:
        """These options with the scenario-specific ones back at their defaults (and unset)."""
        kept = self.model_fields_set - set(self.scenario_columns)
        return type(self).model_construct(_fields_set=kept, **{k: getattr(self, k) for k in kept})

    def identity(self) -> dict[str, Any]:
        written = self.model_dump(exclude_unset=True)
        return {k: written.get(k) for k in self.identity_keys}


class BinaryOptions(FamilyOptions):
    identity_keys = ("operating_cutoff", "positive")
    scenario_columns = ("positive",)

    operating_cutoff: Share = 0.5  # probability from which a row is flagged (precision/recall at cutoff)
    positive: str | int | bool | None = None  # the target label that means bad, for a two-label target


class Costs(Strict):
    under_grade_per_step: Positive = 1
    over_grade_per_step: Positive = 1


class OrdinalOptions(FamilyOptions):
    identity_keys = ("classes", "costs", "high_risk_from")
    scenario_columns = ("classes", "high_risk")

    classes: tuple[str, ...] = ()  # least to most risky; unset: the target's values in sorted order
    high_risk: tuple[str, ...] = ()
    costs: Costs = Field(default_factory=Costs)

    @model_validator(mode="after")
    def _classes(self) -> OrdinalOptions:
        if self.classes and len(self.classes) < 3:
            raise ValueError("classes: an ordinal target needs at least 3 classes")
        if len(set(self.classes)) != len(self.classes):
            raise ValueError("classes: a class is listed twice")
        unknown = [c for c in self.high_risk if c not in self.classes]
        if unknown:
            raise ValueError(f"high_risk: {unknown} are not among classes")
        return self


class Scaling(Strict):
    """Points = offset + factor * ln(good:bad odds), factor = PDO / ln 2."""

    base_points: Number
    base_odds: Positive  # good:bad odds at base_points
    pdo: Positive  # points to double the odds


class ScorecardOptions(FamilyOptions):
    identity_keys = ("scaling", "grades", "binning", "positive")
    scenario_columns = ("positive",)

    scaling: Scaling
    # Lowest points per grade, best first; the last grade (null) takes everything below.
    grades: dict[str, Number | None]
    positive: str | int | bool | None = None

    @model_validator(mode="after")
    def _grades(self) -> ScorecardOptions:
        lows = list(self.grades.values())
        if len(lows) < 2 or lows[-1] is not None or any(v is None for v in lows[:-1]):
            raise ValueError("grades: list at least two grades, best first, the last with null")
        if any(b >= a for a, b in itertools.pairwise(lows[:-1])):  # type: ignore[operator]
            raise ValueError(f"grades: lowest points must fall from best to worst grade: {self.grades}")
        return self

    @property
    def grade_floors(self) -> list[tuple[str, float]]:
        """(grade, lowest points) best first; the last grade's floor is -inf."""
        return [(name, -math.inf if low is None else float(low)) for name, low in self.grades.items()]


class RegressionOptions(FamilyOptions):
    identity_keys = ("target_transform", "target_per")
    scenario_columns = ("target_per",)

    target_transform: Literal["none", "log"] = "none"
    target_per: str | None = None  # model the target per unit of this column (energy per m2)


# --- the spec ------------------------------------------------------------------------------------


class _ModelSpec(Strict):
    family: Family
    scenario: str
    description: str = ""
    owner: str = "datafactory"  # who answers for the model: tagged on its experiment and registered model
    inputs: Annotated[list[str], Field(min_length=1)]  # conformed feeds the features SQL reads
    features: str = "features.sql"  # DuckDB SQL in the scenario's folder
    card: str = "card.md"  # model card template in the scenario's folder
    sql_params: dict[str, str | int | float | bool] = Field(default_factory=dict)  # `$name` in the SQL
    id_column: str | None = None
    target: ColumnName
    group_column: str | None = None  # the fairness table's groups
    passthrough: tuple[str, ...] = ()  # carried for scoring or fairness, never a model input
    categorical: tuple[str, ...] = ()
    holdout: Holdout = Field(default_factory=Holdout)
    algorithm: Algorithm
    params: dict[str, Any] = Field(default_factory=dict)
    challenger: Challenger | None = None
    tuning: Tuning | None = None
    selection: Selection = Field(default_factory=Selection)
    baseline: Baseline | None = None
    # Holdout metrics logged and shown, from those the family computes; unset: all of them.
    metrics: tuple[str, ...] = ()
    promotion: Promotion
    emissions: Emissions | None = None

    options_type: ClassVar[type[FamilyOptions]]
    algorithms: ClassVar[tuple[str, ...]]
    baselines: ClassVar[tuple[str, ...]]
    metric_names: ClassVar[tuple[str, ...]]
    # Named outputs of the champion (name -> DuckDB type), what `predict` adds to the features.
    outputs: ClassVar[tuple[tuple[str, str], ...]]

    _folder: Path = PrivateAttr(default_factory=Path)

    @model_validator(mode="before")
    @classmethod
    def _none_baseline(cls, value: Any) -> Any:
        if isinstance(value, dict) and value.get("baseline") == "none":
            return {**value, "baseline": None}
        return value

    @model_validator(mode="after")
    def _consistent(self) -> _ModelSpec:
        for role, algorithm in (
            ("algorithm", self.algorithm),
            ("challenger", self.challenger and self.challenger.algorithm),
        ):
            if algorithm and algorithm not in self.algorithms:
                raise ValueError(
                    f"{role}: family {self.family} has no algorithm {algorithm!r}; use {', '.join(self.algorithms)}"
                )
        if self.baseline and self.baseline not in self.baselines:
            raise ValueError(
                f"baseline: family {self.family} has no baseline {self.baseline!r}; use {', '.join(self.baselines)}"
            )
        unknown = [m for m in self.metrics if m not in self.metric_names]
        if unknown:
            raise ValueError(
                f"metrics: {unknown} are not computed for family {self.family}; it has {', '.join(self.metric_names)}"
            )
        for what, metric in (("promotion", self.promotion.metric), ("tuning", self.tuning and self.tuning.metric)):
            if metric and metric not in self.holdout_metrics:
                raise ValueError(
                    f"{what}.metric: {metric!r} is not among this model's metrics {list(self.holdout_metrics)}"
                )
        return self

    @property
    def name(self) -> str:
        return self.scenario

    @property
    def folder(self) -> Path:
        return self._folder

    def located(self, folder: Path) -> _ModelSpec:
        """This spec reading its SQL and card from `folder`."""
        copy = self.model_copy()
        copy._folder = folder
        return copy

    @property
    def features_path(self) -> Path:
        return self._folder / self.features

    @property
    def features_sql(self) -> str:
        return self.features_path.read_text(encoding="utf-8")

    @property
    def card_path(self) -> Path:
        return self._folder / self.card

    @property
    def holdout_metrics(self) -> tuple[str, ...]:
        return self.metrics or self.metric_names

    @property
    def options(self) -> FamilyOptions:
        """The family's own sections, as the trainer reads them (unset ones stay unset)."""
        fields = self.options_type.model_fields
        return self.options_type.model_construct(
            _fields_set=self.model_fields_set & set(fields), **{k: getattr(self, k) for k in fields}
        )

    @property
    def declared_columns(self) -> dict[str, str]:
        """Feature columns the spec names, with the section naming each (for `datafactory check`)."""
        named = {self.target: "target"}
        for section, column in (
            ("id_column", self.id_column),
            ("holdout.hash_column", self.holdout.hash_column),
            ("group_column", self.group_column),
        ):
            if column:
                named[column] = section
        named |= {c: "passthrough" for c in self.passthrough} | {c: "categorical" for c in self.categorical}
        if self.emissions:
            named |= {c: "emissions" for c in self.emissions.columns}
        return named


class BinaryModel(_ModelSpec, BinaryOptions):
    family: Literal["binary"]
    options_type = BinaryOptions
    algorithms = ("lightgbm",)
    baselines = ("logistic_regression",)
    metric_names = ("auc", "ks", "gini", "pr_auc", "precision_at_cutoff", "recall_at_cutoff")
    outputs = (("probability", "DOUBLE"),)


class OrdinalModel(_ModelSpec, OrdinalOptions):
    family: Literal["ordinal"]
    options_type = OrdinalOptions
    algorithms = ("lightgbm",)
    baselines = ("logistic_regression",)
    metric_names = ("macro_f1", "accuracy", "under_grading_cost", "high_risk_under_graded_rate")
    outputs = (("grade", "VARCHAR"), ("grade_rank", "BIGINT"))


class ScorecardModel(_ModelSpec, ScorecardOptions):
    family: Literal["scorecard"]
    options_type = ScorecardOptions
    algorithms = ("woe_logistic", "lightgbm")
    baselines = ("logistic_regression",)
    metric_names = ("auc", "ks", "gini")
    outputs = (("probability", "DOUBLE"), ("points", "BIGINT"), ("grade", "VARCHAR"))


class RegressionModel(_ModelSpec, RegressionOptions):
    family: Literal["regression"]
    options_type = RegressionOptions
    algorithms = ("lightgbm",)
    baselines = ("ridge",)
    metric_names = ("mae", "mape", "r2")
    outputs = (("prediction", "DOUBLE"),)

    efficiency: Efficiency | None = None  # K = actual / expected and its grade, after scoring

    @property
    def declared_columns(self) -> dict[str, str]:
        named = super().declared_columns
        if self.target_per:
            named[self.target_per] = "target_per"
        if self.efficiency:
            named[self.efficiency.actual] = "efficiency.actual"
        return named


ModelSpec = BinaryModel | OrdinalModel | ScorecardModel | RegressionModel
MODEL_TYPES: dict[str, type[_ModelSpec]] = {
    "binary": BinaryModel,
    "ordinal": OrdinalModel,
    "scorecard": ScorecardModel,
    "regression": RegressionModel,
}
assert tuple(MODEL_TYPES) == FAMILIES  # one family list: the `Family` literal above


def declared_outputs(spec: ModelSpec) -> dict[str, str]:
    """Columns `predict` returns for this spec (name -> DuckDB type): the family's outputs, then K and
    its grade, then CO2 per activity and in total."""
    out = dict(spec.outputs)
    efficiency = getattr(spec, "efficiency", None)
    if efficiency is not None:
        grade = "BIGINT" if all(isinstance(g, int) for g in efficiency.grades) else "VARCHAR"
        out |= {"k_value": "DOUBLE", "efficiency_grade": grade}
    if spec.emissions is not None:
        for activity in spec.emissions.activities:
            out |= {f"co2_{activity}_kg": "DOUBLE", f"{activity}_factor_year": "BIGINT"}
        out["co2_kg"] = "DOUBLE"
    return out


def model_spec(raw: dict[str, Any]) -> ModelSpec:
    """Validates a model.yaml mapping against its family's model (raises pydantic's ValidationError,
    or SpecError for an unknown family: there is no model to validate against)."""
    family = raw.get("family")
    if family not in MODEL_TYPES:
        given = "missing" if family is None else f"{family!r} is not one of"
        raise SpecError(f"family: {given} {', '.join(FAMILIES)}")
    return MODEL_TYPES[family].model_validate(raw)  # type: ignore[return-value]
