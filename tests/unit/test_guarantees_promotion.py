"""Promotion direction (modeling/metrics.py `better`, modeling/registry.py `decide_promotion`).

A challenger becomes champion only when it beats the champion on the same holdout by more than the
declared margin, in the metric's own direction: higher AUC/KS/F1 wins, lower MAPE/MAE/cost wins. An
equal score never promotes (the incumbent keeps its place; a rerun does not churn the alias).
The registry is a small in-memory stand-in for MLflow's client, with the holdout score injected.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from datafactory.modeling import registry
from datafactory.modeling.metrics import LOWER_IS_BETTER, better
from tests.conftest import REPO

pytestmark = pytest.mark.unit

# Written here independently: which way each metric improves.
LOWER = {"mae", "mape", "rmse", "under_grading_cost", "high_risk_under_graded_rate", "psi"}
HIGHER = {"auc", "ks", "gini", "pr_auc", "precision_at_cutoff", "recall_at_cutoff", "macro_f1", "accuracy", "r2"}
scores = st.floats(0, 10, allow_nan=False)
margins = st.sampled_from([0.0, 0.001, 0.01, 0.5])


def test_the_engine_and_this_test_agree_on_which_metrics_improve_downwards():
    assert set(LOWER_IS_BETTER) == LOWER


def test_every_model_promotes_on_a_metric_with_a_known_direction():
    for path in sorted((REPO / "models").glob("*/model.yaml")):
        metric = yaml.safe_load(path.read_text())["promotion"]["metric"]
        assert metric in LOWER | HIGHER, f"{path}: pin the direction of {metric}"


@settings(max_examples=300, deadline=None)
@given(metric=st.sampled_from(sorted(LOWER | HIGHER)), challenger=scores, incumbent=scores, margin=margins)
def test_better_means_beyond_the_margin_in_the_metric_direction(metric, challenger, incumbent, margin):
    gain = incumbent - challenger if metric in LOWER else challenger - incumbent
    assert better(metric, challenger, incumbent, margin) == (gain > margin)


@pytest.mark.parametrize("metric", sorted(LOWER | HIGHER))
def test_direction_on_hand_picked_scores(metric: str):
    good, bad = (0.10, 0.20) if metric in LOWER else (0.20, 0.10)
    assert better(metric, good, bad, 0.0)
    assert not better(metric, bad, good, 0.0)
    assert not better(metric, good, good, 0.0)  # a tie does not promote
    assert not better(metric, good, bad, 0.1)  # exactly the margin is not more than the margin
    assert better(metric, good, bad, 0.099)


class FakeClient:
    """The part of MlflowClient that promotion touches: aliases and tags, in memory."""

    def __init__(self, champion: str | None = None):
        self.aliases: dict[str, str] = {"champion": champion} if champion else {}
        self.tags: dict[tuple[str, str], str] = {}

    def get_model_version_by_alias(self, name, alias):
        if alias not in self.aliases:
            raise registry.MlflowException(f"no alias {alias}")
        return SimpleNamespace(version=self.aliases[alias])

    def set_registered_model_alias(self, name, alias, version):
        self.aliases[alias] = str(version)

    def delete_registered_model_alias(self, name, alias):
        self.aliases.pop(alias, None)

    def set_model_version_tag(self, name, version, key, value):
        self.tags[str(version), key] = value


def _trained(metric: str, score: float, margin: float = 0.0):
    config = SimpleNamespace(promotion_metric=metric, min_improvement=margin)
    return SimpleNamespace(config=config, metrics={metric: score})


def _decide(monkeypatch, metric: str, challenger: float, champion: float | None, margin: float = 0.0):
    client = FakeClient("1" if champion is not None else None)
    client.aliases["challenger"] = "2"
    monkeypatch.setattr(registry, "holdout_score", lambda name, version, trained: champion)
    decision = registry.decide_promotion(client, "m", "2", _trained(metric, challenger, margin))
    return decision, client


@pytest.mark.parametrize(
    "metric,challenger,champion,margin,promoted",
    [
        ("auc", 0.82, 0.80, 0.0, True),
        ("auc", 0.78, 0.80, 0.0, False),
        ("auc", 0.80, 0.80, 0.0, False),  # equal: the champion stays
        ("auc", 0.805, 0.80, 0.01, False),  # better, but not by the margin
        ("auc", 0.811, 0.80, 0.01, True),
        ("mape", 0.10, 0.12, 0.0, True),  # lower is better
        ("mape", 0.14, 0.12, 0.0, False),
        ("mape", 0.12, 0.12, 0.0, False),
        ("mae", 3.0, 4.0, 0.5, True),
        ("mae", 3.6, 4.0, 0.5, False),
        ("macro_f1", 0.61, 0.60, 0.0, True),
        ("under_grading_cost", 0.9, 1.0, 0.0, True),
    ],
)
def test_the_champion_alias_moves_only_when_the_challenger_wins(
    monkeypatch, metric, challenger, champion, margin, promoted
):
    decision, client = _decide(monkeypatch, metric, challenger, champion, margin)
    assert decision.promoted is promoted
    assert (decision.challenger_score, decision.champion_score) == (challenger, champion)
    if promoted:
        assert client.aliases == {"champion": "2"}  # the challenger alias is consumed
        assert ("2", "promotion") in client.tags and "wins" in decision.reason
    else:
        assert client.aliases == {"champion": "1", "challenger": "2"}
        assert ("2", "promotion_rejected") in client.tags and "does not beat" in decision.reason


def test_the_first_version_becomes_champion_and_a_rerun_changes_nothing(monkeypatch):
    decision, client = _decide(monkeypatch, "auc", 0.7, None)
    assert decision.promoted and decision.reason == "no champion yet" and client.aliases == {"champion": "2"}
    again = registry.decide_promotion(client, "m", "2", _trained("auc", 0.7))
    assert not again.promoted and again.reason == "already champion" and client.aliases == {"champion": "2"}


def test_a_champion_that_cannot_score_the_holdout_is_replaced(monkeypatch):
    client = FakeClient("1")

    def incomparable(name, version, trained):
        raise registry.IncomparableChampionError("needs columns the features no longer have: x")

    monkeypatch.setattr(registry, "holdout_score", incomparable)
    decision = registry.decide_promotion(client, "m", "2", _trained("auc", 0.5))
    assert decision.promoted and decision.champion_score is None and client.aliases["champion"] == "2"
