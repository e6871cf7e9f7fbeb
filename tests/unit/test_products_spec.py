"""Product specs: every spec in products/ loads typed, and a broken one says which file and field."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from datafactory.specs import SpecError, load_models, load_product, load_products
from datafactory.specs.product import DEFAULT_K, ProductSpec, model_problems
from tests.conftest import REPO

pytestmark = pytest.mark.unit
GOOD = {
    "name": "p",
    "kind": "sql_aggregate",
    "description": "d",
    "owner": "o",
    "audience": ["a"],
    "authorized_for": "s",
    "inputs": ["ent_registry"],
    "refresh": "@daily",
    "key": "uscc",
    "output": "SELECT uscc, 1 AS n FROM ent_registry",
    "schema": {"uscc": "string", "n": "int"},
    "pii_policy": {},
}


def test_every_product_spec_declares_what_the_issue_asks_and_loads():
    models = load_models(REPO)
    for name, spec in load_products(REPO).items():
        assert spec.owner and spec.audience and spec.authorized_for and spec.inputs and spec.refresh, name
        assert spec.key in spec.schema and (REPO / "expectations" / f"{spec.suite}.json").exists(), name
        if spec.is_model:
            model = models[spec.model]
            assert model_problems(spec, model.scenario, model.inputs) == [], name


def test_defaults_and_groups_are_read():
    spec = ProductSpec.model_validate(GOOD)
    assert spec.pii.k == DEFAULT_K == 5 and spec.suite == "product_p" and not spec.is_model
    raw = copy.deepcopy(GOOD)
    raw["pii_policy"] = {"k": 10, "groups": [{"size_column": "n", "columns": ["x"]}], "pseudonymous_key": "uscc"}
    raw["grades"] = {"n_band": {"from": "n", "bounds": {"low": 1, "high": 10}}}
    raw["schema"] = {**raw["schema"], "n_band": "string"}
    spec = ProductSpec.model_validate(raw)
    assert (spec.pii.k, spec.pii.groups[0].size_column, spec.pii.pseudonymous_key) == (10, "n", "uscc")
    (grade,) = spec.grade_list
    assert (grade.column, grade.source, grade.bounds, grade.inclusive) == ("n_band", "n", {"low": 1, "high": 10}, False)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"owner": None}, "owner: Input should be a valid string"),
        ({"kind": "report"}, "kind: Input should be 'model_score' or 'sql_aggregate'"),
        ({"kind": "model_score"}, "model: a model_score product names its model"),
        ({"key": "id"}, "key: 'id' is not in schema"),
        ({"schema": {"uscc": "text"}}, "schema.uscc: Input should be"),
        ({"grades": {"n": {"from": "n", "bounds": {"a": 5, "b": 2}}}}, "grades.n: bounds must increase"),
        ({"grades": {"n": {"from": "n", "bounds": {"a": 5, "b": 5}}}}, "bounds must increase strictly"),
        ({"grades": {"band": {"from": "n", "bounds": {"a": 5}}}}, "grades.band: 'band' is not in schema"),
        ({"pii_policy": {"k": 1}}, "pii_policy.k: Input should be greater than or equal to 2"),
        ({"pii_policy": {"groups": [{"size_column": "missing"}]}}, "size_column: 'missing' is not in schema"),
        ({"pricing": {"per_call": 1}}, "pricing: Extra inputs are not permitted"),
        ({"audience": "banks"}, "audience: Input should be a valid list"),
    ],
)
def test_a_broken_spec_names_its_file_and_field(tmp_path: Path, change: dict, message: str):
    path = tmp_path / "products" / "p.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump({**copy.deepcopy(GOOD), **change}))
    with pytest.raises(SpecError, match=message.replace("(", r"\(")) as caught:
        load_product(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert "\n" not in str(caught.value)


def test_the_name_is_the_file_name(tmp_path: Path):
    path = tmp_path / "other.yaml"
    path.write_text(yaml.safe_dump(GOOD))
    with pytest.raises(SpecError, match="name: 'p' differs from the file name 'other'"):
        load_product(path)


def test_a_product_may_not_use_another_scenario_or_inputs_outside_its_model():
    spec = ProductSpec.model_validate({**GOOD, "kind": "model_score", "model": "m", "inputs": ["a", "b"]})
    assert model_problems(spec, "s", ["a", "b", "c"]) == []
    found = model_problems(spec, "other", ["a"])
    assert found[0].startswith("authorized_for: 's' but model 'm' serves 'other'")
    assert found[1] == "inputs: ['b'] are not inputs of model 'm'"
