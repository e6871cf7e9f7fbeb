"""The product spec (`products/<name>.yaml`), typed. The engine reads nothing else.

Two kinds, no per-product code:
- `model_score`: the scenario's champion scores the scenario's feature table; `output` is DuckDB SQL
  over the view `scored` (the feature table plus the model's outputs, `model_version` and, when the
  spec asks for them, `reasons`).
- `sql_aggregate`: `output` is DuckDB SQL over the conformed tables named in `inputs`; `$as_of` and
  `$k` are bound by the engine.
Both may add grade columns (`grades`), and both end with exactly the columns of `schema`.
"""

from __future__ import annotations

import itertools
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from datafactory.specs.base import Strict

Kind = Literal["model_score", "sql_aggregate"]
ColumnType = Literal["string", "int", "float", "bool"]
TYPES: dict[str, str] = {"string": "string", "int": "int64", "float": "float64", "bool": "bool"}  # -> pandas
DEFAULT_K = 5
Text = Annotated[str, Field(min_length=1)]


class Grade(Strict):
    """`column` takes the name of the first band whose upper bound the `source` value is under."""

    column: str = ""  # the key it is declared under in `grades`
    source: str = Field(alias="from")
    bounds: Annotated[dict[str, float], Field(min_length=1)]
    inclusive: bool = False  # upper bounds inclusive (K <= 0.6 is grade 1) rather than exclusive

    @model_validator(mode="after")
    def _increasing(self) -> Grade:
        if any(b <= a for a, b in itertools.pairwise(self.bounds.values())):
            raise ValueError(f"bounds must increase strictly: {self.bounds}")
        return self


class GroupRule(Strict):
    """Rows whose `size_column` is under k must not carry `columns` (or must not exist, when empty)."""

    size_column: str
    columns: list[str] = Field(default_factory=list)


class PiiPolicy(Strict):
    forbidden_columns: list[str] = Field(default_factory=list)
    pseudonymous_key: str | None = None  # the one column allowed to carry an in-domain pseudonym
    company_names: bool = False  # whether enterprise names may appear (never for persons)
    k: Annotated[int, Field(ge=2)] = DEFAULT_K
    groups: list[GroupRule] = Field(default_factory=list)


class Reasons(Strict):
    """Reason codes: the features whose neutralisation moves the prediction most toward `good`."""

    top: Annotated[int, Field(ge=1)] = 3
    labels: dict[str, str] = Field(default_factory=dict)
    risk_is_high: bool = True  # a higher prediction is the bad direction


class ProductSpec(Strict):
    name: str
    kind: Kind
    description: Text
    owner: Text
    audience: Annotated[list[str], Field(min_length=1)]
    authorized_for: Text  # the scenario whose authorized data the product may use
    model: str | None = None  # model_score: the scenario whose champion scores
    inputs: Annotated[list[str], Field(min_length=1)]
    refresh: Text  # cron or preset, besides a refresh whenever an input changes
    key: str
    output: Text  # DuckDB SQL
    schema_: Annotated[dict[str, ColumnType], Field(min_length=1, alias="schema")]
    grades: dict[str, Grade] = Field(default_factory=dict)
    pii: PiiPolicy = Field(alias="pii_policy")
    suite: str = ""  # the GE suite in expectations/; product_<name> when unset
    reasons: Reasons | None = None
    distribution: list[str] = Field(default_factory=list)  # columns whose shift `diff` reports first

    @model_validator(mode="before")
    @classmethod
    def _defaults(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        value = {**value, "suite": value.get("suite") or f"product_{value.get('name', '')}"}
        grades = value.get("grades")
        if isinstance(grades, dict):  # each grade knows its column
            value["grades"] = {c: {**g, "column": c} if isinstance(g, dict) else g for c, g in grades.items()}
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ProductSpec:
        if self.kind == "model_score" and not self.model:
            raise ValueError("model: a model_score product names its model (scenario)")
        if self.kind == "sql_aggregate" and (self.model or self.reasons):
            raise ValueError("model, reasons: only a model_score product has a model and reasons")
        columns = set(self.schema_)
        named = [("key", self.key), ("pii_policy.pseudonymous_key", self.pii.pseudonymous_key)]
        named += [(f"grades.{g}", g) for g in self.grades]
        named += [("pii_policy.groups.size_column", g.size_column) for g in self.pii.groups]
        named += [("distribution", c) for c in self.distribution]
        for where, column in named:
            if column is not None and column not in columns:
                raise ValueError(f"{where}: {column!r} is not in schema")
        return self

    @property
    def schema(self) -> dict[str, str]:  # type: ignore[override]  # the YAML's name; pydantic's is a classmethod
        return dict(self.schema_)

    @property
    def is_model(self) -> bool:
        return self.kind == "model_score"

    @property
    def grade_list(self) -> list[Grade]:
        return list(self.grades.values())

    def summary(self) -> dict[str, Any]:
        """What the manifest records about the spec a version was built from."""
        return {
            "kind": self.kind,
            "owner": self.owner,
            "audience": self.audience,
            "authorized_for": self.authorized_for,
            "refresh": self.refresh,
            "key": self.key,
            "pii_policy": {
                "forbidden_columns": self.pii.forbidden_columns,
                "pseudonymous_key": self.pii.pseudonymous_key,
                "company_names": self.pii.company_names,
                "k": self.pii.k,
            },
        }


def model_problems(product: ProductSpec, scenario: str, model_inputs: list[str]) -> list[str]:
    """What stops a model_score product from using its model: another scenario's authorization, or
    inputs the model does not read. Checked by `datafactory check` and again before a build."""
    found = []
    if scenario != product.authorized_for:
        found.append(
            f"authorized_for: {product.authorized_for!r} but model {product.model!r} serves {scenario!r}; "
            "a product may only use data authorized for its own scenario"
        )
    outside = sorted(set(product.inputs) - set(model_inputs))
    if outside:
        found.append(f"inputs: {outside} are not inputs of model {product.model!r}")
    return found
