"""Carbon-efficiency post-processing: K grades with Zhejiang's bounds, and emission factors by year and region."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from datafactory.modeling.efficiency import declared_outputs, factor_for, factors_from, ratio_grades
from datafactory.specs import load_models
from tests.conftest import REPO

pytestmark = pytest.mark.unit

ZHEJIANG = {1: 0.6, 2: 0.8, 3: 1.2, 4: 2.0, 5: None}
FACTORS = factors_from(
    [
        {"region": "330000", "year": 2023, "value": 0.4974},
        {"region": "national", "year": 2022, "value": 0.5366},
        {"region": "national", "year": 2023, "value": 0.5306},
    ]
)


def test_k_grades_use_right_closed_bounds():
    actual = np.array([60, 60.01, 80, 120, 200, 200.5, 50])
    k, grade = ratio_grades(actual, np.full(7, 100.0), ZHEJIANG)
    assert k.round(4).tolist() == [0.6, 0.6001, 0.8, 1.2, 2.0, 2.005, 0.5]
    assert grade.tolist() == [1, 2, 2, 3, 4, 5, 1]


def test_k_without_an_expectation_has_no_grade():
    k, grade = ratio_grades(np.array([10.0]), np.array([0.0]), ZHEJIANG)
    assert np.isnan(k[0]) and grade[0] is None


def test_grade_bounds_must_increase_and_end_open():
    with pytest.raises(ValueError, match="increase"):
        ratio_grades(np.array([1.0]), np.array([1.0]), {1: 0.8, 2: 0.6, 3: None})
    with pytest.raises(ValueError, match="last is null"):
        ratio_grades(np.array([1.0]), np.array([1.0]), {1: 0.6, 2: 0.8})


def test_the_provincial_factor_wins_for_its_regions_and_years():
    assert factor_for(FACTORS, 2023, "330502").value == 0.4974  # Huzhou, Zhejiang 2023
    assert factor_for(FACTORS, 2026, "330502").value == 0.4974  # newest published up to the year
    assert factor_for(FACTORS, 2022, "330502").value == 0.5366  # no Zhejiang 2022: national 2022
    assert factor_for(FACTORS, 2023, "370202").value == 0.5306  # outside Zhejiang: national
    assert factor_for(FACTORS, 2019, "330502").year == 2022  # older than every factor: the earliest


def test_declared_outputs_for_carbon_efficiency_come_from_the_spec():
    spec = load_models(REPO)["carbon_efficiency"]
    emissions = spec.emissions
    features = pd.DataFrame(
        {
            spec.efficiency.actual: [50.0, 300.0],
            emissions.year_column: [2023, 2022],
            emissions.region_column: ["330502", "330503"],
            emissions.activities["electricity"].column: [1000.0, 1000.0],
            emissions.activities["gas"].column: [10.0, 0.0],
        }
    )
    out = declared_outputs(pd.DataFrame({"prediction": [100.0, 100.0]}), features, spec)
    assert out["efficiency_grade"].tolist() == [1, 5]
    assert out["co2_electricity_kg"].round(1).tolist() == [497.4, 536.6]
    assert out["co2_gas_kg"].round(3).tolist() == [21.622, 0.0]
    assert out["co2_kg"].round(3).tolist() == [519.022, 536.6]
