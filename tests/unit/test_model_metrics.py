"""Metric functions: names, directions, costs, PSI and the no-signal permutation test, on small
hand-checked arrays and against scipy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datafactory.modeling.drift import reference_from
from datafactory.modeling.metrics import (
    better,
    binary_metrics,
    grading_cost_matrix,
    least_p_value,
    ordinal_metrics,
    psi,
    rank_auc,
    regression_metrics,
    shuffled_outputs_p_value,
)

pytestmark = pytest.mark.unit


def test_binary_metrics_on_a_perfect_ranking():
    y = np.array([0, 0, 1, 1])
    m = binary_metrics(y, np.array([0.1, 0.2, 0.8, 0.9]), cutoff=0.5)
    assert m == {"auc": 1.0, "ks": 1.0, "gini": 1.0, "pr_auc": 1.0, "precision_at_cutoff": 1.0, "recall_at_cutoff": 1.0}


def test_precision_and_recall_at_the_cutoff():
    y = np.array([0, 1, 1, 0, 1])
    m = binary_metrics(y, np.array([0.6, 0.7, 0.2, 0.1, 0.9]), cutoff=0.5)
    assert m["precision_at_cutoff"] == pytest.approx(2 / 3)
    assert m["recall_at_cutoff"] == pytest.approx(2 / 3)


def test_direction_of_improvement_depends_on_the_metric():
    assert better("auc", 0.81, 0.80, 0.0) and not better("auc", 0.80, 0.80, 0.0)
    assert better("mape", 0.10, 0.12, 0.01) and not better("mape", 0.115, 0.12, 0.01)
    assert not better("auc", 0.805, 0.80, 0.01)


def test_under_grading_costs_more_than_over_grading():
    costs = grading_cost_matrix(3, under_per_step=4, over_per_step=1)
    assert costs.tolist() == [[0, 1, 2], [4, 0, 1], [8, 4, 0]]


def test_ordinal_metrics_count_high_risk_applicants_graded_too_low():
    y = np.array([0, 1, 3, 4, 4])
    predicted = np.array([0, 1, 1, 4, 2])  # one postpone graded rated, one decline graded exclusion
    m = ordinal_metrics(y, predicted, n_classes=5, under_per_step=4, high_risk_from=3)
    assert m["accuracy"] == pytest.approx(0.6)
    assert m["high_risk_under_graded_rate"] == pytest.approx(2 / 3)
    assert m["under_grading_cost"] == pytest.approx((2 * 4 + 2 * 4) / 5)


def test_regression_metrics():
    m = regression_metrics(np.array([100.0, 200.0]), np.array([110.0, 180.0]))
    assert m["mae"] == pytest.approx(15.0)
    assert m["mape"] == pytest.approx(0.1)
    assert m["r2"] == pytest.approx(1 - (100 + 400) / 5_000)


def test_psi_is_zero_for_the_same_population_and_large_for_a_shift():
    rng = np.random.default_rng(0)
    training = rng.normal(0, 1, 20_000)
    reference = reference_from("probability", training, discrete=False)
    assert reference.psi(rng.normal(0, 1, 20_000)) < 0.01
    assert reference.psi(rng.normal(1.0, 1, 20_000)) > 0.25
    assert psi(np.array([0.5, 0.5]), np.array([0.5, 0.5])) == 0.0


def test_psi_over_discrete_grades():
    reference = reference_from("grade_rank", np.array([0, 0, 1, 1, 2, 2, 3, 4]), discrete=True)
    assert reference.psi(np.array([0, 0, 1, 1, 2, 2, 3, 4])) == pytest.approx(0.0)
    assert reference.psi(np.array([4, 4, 4, 4, 4, 4, 3, 3])) > 0.25


def test_small_reference_populations_get_fewer_bins():
    rng = np.random.default_rng(1)
    assert len(reference_from("points", rng.normal(size=120), discrete=False).shares) == 2
    assert len(reference_from("points", rng.normal(size=100_000), discrete=False).shares) == 10


def test_rank_auc_is_roc_auc_with_ties_and_one_class_is_a_coin():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(5)
    y = (rng.random(3000) < 0.2).astype(int)
    score = np.round(rng.random(3000) + 0.3 * y, 2)  # rounded: many ties
    assert rank_auc(y, score) == pytest.approx(roc_auc_score(y, score), abs=1e-12)
    assert rank_auc(y, -score) == pytest.approx(1 - roc_auc_score(y, score), abs=1e-12)
    assert rank_auc(np.zeros(5), np.arange(5.0)) == 0.5


# Differential: one sort gives what sklearn's three sorts give, on real-looking scores (ties, repeated
# probabilities from a scorecard's points, constant scores) in any row order.
_scores = st.one_of(
    st.lists(st.floats(0, 1, allow_nan=False), min_size=2, max_size=300),
    st.lists(st.sampled_from([0.1, 0.25, 0.5, 0.75, 0.9]), min_size=2, max_size=300),  # heavy ties
    st.lists(st.integers(300, 320).map(float), min_size=2, max_size=300),  # points, not probabilities
)


@settings(max_examples=300, deadline=None)
@given(scores=_scores, data=st.data())
def test_one_sort_curve_metrics_equal_sklearn(scores, data):
    from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

    n = len(scores)
    y = np.array(data.draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    score = np.array(scores)
    if y.min() == y.max():
        with pytest.raises(ValueError):
            binary_metrics(y, score, cutoff=0.5)
        return
    fpr, tpr, _ = roc_curve(y, score)
    ours = binary_metrics(y, score, cutoff=0.5)
    assert ours["auc"] == pytest.approx(roc_auc_score(y, score), abs=1e-12)
    assert ours["ks"] == pytest.approx(np.max(tpr - fpr), abs=1e-12)
    assert ours["pr_auc"] == pytest.approx(average_precision_score(y, score), abs=1e-12)
    assert ours["gini"] == pytest.approx(2 * ours["auc"] - 1, abs=1e-12)
    shuffled = data.draw(st.permutations(range(n)))
    again = binary_metrics(y[shuffled], score[shuffled], cutoff=0.5)
    assert again == pytest.approx(ours, abs=1e-12)


def test_ties_between_classes_count_half_and_a_missing_or_infinite_score_is_refused():
    y = np.array([0, 1, 0, 1])
    m = binary_metrics(y, np.array([0.5, 0.5, 0.5, 0.5]), cutoff=0.5)
    assert m["auc"] == 0.5 and m["ks"] == 0.0 and m["pr_auc"] == 0.5
    with pytest.raises(ValueError):
        binary_metrics(y, np.array([0.1, np.nan, 0.3, 0.4]), cutoff=0.5)
    with pytest.raises(ValueError):  # sklearn refuses infinity too; ties of inf would be read as distinct
        binary_metrics(y, np.array([np.inf, np.inf, -np.inf, 0.4]), cutoff=0.5)


def _auc_of(y: np.ndarray, outputs: pd.DataFrame) -> float:
    return rank_auc(y, outputs["probability"].to_numpy())


def test_outputs_that_rank_every_case_right_have_the_smallest_p_and_a_constant_has_p_one():
    y = np.array([0, 1] * 50)
    perfect = pd.DataFrame({"probability": y * 0.8 + 0.1})
    assert shuffled_outputs_p_value(y, perfect, _auc_of, lower_is_better=False) == pytest.approx(1 / 100)
    constant = pd.DataFrame({"probability": np.full(len(y), 0.3)})  # every shuffle scores the same
    assert shuffled_outputs_p_value(y, constant, _auc_of, lower_is_better=False) == 1.0


def test_a_lower_is_better_metric_is_read_in_its_own_direction():
    rng = np.random.default_rng(1)
    y = rng.normal(100, 20, 400)
    good = pd.DataFrame({"prediction": y + rng.normal(0, 2, len(y))})

    def mae(truth: np.ndarray, outputs: pd.DataFrame) -> float:
        return float(np.mean(np.abs(truth - outputs["prediction"].to_numpy())))

    assert shuffled_outputs_p_value(y, good, mae, lower_is_better=True) == pytest.approx(1 / 100)
    assert shuffled_outputs_p_value(y, good, mae, lower_is_better=False) == 1.0  # read backwards: never better


@settings(max_examples=12, deadline=None)
@given(
    y=st.lists(st.integers(0, 1), min_size=6, max_size=6).filter(lambda v: 0 < sum(v) < 6),
    scores=st.lists(st.sampled_from([0.1, 0.4, 0.7, 0.9]), min_size=6, max_size=6),
)
def test_the_p_value_agrees_with_scipys_exact_permutation_test(y, scores):
    """Six rows have 720 pairings: scipy enumerates them all; the engine samples 2,000 shuffles."""
    from scipy.stats import permutation_test

    truth, shown = np.array(y), np.array(scores)
    exact = permutation_test(
        (shown,), lambda s: rank_auc(truth, s), permutation_type="pairings", alternative="greater", n_resamples=10_000
    ).pvalue
    sampled = shuffled_outputs_p_value(truth, pd.DataFrame({"probability": shown}), _auc_of, False, rounds=2000)
    assert sampled == pytest.approx(exact, abs=0.04)  # 3.5 standard errors of 2,000 shuffles


@settings(max_examples=25, deadline=None)
@given(y=st.lists(st.sampled_from([0, 1, 2, 3.5]), min_size=2, max_size=7))
def test_the_least_p_is_one_shuffle_in_the_labels_distinct_arrangements(y):
    """An independent count: itertools enumerates every ordering of the labels and keeps the distinct ones."""
    from itertools import permutations

    truth = np.array(y)
    arrangements = len(set(permutations(y)))
    assert least_p_value(truth) == pytest.approx((1 + 99 / arrangements) / 100)
    assert least_p_value(truth, rounds=9) == pytest.approx((1 + 9 / arrangements) / 10)


@pytest.mark.parametrize(("rows", "bad"), [(10, 1), (12, 2), (8, 4)])
def test_a_perfect_model_gets_the_least_p_on_average(rows, bad):
    """The engine's own shuffles, on perfect outputs, land on the least p the arrangements predict."""
    y = np.r_[np.ones(bad), np.zeros(rows - bad)].astype(int)
    perfect = pd.DataFrame({"probability": y.astype(float)})
    found = np.mean([shuffled_outputs_p_value(y, perfect, _auc_of, False, rounds=400, seed=s) for s in range(10)])
    assert found == pytest.approx(least_p_value(y, rounds=400), abs=0.02)


def test_a_holdout_too_small_to_show_signal_says_so_and_not_that_the_columns_fail():
    """1 malignant tumour among 10 holdout rows: a perfect ranking has p = 0.1. That is the holdout's
    size; "the columns do not predict the target" would send the modeller after the wrong problem."""
    from datafactory.modeling.train import signal_warning

    y = np.r_[1, np.zeros(9)].astype(int)
    perfect = pd.DataFrame({"probability": y.astype(float)})
    (said,) = signal_warning(y, perfect, _auc_of, "auc", 1.0, "diagnosis")
    assert said.startswith(
        "too few holdout rows to test for signal: even a perfect model would have permutation p of about 0."
    )
    rng = np.random.default_rng(5)
    y = (rng.random(80) < 0.3).astype(int)
    noise = pd.DataFrame({"probability": rng.random(80)})
    (said,) = signal_warning(y, noise, _auc_of, "auc", _auc_of(y, noise), "diagnosis")
    assert said.startswith("no signal found: the winner's holdout_auc")
    assert signal_warning(y, pd.DataFrame({"probability": y + rng.random(80)}), _auc_of, "auc", 1.0, "diagnosis") == []
