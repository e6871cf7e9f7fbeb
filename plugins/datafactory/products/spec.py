"""A product spec (`products/<name>.yaml`), checked and typed. The engine reads nothing else.

Two kinds, no per-product code:
- `model_score`: the scenario's champion scores the scenario's feature table; `output` is DuckDB SQL
  over the view `scored` (the feature table plus `prediction`, `model_version` and, when the spec
  asks for them, `reasons`).
- `sql_aggregate`: `output` is DuckDB SQL over the conformed tables named in `inputs`.
Both may add grade columns (`grades`), and both end with exactly the columns of `schema`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from datafactory.specs import ProductSpec, SpecError

KINDS = ("model_score", "sql_aggregate")
TYPES = {"string": "string", "int": "int64", "float": "float64", "bool": "bool"}
REQUIRED = ("kind", "description", "owner", "audience", "authorized_for", "inputs", "refresh", "key", "output")
DEFAULT_K = 5


@dataclass(frozen=True)
class Grade:
    """`column` takes the name of the first band whose upper bound the `source` value is under."""

    column: str
    source: str
    bounds: dict[str, float]
    inclusive: bool = False  # upper bounds inclusive (K <= 0.6 is grade 1) rather than exclusive


@dataclass(frozen=True)
class GroupRule:
    """Rows whose `size_column` is under k must not carry `columns` (or must not exist, when empty)."""

    size_column: str
    columns: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PiiPolicy:
    forbidden_columns: list[str]
    pseudonymous_key: str | None  # the one column allowed to carry an in-domain pseudonym
    company_names: bool  # whether enterprise names may appear (never for persons)
    k: int
    groups: list[GroupRule]


@dataclass(frozen=True)
class Reasons:
    """Reason codes: the features whose neutralisation moves the prediction most toward `good`."""

    top: int
    labels: dict[str, str]
    risk_is_high: bool = True  # a higher prediction is the bad direction


@dataclass(frozen=True)
class ProductDefinition:
    name: str
    kind: str
    description: str
    owner: str
    audience: list[str]
    authorized_for: str
    inputs: list[str]
    refresh: str
    key: str
    output: str
    schema: dict[str, str]
    grades: list[Grade]
    pii: PiiPolicy
    suite: str
    model: str | None = None
    reasons: Reasons | None = None
    distribution: list[str] = field(default_factory=list)  # columns whose shift `diff` reports first

    @property
    def is_model(self) -> bool:
        return self.kind == "model_score"

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


def _fail(name: str, message: str) -> SpecError:
    return SpecError(f"products/{name}.yaml: {message}")


def _grades(name: str, raw: dict[str, Any]) -> list[Grade]:
    grades = []
    for column, entry in (raw or {}).items():
        if not isinstance(entry, dict) or "from" not in entry or not entry.get("bounds"):
            raise _fail(name, f"grades.{column}: needs `from` and `bounds`")
        bounds = {str(k): float(v) for k, v in entry["bounds"].items()}
        values = list(bounds.values())
        if any(b <= a for a, b in pairwise(values)):
            raise _fail(name, f"grades.{column}.bounds must increase")
        grades.append(Grade(column, entry["from"], bounds, bool(entry.get("inclusive", False))))
    return grades


def _pii(name: str, raw: dict[str, Any], schema: dict[str, str]) -> PiiPolicy:
    groups = []
    for entry in raw.get("groups", []) or []:
        if entry.get("size_column") not in schema:
            raise _fail(name, f"pii_policy.groups: size_column {entry.get('size_column')!r} is not in schema")
        groups.append(GroupRule(entry["size_column"], list(entry.get("columns", []))))
    key = raw.get("pseudonymous_key")
    if key is not None and key not in schema:
        raise _fail(name, f"pii_policy.pseudonymous_key {key!r} is not in schema")
    k = int(raw.get("k", DEFAULT_K))
    if k < 2:
        raise _fail(name, "pii_policy.k must be at least 2")
    return PiiPolicy(list(raw.get("forbidden_columns", [])), key, bool(raw.get("company_names", False)), k, groups)


def definition(spec: ProductSpec) -> ProductDefinition:
    raw, name = spec.raw, spec.name
    missing = [f for f in REQUIRED if not raw.get(f)]
    if missing:
        raise _fail(name, f"missing {', '.join(missing)}")
    if raw["kind"] not in KINDS:
        raise _fail(name, f"kind must be one of {KINDS}, not {raw['kind']!r}")
    if raw["kind"] == "model_score" and not raw.get("model"):
        raise _fail(name, "a model_score product names its `model` (scenario)")
    schema = {str(c): str(t) for c, t in (raw.get("schema") or {}).items()}
    unknown = {c: t for c, t in schema.items() if t not in TYPES}
    if not schema or unknown:
        raise _fail(name, f"schema needs column: type with types in {sorted(TYPES)}; bad: {unknown}")
    if raw["key"] not in schema:
        raise _fail(name, f"key {raw['key']!r} is not in schema")
    if "pii_policy" not in raw:
        raise _fail(name, "missing pii_policy")
    reasons = None
    if raw.get("reasons"):
        r = raw["reasons"]
        reasons = Reasons(int(r.get("top", 3)), dict(r.get("labels", {})), bool(r.get("risk_is_high", True)))
    return ProductDefinition(
        name=name,
        kind=raw["kind"],
        description=str(raw["description"]).strip(),
        owner=raw["owner"],
        audience=list(raw["audience"]),
        authorized_for=raw["authorized_for"],
        inputs=list(raw["inputs"]),
        refresh=raw["refresh"],
        key=raw["key"],
        output=raw["output"],
        schema=schema,
        grades=_grades(name, raw.get("grades")),
        pii=_pii(name, raw["pii_policy"] or {}, schema),
        suite=raw.get("suite", f"product_{name}"),
        model=raw.get("model"),
        reasons=reasons,
        distribution=list(raw.get("distribution", [])),
    )
