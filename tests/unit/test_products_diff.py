"""Version diff: schema, rows, keys and distribution shift, on two small frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from datafactory.products.diff import compare

pytestmark = pytest.mark.unit


def _manifest(version: int, schema: dict[str, str]) -> dict:
    return {"version": version, "schema": schema, "logical_date": f"2026-11-0{version}", "model": {"version": "3"}}


def test_schema_rows_and_keys():
    old = pd.DataFrame({"uscc": ["a", "b", "c"], "band": ["low", "low", "high"], "gone": [1, 2, 3]})
    new = pd.DataFrame({"uscc": ["b", "c", "d", "e"], "band": ["low", "high", "high", "low"], "extra": [1.0] * 4})
    diff = compare(
        "p",
        _manifest(1, {"uscc": "object", "band": "object", "gone": "int64"}),
        _manifest(2, {"uscc": "object", "band": "category", "extra": "float64"}),
        old,
        new,
        key="uscc",
    )
    assert diff.added_columns == {"extra": "float64"} and diff.removed_columns == {"gone": "int64"}
    assert diff.retyped_columns == {"band": ("object", "category")}
    assert (diff.old_rows, diff.new_rows, diff.keys_added, diff.keys_removed) == (3, 4, 2, 1)
    (band,) = diff.shifts
    assert band.kind == "categorical" and band.changed_keys == 0  # b and c kept their band


def test_a_stable_score_is_stable_and_a_moved_one_is_shifted():
    rng = np.random.default_rng(0)
    old = pd.DataFrame({"id": range(2000), "score": rng.normal(500, 80, 2000).round()})
    same = pd.DataFrame({"id": range(2000), "score": rng.normal(500, 80, 2000).round()})
    moved = pd.DataFrame({"id": range(2000), "score": rng.normal(620, 80, 2000).round()})
    schema = {"id": "int64", "score": "float64"}
    stable = compare("p", _manifest(1, schema), _manifest(2, schema), old, same, key="id").shifts[0]
    shifted = compare("p", _manifest(1, schema), _manifest(2, schema), old, moved, key="id").shifts[0]
    assert stable.kind == "numeric" and stable.verdict == "stable"
    assert shifted.verdict == "shifted" and shifted.psi > 0.25
    assert shifted.new["p50"] > shifted.old["p50"] + 100


def test_grade_migration_counts_the_keys_that_changed_grade():
    old = pd.DataFrame({"id": range(100), "grade": ["A"] * 50 + ["B"] * 50})
    new = pd.DataFrame({"id": range(100), "grade": ["A"] * 20 + ["B"] * 80})
    schema = {"id": "int64", "grade": "object"}
    (shift,) = compare("p", _manifest(1, schema), _manifest(2, schema), old, new, key="id").shifts
    assert shift.changed_keys == 30
    assert shift.old == {"A": 0.5, "B": 0.5} and shift.new == {"A": 0.2, "B": 0.8}
    assert shift.verdict == "shifted"
