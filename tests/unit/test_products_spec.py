"""Product specs: every spec in products/ loads, and a broken one says which file and field."""

from __future__ import annotations

import copy

import pytest

from datafactory.products.spec import DEFAULT_K, definition
from datafactory.specs import ProductSpec, SpecError, load_models, load_products
from tests.conftest import REPO

pytestmark = pytest.mark.unit
GOOD = {
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
        d = definition(spec)
        assert d.owner and d.audience and d.authorized_for and d.inputs and d.refresh and d.schema, name
        assert d.key in d.schema and (REPO / "expectations" / f"{d.suite}.json").exists(), name
        if d.is_model:
            assert d.model in models, f"{name}: no model {d.model}"
            assert models[d.model].raw["scenario"] == d.authorized_for, name


def test_defaults_and_groups_are_read():
    d = definition(ProductSpec("p", GOOD))
    assert d.pii.k == DEFAULT_K == 5 and d.suite == "product_p" and not d.is_model
    raw = copy.deepcopy(GOOD)
    raw["pii_policy"] = {"k": 10, "groups": [{"size_column": "n", "columns": ["x"]}], "pseudonymous_key": "uscc"}
    d = definition(ProductSpec("p", raw))
    assert (d.pii.k, d.pii.groups[0].size_column, d.pii.pseudonymous_key) == (10, "n", "uscc")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"owner": None}, "missing owner"),
        ({"kind": "report"}, "kind must be one of"),
        ({"kind": "model_score"}, "names its `model`"),
        ({"key": "id"}, "key 'id' is not in schema"),
        ({"schema": {"uscc": "text"}}, "schema needs column: type"),
        ({"grades": {"g": {"from": "n", "bounds": {"a": 5, "b": 2}}}}, "bounds must increase"),
        ({"pii_policy": {"k": 1}}, "k must be at least 2"),
        ({"pii_policy": {"groups": [{"size_column": "missing"}]}}, "size_column 'missing' is not in schema"),
    ],
)
def test_a_broken_spec_names_its_file_and_field(change: dict, message: str):
    raw = {**copy.deepcopy(GOOD), **change}
    with pytest.raises(SpecError, match=message) as caught:
        definition(ProductSpec("broken", raw))
    assert str(caught.value).startswith("products/broken.yaml: ")
