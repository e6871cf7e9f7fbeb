"""Grade bands at every boundary, read from the real specs and compared with scales written here
independently (DOMAIN.md), so a band swapped or a bound moved in the YAML or in the code fails.

- carbon-efficiency code (models/carbon_efficiency/model.yaml, modeling/efficiency.py):
  K = actual / expected; 1 (K <= 0.6), 2 (0.6-0.8], 3 (0.8-1.2], 4 (1.2-2.0], 5 (K > 2.0);
- product grades (products/*.yaml `grades`, products/banding.py);
- scorecard grades (models/supplier_rating/model.yaml, modeling/families/scorecard.py): the five-grade
  SME scale AAA, AA, A, B, C, each grade from its lowest points up.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datafactory.modeling.efficiency import declared_outputs, ratio_grades
from datafactory.modeling.families.scorecard import grade_of
from datafactory.products.banding import apply_grades, band
from datafactory.specs import load_models, load_products
from tests.conftest import REPO

pytestmark = pytest.mark.unit


def _model(name: str):
    return load_models(REPO)[name]


def _around(edges: list[float]) -> list[float]:
    """Every edge exactly, the nearest floats either side, a hair (1e-7) either side, and the extremes."""
    values = [0.0, 1e-9, 1e6]
    for edge in edges:
        values += [edge, math.nextafter(edge, -math.inf), math.nextafter(edge, math.inf), edge - 1e-7, edge + 1e-7]
    return sorted(values)


# --- carbon-efficiency code ---------------------------------------------------------------------

CARBON_EDGES = [0.6, 0.8, 1.2, 2.0]


def carbon_grade(k: float) -> int:
    """DOMAIN.md: grades 1 (K <= 0.6), 2 (0.6-0.8), 3 (0.8-1.2), 4 (1.2-2.0), 5 (> 2.0); right-closed."""
    if k <= 0.6:
        return 1
    if k <= 0.8:
        return 2
    if k <= 1.2:
        return 3
    if k <= 2.0:
        return 4
    return 5


def test_the_scale_written_here_reads_as_domain_md_says():
    assert [carbon_grade(k) for k in (0.6, 0.6000001, 0.8, 0.8000001, 1.2, 1.2000001, 2.0, 2.0000001)] == [
        1,
        2,
        2,
        3,
        3,
        4,
        4,
        5,
    ]


def test_carbon_grades_from_the_model_yaml_at_every_boundary():
    bounds = _model("carbon_efficiency").efficiency.grades
    k = np.array(_around(CARBON_EDGES))
    got_k, grades = ratio_grades(k, np.ones_like(k), bounds)  # expected = 1: K is exactly the value
    np.testing.assert_array_equal(got_k, k)
    assert grades.tolist() == [carbon_grade(v) for v in k], list(zip(k.tolist(), grades.tolist(), strict=True))


def test_carbon_grades_through_the_declared_outputs_of_the_model_spec():
    spec = _model("carbon_efficiency")
    rule, emissions = spec.efficiency, spec.emissions
    k = np.array(_around(CARBON_EDGES))
    features = pd.DataFrame(
        {
            rule.actual: k * 4.0,  # powers of two keep K exact
            emissions.year_column: 2023,
            emissions.region_column: "330502",
            **{activity.column: 0.0 for activity in emissions.activities.values()},
        }
    )
    out = declared_outputs(pd.DataFrame({rule.expected: np.full(len(k), 4.0)}), features, spec)
    assert out["k_value"].tolist() == k.tolist()
    assert out["efficiency_grade"].tolist() == [carbon_grade(v) for v in k]


@settings(max_examples=300, deadline=None)
@given(
    actual=st.floats(0, 1e7, allow_nan=False, allow_infinity=False),
    expected=st.floats(1e-3, 1e7, allow_nan=False, allow_infinity=False),
)
def test_any_carbon_k_gets_the_domain_grade(actual: float, expected: float):
    bounds = _model("carbon_efficiency").efficiency.grades
    k, grades = ratio_grades(np.array([actual]), np.array([expected]), bounds)
    assert grades[0] == carbon_grade(float(k[0]))


def test_the_carbon_product_publishes_the_model_grade_unchanged():
    """The product table takes the model's grade; it must not re-band K with other bounds."""
    product = load_products(REPO)["carbon_efficiency_codes"]
    assert "efficiency_grade AS grade" in " ".join(product.output.split())
    assert not product.grades


# --- product grades ------------------------------------------------------------------------------


def anti_fraud_band(score: float) -> str:
    """The anti-fraud admission risk band of a 0-1000 score: exclusive upper bounds 200, 500, 800."""
    if score < 200:
        return "low"
    if score < 500:
        return "medium"
    if score < 800:
        return "high"
    return "very_high"


# Every product grade, pinned independently: (product, grade column) -> (source column, reference, edges).
PRODUCT_SCALES = {
    ("anti_fraud_admission", "risk_band"): ("score", anti_fraud_band, [200.0, 500.0, 800.0], 1000.0),
}


def _declared_grades():
    """(product, grade column) -> its declaration, as the engine loads it."""
    return {(name, g.column): g for name, product in load_products(REPO).items() for g in product.grades.values()}


def test_every_declared_product_grade_has_a_pinned_scale():
    assert set(_declared_grades()) == set(PRODUCT_SCALES), "pin the new product grade's scale in PRODUCT_SCALES"


@pytest.mark.parametrize("product,column", sorted(PRODUCT_SCALES))
def test_product_grades_from_the_product_yaml_at_every_boundary(product: str, column: str):
    grade = _declared_grades()[product, column]
    source, reference, edges, top = PRODUCT_SCALES[product, column]
    assert grade.source == source
    values = [v for v in _around(edges) if v <= top] + [top]
    graded = apply_grades(pd.DataFrame({source: values}), [grade])
    assert graded[column].tolist() == [reference(v) for v in values], list(zip(values, graded[column], strict=True))
    # Integer scores, as the product ships them: each edge and its neighbours.
    ints = sorted({int(e) + d for e in edges for d in (-1, 0, 1)} | {0, int(top)})
    assert band(np.array(ints), grade.bounds, grade.inclusive).tolist() == [reference(v) for v in ints]


@pytest.mark.parametrize("inclusive", [False, True])
def test_band_puts_each_edge_on_the_declared_side(inclusive: bool):
    bounds = {"one": 0.6, "two": 0.8, "three": 1.2, "four": 2.0, "five": 1e9}
    names = list(bounds)
    for i, edge in enumerate(CARBON_EDGES):
        below, above = math.nextafter(edge, -math.inf), math.nextafter(edge, math.inf)
        got = band(np.array([below, edge, above]), bounds, inclusive).tolist()
        assert got == [names[i], names[i] if inclusive else names[i + 1], names[i + 1]], (edge, got)


# --- scorecard grades ----------------------------------------------------------------------------

SME_SCALE = ["AAA", "AA", "A", "B", "C"]  # DOMAIN.md: the five-grade scale for SMEs, best first


def test_scorecard_grades_follow_the_sme_scale_best_first():
    grades = _model("supplier_rating").grade_floors
    assert [name for name, _ in grades] == SME_SCALE
    lows = [low for _, low in grades]
    assert lows == sorted(lows, reverse=True) and lows[-1] == -math.inf


# Lowest points per grade, pinned from the scaling (600 points at 50:1, PDO 20): AAA at 25:1, then
# every grade one PDO (half the odds) lower; C takes the rest.
SUPPLIER_LOWS = {"AAA": 600 + 20 * math.log2(25 / 50), "AA": 560.0, "A": 540.0, "B": 520.0}


def supplier_grade(points: float) -> str:
    for name, low in SUPPLIER_LOWS.items():  # best first: the first grade whose lowest points are reached
        if points >= low:
            return name
    return "C"


def test_scorecard_grades_at_every_cutoff():
    """A supplier with exactly a grade's lowest points has that grade; a hair less, the next one down."""
    grades = _model("supplier_rating").grade_floors
    cutoffs = list(SUPPLIER_LOWS.values())
    points = np.array(_around(cutoffs) + [-1e6] + [c - 1 for c in cutoffs] + [c + 1 for c in cutoffs])
    assert grade_of(points, grades).tolist() == [supplier_grade(p) for p in points]


def test_equal_bounds_are_refused_not_silently_merged():
    with pytest.raises(ValueError, match="increase"):
        band(np.array([0.7]), {"one": 0.6, "two": 0.6, "three": 1e9})


@pytest.mark.parametrize("inclusive", [False, True])
def test_apply_grades_honours_the_declared_side_of_each_bound(inclusive: bool):
    grade = SimpleNamespace(column="grade", source="k", bounds={"1": 0.6, "2": 0.8, "3": 1e9}, inclusive=inclusive)
    graded = apply_grades(pd.DataFrame({"k": [0.6, 0.8]}), [grade])
    assert graded["grade"].tolist() == (["1", "2"] if inclusive else ["2", "3"])
