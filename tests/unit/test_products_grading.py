"""Grades and reason codes. Pure functions on small arrays."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from datafactory.products.banding import apply_grades, band
from datafactory.products.reasons import NO_REASON, contributions, top_reasons
from datafactory.specs.product import Grade

pytestmark = pytest.mark.unit
CARBON = {"1": 0.6, "2": 0.8, "3": 1.2, "4": 2.0, "5": 1e9}


def test_inclusive_bounds_follow_the_carbon_efficiency_code():
    k = np.array([0.2, 0.6, 0.61, 0.8, 1.2, 2.0, 2.01])
    assert band(k, CARBON, inclusive=True).tolist() == ["1", "1", "2", "2", "3", "4", "5"]
    assert band(k, CARBON).tolist() == ["1", "2", "2", "3", "4", "5", "5"]  # exclusive: K = 0.6 is grade 2


def test_missing_values_and_values_past_the_last_bound_are_refused():
    with pytest.raises(ValueError, match="missing"):
        band(np.array([np.nan]), CARBON)
    with pytest.raises(ValueError, match="above the last band bound"):
        band(np.array([1001]), {"low": 500, "high": 1001})


def test_apply_grades_adds_each_declared_grade_from_its_source():
    frame = pd.DataFrame({"score": [10, 600]})
    graded = apply_grades(
        frame, [Grade.model_validate({"column": "band", "from": "score", "bounds": {"low": 500, "high": 1001}})]
    )
    assert graded["band"].tolist() == ["low", "high"]
    with pytest.raises(KeyError, match="lacks"):
        apply_grades(frame, [Grade.model_validate({"column": "band", "from": "points", "bounds": {"low": 1}})])


def _risk(frame: pd.DataFrame) -> np.ndarray:
    """A toy model: incidents raise risk strongly, age lowers it a little, noise does nothing."""
    return 0.1 * frame["incidents"].to_numpy() - 0.01 * frame["age"].to_numpy() + 0 * frame["noise"].to_numpy()


def test_reasons_name_what_moves_each_row_and_which_way():
    inputs = pd.DataFrame({"incidents": [0.0, 5.0, 0.0], "age": [10.0, 10.0, 40.0], "noise": [1.0, 2.0, 3.0]})
    effects = contributions(_risk, inputs)
    reasons = top_reasons(effects, {"incidents": "platform incidents", "age": "firm age"}, top=2)
    assert reasons[1] == "-platform incidents"  # the only row above the median in incidents
    assert reasons[2] == "+firm age"  # older than the median: counts in its favour
    assert reasons[0] == NO_REASON  # the median supplier: nothing stands out
    flipped = top_reasons(contributions(lambda f: -_risk(f), inputs, risk_is_high=False), {}, top=1)
    assert flipped[1] == "-incidents"  # the same reading when the model's output is 'higher is better'
