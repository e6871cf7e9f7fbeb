"""Each scenario, trained through the factory path on the simulator's day-one data, with a real
MLflow tracking store and registry (SQLite): it learns the simulator's signal, promotion works
both ways and is idempotent, runs carry what modellers expect, scoring is reproducible and PSI
is recorded at scoring time."""

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


def _weak(spec, seed: int):
    """The same scenario with a deliberately poor recipe (and a distinct fingerprint per seed)."""
    if spec.algorithm == "woe_logistic":
        params = {**spec.params, "max_bins": 2, "min_iv": 1.5, "C": 0.001 * seed}
    else:
        params = {**spec.params, "num_boost_round": 2, "num_leaves": 2, "seed": seed}
    return spec.model_copy(update={"tuning": None, "challenger": None, "params": params})


@pytest.fixture(scope="module")
def trained(env):
    """Per scenario: weak v1 (first champion), the real recipe (must win), another weak recipe
    (must lose), then the real recipe again (same data and recipe: nothing new)."""
    from datafactory.modeling.pipeline import train_scenario

    snapshot = {"feed": {"partitions": [DAY.isoformat()], "watermark": "2026-11-01T23:59:59"}}
    out = {}
    for name in SCENARIOS:
        spec = _spec(name)
        out[name] = [
            train_scenario(env["settings"], s, DAY, snapshot) for s in (_weak(spec, 1), spec, _weak(spec, 2), spec)
        ]
    return out


def _client(env):
    import mlflow
    from mlflow.tracking import MlflowClient

    mlflow.set_tracking_uri(env["settings"].mlflow_tracking_uri)
    return MlflowClient()


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_model_learns_the_simulators_signal(trained, name):
    metric, floor = SIGNAL[name]
    real = trained[name][1]["candidates"][0]
    weak = trained[name][0]["candidates"][0]
    assert real["metrics"][metric] > floor, real["metrics"]
    assert real["metrics"][metric] > weak["metrics"][metric]


@pytest.mark.parametrize("name", SCENARIOS)
def test_a_better_challenger_is_promoted_and_a_worse_one_keeps_its_reason(env, trained, name):
    client = _client(env)
    first, better, worse, again = trained[name]
    assert first["promoted"] and first["candidates"][0]["reason"] == "no champion yet"
    assert better["promoted"] and "wins" in better["candidates"][0]["reason"]
    rejected = worse["candidates"][0]
    assert not rejected["promoted"] and "does not beat it" in rejected["reason"]
    version = client.get_model_version(name, rejected["version"])
    assert version.tags["promotion_rejected"] == rejected["reason"]
    assert client.get_run(rejected["run_id"]).data.tags["promotion"] == rejected["reason"]
    assert str(client.get_model_version_by_alias(name, "champion").version) == better["version"]
    assert again["reused"] and again["version"] == better["version"]  # idempotent: no new version
    versions = client.search_model_versions(f"name='{name}'")
    assert len(versions) == sum(len(r["candidates"]) for r in (first, better, worse))
    assert all(v.current_stage in ("None", None) for v in versions)  # aliases only, never stages


def test_scorecard_and_its_lightgbm_challenger_share_the_holdout_and_the_scale(trained):
    better = trained["supplier_rating"][1]["candidates"]
    assert [c["algorithm"] for c in better] == ["woe_logistic", "lightgbm"]
    assert all(c["holdout_rows"] == better[0]["holdout_rows"] for c in better)
    challenger = better[1]
    assert f"vs champion v{better[0]['version']}" in challenger["reason"]


@pytest.mark.parametrize("name", SCENARIOS)
def test_runs_carry_what_modellers_expect(env, trained, name):
    import mlflow

    from datafactory.modeling.config import training_config
    from datafactory.modeling.families import family_for

    client = _client(env)
    result = trained[name][1]["candidates"][0]
    run = client.get_run(result["run_id"])
    family = family_for(training_config(_spec(name)))
    assert set(family.metric_names) <= set(run.data.metrics)
    tags = run.data.tags
    assert len(tags["git_commit"]) == 40
    assert tags["snapshot.feed"] == "partitions=2026-11-01..2026-11-01 (1);watermark=2026-11-01T23:59:59"
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    features = json.loads(Path(client.download_artifacts(run.info.run_id, "features.json")).read_text())
    assert tags["features"].split(",") == features["features"]
    assert int(run.data.params["feature_count"]) == len(features["features"])
    assert {"model_card.md", "features.json", "data_snapshot.json"} <= artifacts
    card = Path(client.download_artifacts(run.info.run_id, "model_card.md")).read_text()
    assert "## Metrics on the holdout" in card and "## Fairness by region" in card and "$" not in card
    version = client.get_model_version(name, result["version"])
    assert version.description.startswith(card[:200])
    info = mlflow.models.get_model_info(f"models:/{name}/{result['version']}")
    assert info.signature.inputs.input_names() == features["features"]
    assert info.saved_input_example_info is not None
    experiment = client.get_experiment(run.info.experiment_id)
    assert experiment.name == name


def test_tuning_trials_are_nested_runs_under_one_parent(env, trained):
    client = _client(env)
    parent = trained["anti_fraud_admission"][1]["candidates"][0]["run_id"]
    experiment = client.get_run(parent).info.experiment_id
    children = client.search_runs([experiment], f"tags.mlflow.parentRunId = '{parent}'")
    kinds = sorted(c.data.tags["candidate"] for c in children)
    assert kinds == ["baseline"] + ["tuning_trial"] * 4  # 2 x 2 grid
    assert all("auc" in c.data.metrics for c in children)


def test_fairness_table_has_one_row_per_region(env, trained):
    client = _client(env)
    run_id = trained["carbon_efficiency"][1]["candidates"][0]["run_id"]
    table = pd.read_csv(client.download_artifacts(run_id, "fairness_by_region.csv"), dtype={"group": str})
    assert sorted(table["group"]) == ["330502", "330503", "330521", "330522", "330523"]
    assert {"rows", "mae", "mape", "r2"} <= set(table.columns)
    assert "mape_region_gap" in client.get_run(run_id).data.metrics


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
    reason = result["candidates"][0]["reason"]
    assert result["promoted"] and f"champion v{before} cannot score" in reason and "registered_capital" in reason
