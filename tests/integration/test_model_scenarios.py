"""Each scenario, trained through the factory path on the simulator's day-one data, with a real
MLflow tracking store and registry (SQLite): it learns the simulator's signal, promotion works
both ways and is idempotent, runs carry what modellers expect, scoring is reproducible and PSI
is recorded at scoring time.

A "weak" session is the same scenario with all features but one weak one carried as passthrough: every
candidate (the baseline included) is weak then, so it must lose to the real recipe."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.integration

DAY = date(2026, 11, 1)
ENTERPRISES = 3000
SCENARIOS = ["anti_fraud_admission", "underwriting_risk", "supplier_rating", "carbon_efficiency"]
# What "learns the signal" means per scenario, on the holdout.
SIGNAL = {
    "anti_fraud_admission": ("auc", 0.70),
    "underwriting_risk": ("macro_f1", 0.45),  # always "standard" would score 0.17
    "supplier_rating": ("auc", 0.70),
    "carbon_efficiency": ("r2", 0.60),
}


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """An isolated factory home with a conformed zone holding the simulator's clean day one."""
    from datafactory.settings import load_settings
    from datafactory.sources.simulator.buildings import building_delivery
    from datafactory.sources.simulator.deliver import Scale
    from datafactory.sources.simulator.enterprise import enterprise_delivery
    from datafactory.sources.simulator.medical import medical_delivery
    from datafactory.sources.simulator.suppliers import supplier_delivery
    from datafactory.zones import Zones, write_parquet_atomic

    home = tmp_path_factory.mktemp("modeling") / "var"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DATAFACTORY_HOME", str(home))
        mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{home}/mlflow.db")
        mp.setenv("DATAFACTORY_PSEUDONYM_KEY", "test-key-not-a-secret")
        settings = load_settings()
        zones = Zones(settings.home)
        scale = Scale(ENTERPRISES)
        tables = {
            **enterprise_delivery(7, scale.enterprises, DAY, 0),
            **supplier_delivery(7, scale.enterprises, DAY, 0),
            **medical_delivery(7, scale.persons, DAY, 0),
            **building_delivery(7, scale.buildings, DAY, 0),
        }
        for name, frame in tables.items():
            write_parquet_atomic(frame, zones.conformed(name, DAY))
        yield {"settings": settings, "zones": zones, "scale": scale}


def _spec(name: str):
    from datafactory.specs import load_models

    return load_models(REPO)[name]


# Two weak features per scenario: session 1 reads the first, session 3 the second.
WEAK = {
    "anti_fraud_admission": ("is_revoked", "penalty_amount_2y"),
    "underwriting_risk": ("copd", "lung_nodule"),
    "supplier_rating": ("complaints", "env_penalty_amount"),
    "carbon_efficiency": ("cdd_12m", "hdd_12m"),
}


def _weak(spec, seed: int, columns: list[str]):
    """The scenario with every feature but one weak one carried as passthrough (never a model input):
    the feature table keeps every column, so the champion can still be scored on the same rows."""
    weak = WEAK[spec.name][seed - 1]
    carried = [c for c in columns if c not in spec.declared_columns and c != weak]
    return spec.model_copy(update={"passthrough": (*spec.passthrough, *carried)})


@pytest.fixture(scope="module")
def trained(env):
    """Per scenario: weak v1 (first champion), the real recipe (must win), another weak session
    (must lose), then the real recipe again (same data and recipe: nothing new)."""
    from datafactory.modeling.features import build_features
    from datafactory.modeling.pipeline import train_scenario

    snapshot = {"feed": {"partitions": [DAY.isoformat()], "watermark": "2026-11-01T23:59:59"}}
    out = {}
    for name in SCENARIOS:
        spec = _spec(name)
        columns = list(build_features(spec, env["zones"], DAY).columns)
        sessions = (_weak(spec, 1, columns), spec, _weak(spec, 2, columns), spec)
        out[name] = [train_scenario(env["settings"], s, DAY, snapshot) for s in sessions]
    return out


def _client(env):
    import mlflow
    from mlflow.tracking import MlflowClient

    mlflow.set_tracking_uri(env["settings"].mlflow_tracking_uri)
    return MlflowClient()


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_model_learns_the_simulators_signal(trained, name):
    metric, floor = SIGNAL[name]
    real, weak = trained[name][1], trained[name][0]
    assert real["metrics"][metric] > floor, real["metrics"]
    assert real["metrics"][metric] > weak["metrics"][metric]


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_candidate_is_compared_and_the_winner_is_registered(env, trained, name):
    client = _client(env)
    real = trained[name][1]
    kinds = [c["kind"] for c in real["candidates"]]
    assert kinds[0] == "primary" and kinds[-1] == "baseline"
    assert any(c["algorithm"] == "lightgbm" for c in real["candidates"])
    (winner,) = [c for c in real["candidates"] if c["winner"]]
    assert winner["name"] == real["winner"] and winner["holdout"] == real["metrics"]
    metric = _spec(name).promotion.metric
    sign = -1 if _spec(name).promotion.lower_is_better else 1
    assert winner["val"][metric] == max((c["val"][metric] for c in real["candidates"]), key=lambda v: sign * v)
    version = client.get_model_version(name, real["version"])
    assert version.tags["candidate"] == real["winner"] and version.run_id == real["run_id"]
    info = mlflow_model_info(name, real["version"])
    assert info.name == real["winner"]  # the logged model carries the candidate's name


def mlflow_model_info(name: str, version: str):
    import mlflow

    return mlflow.models.get_model_info(f"models:/{name}/{version}")


@pytest.mark.parametrize("name", SCENARIOS)
def test_a_better_session_is_promoted_and_a_worse_one_becomes_challenger(env, trained, name):
    client = _client(env)
    first, better, worse, again = trained[name]
    assert first["promoted"] and first["reason"] == "no champion yet"
    assert better["promoted"] and "wins" in better["reason"]
    assert not worse["promoted"] and "does not beat it" in worse["reason"]
    version = client.get_model_version(name, worse["version"])
    assert version.tags["promotion_rejected"] == worse["reason"]
    assert client.get_run(worse["run_id"]).data.tags["promotion"] == worse["reason"]
    assert str(client.get_model_version_by_alias(name, "champion").version) == better["version"]
    # `challenger`: the most recent registered version that did not win.
    assert str(client.get_model_version_by_alias(name, "challenger").version) == worse["version"]
    assert again["reused"] and again["version"] == better["version"] and again["run_id"] == better["run_id"]
    versions = client.search_model_versions(f"name='{name}'")
    assert len(versions) == 3  # one per session that trained: the winner only
    assert all(v.current_stage in ("None", None) for v in versions)  # aliases only, never stages


def test_scorecard_candidates_share_the_holdout_and_the_scale(trained):
    better = trained["supplier_rating"][1]
    assert [c["name"] for c in better["candidates"]] == ["woe_logistic", "lightgbm", "logistic_regression"]
    assert all(set(c["holdout"]) == {"auc", "ks", "gini"} for c in better["candidates"])


@pytest.mark.parametrize("name", SCENARIOS)
def test_runs_carry_what_modellers_expect(env, trained, name):
    import mlflow

    from datafactory.modeling.config import training_config
    from datafactory.modeling.families import family_for

    client = _client(env)
    result = trained[name][1]
    run = client.get_run(result["run_id"])
    family = family_for(training_config(_spec(name)))
    declared = _spec(name).holdout_metrics
    assert {f"holdout_{m}" for m in declared} <= set(run.data.metrics)
    assert {f"val_{m}" for m in declared} <= set(run.data.metrics)
    assert not set(family.metric_names) & set(run.data.metrics)  # no bare names: every metric says its data
    tags = run.data.tags
    assert len(tags["git_commit"]) == 40 and tags["run_kind"] == "training" and tags["winner"] == result["winner"]
    assert tags["snapshot.feed"] == "partitions=2026-11-01..2026-11-01 (1);watermark=2026-11-01T23:59:59"
    contexts = {
        next(t.value for t in i.tags if t.key == "mlflow.data.context"): i.dataset for i in run.inputs.dataset_inputs
    }
    assert {"training", "holdout"} <= set(contexts)
    assert contexts["training"].name == f"{name}-train" and f"features/{name}" in contexts["training"].source
    assert json.loads(contexts["holdout"].profile)["num_rows"] == result["holdout_rows"]
    source = pd.read_parquet(json.loads(contexts["training"].source)["uri"])  # the recorded source is real
    target = training_config(_spec(name)).target
    assert int(source[target].notna().sum()) == result["train_rows"] + result["holdout_rows"]
    assert run.info.end_time - run.info.start_time >= 1000 * result["features_s"]  # opened before the features
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    features = json.loads(Path(client.download_artifacts(run.info.run_id, "features.json")).read_text())
    assert tags["features"].split(",") == features["features"]
    assert int(run.data.params["feature_count"]) == len(features["features"])
    assert {"model_card.md", "features.json", "data_snapshot.json", "candidates.csv"} <= artifacts
    card = Path(client.download_artifacts(run.info.run_id, "model_card.md")).read_text()
    assert "## Metrics on the holdout" in card and "## Fairness by region" in card and "$" not in card
    assert "## Candidates compared" in card and f"`{result['winner']}` has the" in card
    version = client.get_model_version(name, result["version"])
    assert version.description.startswith(card[:200])
    info = mlflow.models.get_model_info(f"models:/{name}/{result['version']}")
    assert info.signature.inputs.input_names() == features["features"]
    assert info.saved_input_example_info is not None
    experiment = client.get_experiment(run.info.experiment_id)
    assert experiment.name == name
    spec = _spec(name)
    assert experiment.tags["mlflow.note.content"].startswith(spec.description)
    assert {k: experiment.tags[k] for k in ("scenario", "owner", "family")} == {
        "scenario": name,
        "owner": spec.owner,
        "family": spec.family,
    }
    registered = client.get_registered_model(name)
    assert registered.description.startswith(spec.description) and "challenger" in registered.description
    assert {k: registered.tags[k] for k in ("scenario", "owner", "family")} == {
        "scenario": name,
        "owner": spec.owner,
        "family": spec.family,
    }


def test_nothing_lands_in_mlflows_default_experiment(env, trained):
    client = _client(env)
    assert client.search_runs(["0"]) == []


def test_candidates_and_tuning_trials_are_nested_runs_with_validation_metrics(env, trained):
    client = _client(env)
    parent = trained["anti_fraud_admission"][1]["run_id"]
    experiment = client.get_run(parent).info.experiment_id
    children = client.search_runs([experiment], f"tags.mlflow.parentRunId = '{parent}'")
    assert sorted(c.data.tags["candidate"] for c in children) == ["lightgbm", "logistic_regression"]
    for child in children:
        assert {"val_auc", "holdout_auc", "val_auc_sd"} <= set(child.data.metrics)
    lightgbm = next(c for c in children if c.data.tags["candidate"] == "lightgbm")
    trials = client.search_runs([experiment], f"tags.mlflow.parentRunId = '{lightgbm.info.run_id}'")
    assert len(trials) == 4  # 2 x 2 grid
    assert all(
        set(t.data.metrics) == {f"val_{m}" for m in _spec("anti_fraud_admission").holdout_metrics} for t in trials
    )


def test_fairness_table_has_one_row_per_region(env, trained):
    client = _client(env)
    run_id = trained["carbon_efficiency"][1]["run_id"]
    table = pd.read_csv(client.download_artifacts(run_id, "fairness_by_region.csv"), dtype={"group": str})
    assert sorted(table["group"]) == ["330502", "330503", "330521", "330522", "330523"]
    assert {"rows", "mae", "mape", "r2"} <= set(table.columns)
    assert "holdout_mape_region_gap" in client.get_run(run_id).data.metrics


@pytest.mark.parametrize("name", SCENARIOS)
def test_scoring_is_reproducible(env, trained, name):
    from datafactory.modeling.features import build_features
    from datafactory.modeling.scoring import champion, predict, score

    _client(env)
    spec = _spec(name)
    features = build_features(spec, env["zones"], DAY)
    ref = champion(name)
    first, second = score(ref, features), score(ref, features)
    assert len(first) == len(features) and np.array_equal(first, second, equal_nan=True)
    outputs = predict(ref, features, spec)
    primary = {"anti_fraud_admission": "probability", "underwriting_risk": "grade_rank"}.get(name)
    primary = primary or {"supplier_rating": "points", "carbon_efficiency": "prediction"}[name]
    assert np.allclose(outputs[primary].to_numpy(dtype=float), first, equal_nan=True)
    expected = {
        "anti_fraud_admission": {"probability"},
        "underwriting_risk": {"grade", "grade_rank"},
        "supplier_rating": {"probability", "points", "grade"},
        "carbon_efficiency": {"prediction", "k_value", "efficiency_grade", "co2_kg"},
    }[name]
    assert expected <= set(outputs.columns)


def test_carbon_k_recovers_the_hidden_building_efficiency(env, trained):
    from datafactory.modeling.features import build_features
    from datafactory.modeling.scoring import champion, predict
    from datafactory.sources.simulator.buildings import initial_buildings

    _client(env)
    spec = _spec("carbon_efficiency")
    features = build_features(spec, env["zones"], DAY)
    graded = features.assign(**predict(champion(spec.name), features, spec)).dropna(subset=["k_value"])
    hidden = initial_buildings(7, env["scale"].buildings)
    truth = graded["building_id"].map(pd.Series(hidden.efficiency, index=hidden.frame["building_id"]))
    assert graded["k_value"].corr(truth, method="spearman") > 0.5
    assert set(graded["efficiency_grade"]) <= {1, 2, 3, 4, 5}
    electricity = graded["electricity_kwh"] * 0.4974  # Huzhou, data year 2026: Zhejiang 2023 factor
    assert np.allclose(graded["co2_electricity_kg"], electricity)


def test_psi_is_logged_at_scoring_time_and_warns_when_the_population_shifts(env, trained):
    from datafactory.modeling.features import build_features
    from datafactory.modeling.monitoring import drift_report_path
    from datafactory.modeling.scoring import champion, score

    client = _client(env)
    name = "anti_fraud_admission"
    features = build_features(_spec(name), env["zones"], DAY)
    ref = champion(name)
    score(ref, features, logical_date=DAY, zones=env["zones"])
    stable = json.loads(drift_report_path(env["zones"], DAY, name).read_text())
    assert stable["scenario"] == name and stable["psi"] < 0.1 and stable["warning"] is False

    shifted_day = date(2026, 11, 2)
    shells = features.assign(
        avg_headcount=0.0, max_headcount=0.0, revenue_6m=0.0, tax_paid_6m=0.0, months_with_revenue=0
    )
    score(ref, shells, logical_date=shifted_day, zones=env["zones"])
    report = json.loads(drift_report_path(env["zones"], shifted_day, name).read_text())
    assert report["psi"] > 0.25 and report["warning"] is True and "shifted" in report["message"]
    history = client.get_metric_history(ref.run_id, "psi")
    assert sorted(m.step for m in history) == [20261101, 20261102]
    assert "PSI" in client.get_run(ref.run_id).data.tags["psi_warning"]
    assert "psi_warning" in client.get_model_version(name, ref.version).tags

    score(ref, shells, logical_date=shifted_day, zones=env["zones"])  # a rerun adds no point
    assert len(client.get_metric_history(ref.run_id, "psi")) == 2


def test_a_champion_that_cannot_score_the_new_features_is_replaced_with_the_reason(env, trained, tmp_path):
    from datafactory.modeling.pipeline import train_scenario

    client = _client(env)
    spec = _spec("anti_fraud_admission")
    folder = tmp_path / spec.name
    folder.mkdir()
    sql = (spec.folder / "features.sql").read_text().replace("    reg.registered_capital,\n", "")
    (folder / "features.sql").write_text(sql)
    narrower = spec.located(folder)  # no card.md there: the default template
    before = client.get_model_version_by_alias(spec.name, "champion").version
    result = train_scenario(env["settings"], narrower, DAY, {})
    reason = result["reason"]
    assert result["promoted"] and f"champion v{before} cannot score" in reason and "registered_capital" in reason
