"""Scorecard pieces: monotonic WoE binning, points scaling (base/odds/PDO), grades, the fitted card."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from datafactory.modeling.families.scorecard import Scaling, fit_woe_scorecard, grade_of
from datafactory.modeling.woe import BinningRules, fit_categorical, fit_numeric
from datafactory.specs.model import ScorecardOptions

pytestmark = pytest.mark.unit


def grades_from(grades: dict) -> list[tuple[str, float]]:
    scaling = {"base_points": 600, "base_odds": 50, "pdo": 20}
    return ScorecardOptions.model_validate({"scaling": scaling, "grades": grades}).grade_floors


GRADES = grades_from({"AAA": 640, "AA": 620, "A": 600, "B": 560, "C": None})


def _risky(n: int = 5000, seed: int = 1):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(-2 + 1.5 * x)))).astype(int)
    return x, y


def test_numeric_bins_have_monotonic_bad_rates_and_enough_rows():
    x, y = _risky()
    rules = BinningRules(max_bins=6, min_bin_share=0.05)
    binning = fit_numeric("x", pd.Series(x), y, rules)
    rates = np.array(binning.bads) / np.array(binning.counts)
    assert binning.trend == "increasing"
    assert np.all(np.diff(rates) > 0)
    assert 2 <= len(binning.counts) <= rules.max_bins
    assert min(binning.counts) >= rules.min_bin_share * len(x)
    assert np.all(np.diff(binning.woe) < 0)  # riskier bins carry lower (more negative) WoE
    assert binning.iv > 0.3


def test_missing_values_get_their_own_woe_and_unseen_levels_fall_into_other():
    x, y = _risky()
    values = pd.Series(x)
    values[:400] = np.nan
    binning = fit_numeric("x", values, y, BinningRules())
    assert binning.missing_count == 400
    assert binning.transform(pd.Series([np.nan]))[0] == pytest.approx(binning.missing_woe)
    levels = pd.Series(np.where(y == 1, "risky", "safe"))
    categorical = fit_categorical("kind", levels, y, BinningRules())
    assert categorical.transform(pd.Series(["never seen"]))[0] == categorical.woe[categorical.levels["(other)"]]
    assert categorical.transform(pd.Series(["risky"]))[0] < categorical.transform(pd.Series(["safe"]))[0]


def test_scaling_puts_the_base_points_at_the_base_odds_and_pdo_doubles_them():
    scaling = Scaling(base_points=600, base_odds=50, pdo=20)
    logit_bad_at_50_to_1 = math.log(1 / 50)
    logit_bad_at_100_to_1 = math.log(1 / 100)
    assert scaling.points(np.array([logit_bad_at_50_to_1]))[0] == pytest.approx(600)
    assert scaling.points(np.array([logit_bad_at_100_to_1]))[0] == pytest.approx(620)
    assert scaling.factor == pytest.approx(20 / math.log(2))


def test_grades_take_the_lowest_points_each_needs():
    points = np.array([700, 640, 639, 620, 600, 599, 560, 559, -50])
    assert grade_of(points, GRADES).tolist() == ["AAA", "AAA", "AA", "AA", "A", "B", "B", "C", "C"]


def test_grades_must_be_ordered_and_end_with_a_catch_all():
    with pytest.raises(ValidationError, match="fall from best to worst"):
        grades_from({"AAA": 600, "AA": 620, "C": None})
    with pytest.raises(ValidationError, match="null"):
        grades_from({"AAA": 640, "AA": 620})


def test_fitted_scorecard_points_add_up_and_rank_risk():
    x, y = _risky()
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"x": x, "noise": rng.normal(size=len(x))})
    card = fit_woe_scorecard(frame, y, {"min_iv": 0.02}, Scaling(600, 50, 20), GRADES)
    assert [b.feature for b in card.binnings] == ["x"]  # the noise column has no information value
    table = card.table()
    assert {"feature", "bin", "woe", "points"} <= set(table.columns)
    outputs = card.predict_outputs(frame)
    by_hand = np.zeros(len(frame))
    for binning, points in zip(card.binnings, card.attribute_points(), strict=True):
        by_hand += points[binning.bin_index(frame[binning.feature])]
    assert (outputs["points"].to_numpy() == by_hand).all()
    assert outputs.loc[y == 0, "points"].mean() > outputs.loc[y == 1, "points"].mean()
    assert set(outputs["grade"]) <= {"AAA", "AA", "A", "B", "C"}
