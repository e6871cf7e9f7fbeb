"""What the trainer leaves in MLflow, read back through MLflow's own client from a SQLite tracking
store: datasets logged per run, metric names that say their data, descriptions and tags on the
experiment and the registered model, and aliases that mean what the README says over two days
where the second day's model loses.

The table is a real one (scikit-learn's diabetes progression, 442 patients) trained with the
regression family; day two keeps day one's patients and holdout but scrambles the outcomes on the
training side, so whatever wins that day cannot beat the champion on the shared holdout.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.integration

SCENARIO, TARGET, MODEL = "carbon_efficiency", "progression", "diabetes_progression"


def _table() -> pd.DataFrame:
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True).frame.rename(columns={"target": TARGET})
    frame.insert(0, "patient_id", [f"P{i:04d}" for i in range(len(frame))])
    return frame


@pytest.fixture(scope="module")
def days(tmp_path_factory):
    """Day one trains and becomes champion; day two (scrambled training outcomes) loses; day one again
    is recognised and reuses its run."""
    from datafactory.modeling.config import training_config
    from datafactory.modeling.pipeline import train_table
    from datafactory.modeling.train import prepare
    from datafactory.settings import load_settings
    from datafactory.specs import load_models

    root = tmp_path_factory.mktemp("mlflow-store")
    elsewhere, cwd = tmp_path_factory.mktemp("elsewhere"), tmp_path_factory.mktemp("cwd")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DATAFACTORY_HOME", str(root / "var"))
        mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root}/mlflow.db")
        mp.setenv("DATAFACTORY_PSEUDONYM_KEY", "test-key-not-a-secret")
        # The store is first opened by a plain MLflow client in another folder, as `mlflow ui` or a
        # notebook would: MLflow then creates its Default experiment there (./mlruns of that folder).
        mp.chdir(elsewhere)
        _open_store(f"sqlite:///{root}/mlflow.db")
        mp.chdir(cwd)  # the trainer runs from a third folder
        settings = load_settings()
        spec = load_models(REPO)[SCENARIO]
        first = _table()
        prepared = prepare(first, training_config(spec).with_data(TARGET, "patient_id", None))
        holdout = first["patient_id"].isin(prepared.data.loc[prepared.test, "patient_id"]).to_numpy()
        second = first.copy()
        scrambled = np.random.default_rng(1).permutation(second.loc[~holdout, TARGET].to_numpy())
        second.loc[~holdout, TARGET] = scrambled
        out = []
        for day, frame in (("day1", first), ("day2", second), ("day1", first)):
            folder = root / day
            folder.mkdir(exist_ok=True)
            path = folder / "diabetes.csv"
            frame.to_csv(path, index=False)
            out.append(train_table(settings, spec, path, TARGET, id_column="patient_id", register_as=MODEL))
        yield {"settings": settings, "results": out, "holdout": holdout, "cwd": cwd, "elsewhere": elsewhere}


def _open_store(uri: str) -> None:
    import mlflow
    from mlflow.tracking import MlflowClient

    mlflow.set_tracking_uri(uri)
    default = MlflowClient().get_experiment("0")
    assert "elsewhere" in default.artifact_location  # MLflow's own choice: outside the factory's home


@pytest.fixture
def client(days):
    import mlflow
    from mlflow.tracking import MlflowClient

    mlflow.set_tracking_uri(days["settings"].mlflow_tracking_uri)
    return MlflowClient()


def test_train_and_holdout_frames_are_logged_as_datasets(days, client):
    day1 = days["results"][0]
    run = client.get_run(day1["run_id"])
    inputs = {
        next(t.value for t in i.tags if t.key == "mlflow.data.context"): i.dataset for i in run.inputs.dataset_inputs
    }
    assert set(inputs) == {"training", "holdout"}
    for context, rows in (("training", day1["train_rows"]), ("holdout", day1["holdout_rows"])):
        record = inputs[context]
        assert json.loads(record.profile)["num_rows"] == rows
        assert json.loads(record.source)["uri"].endswith("day1/diabetes.csv")  # the snapshot it came from
        columns = {c["name"] for c in json.loads(record.schema)["mlflow_colspec"]}
        assert TARGET in columns and set(day1["features"]) <= columns
    assert inputs["training"].digest != inputs["holdout"].digest
    assert day1["holdout_rows"] == int(days["holdout"].sum())


def test_the_logged_model_pins_what_it_needs_and_mlflow_still_checks_the_environment(days, client):
    """The model's requirements are the installed versions of what it imports (read back through
    MLflow); the shortcut that spares MLflow's scan of every installed distribution is undone after
    logging, and inside it MLflow's mismatch check still fires."""
    from importlib.metadata import version

    import mlflow
    from mlflow.utils import requirements_utils

    from datafactory.modeling.tracking import _requirements_map_for_our_packages

    run_id = days["results"][0]["run_id"]
    model_uri = client.get_model_version(MODEL, days["results"][0]["version"]).source
    pinned = Path(mlflow.pyfunc.get_model_dependencies(model_uri)).read_text().split()
    for package in ("lightgbm", "scikit-learn", "pandas", "mlflow"):
        assert f"{package}=={version(package)}" in pinned, (run_id, pinned)
    assert requirements_utils._MODULES_TO_PACKAGES is None or "numpy" in requirements_utils._MODULES_TO_PACKAGES
    requirements_utils._MODULES_TO_PACKAGES = None
    with _requirements_map_for_our_packages(), pytest.MonkeyPatch.context() as mp:
        said: list[str] = []
        mp.setattr(requirements_utils._logger, "warning", lambda msg, *a: said.append(msg % a if a else msg))
        requirements_utils.warn_dependency_requirement_mismatches(["pandas==0.0.1", f"lightgbm=={version('lightgbm')}"])
    assert len(said) == 1 and "pandas (current: " in said[0] and "lightgbm" not in said[0]
    assert requirements_utils._MODULES_TO_PACKAGES is None


def test_metric_names_say_which_data_they_were_measured_on(days, client):
    run = client.get_run(days["results"][0]["run_id"])
    names = set(run.data.metrics)
    assert all(n.startswith(("val_", "holdout_", "champion_holdout_")) for n in names), names
    validation = {n.removeprefix("val_") for n in names if n.startswith("val_") and not n.endswith("_sd")}
    holdout = {n.removeprefix("holdout_") for n in names if n.startswith("holdout_")}
    assert validation == holdout == {"mae", "mape", "r2"}
    children = client.search_runs([run.info.experiment_id], f"tags.mlflow.parentRunId = '{run.info.run_id}'")
    assert {c.data.tags["candidate"] for c in children} == {"lightgbm", "ridge"}
    for child in children:
        assert {"val_mape", "holdout_mape"} <= set(child.data.metrics)
        trials = client.search_runs([run.info.experiment_id], f"tags.mlflow.parentRunId = '{child.info.run_id}'")
        assert all(not {m for m in t.data.metrics if not m.startswith("val_")} for t in trials)


def test_experiment_and_registered_model_carry_descriptions_and_tags(days, client):
    day1 = days["results"][0]
    experiment = client.get_experiment_by_name(day1["experiment"])
    assert day1["experiment"] == f"{SCENARIO}/diabetes"
    description = experiment.tags["mlflow.note.content"]
    assert "`progression`" in description and "diabetes.csv" in description
    for tags in (experiment.tags, client.get_registered_model(MODEL).tags):
        assert tags["scenario"] == SCENARIO and tags["family"] == "regression" and tags["owner"]
    registered = client.get_registered_model(MODEL)
    assert "`progression`" in registered.description and "challenger" in registered.description
    assert client.search_runs(["0"]) == []  # never MLflow's Default experiment


def test_an_own_data_card_describes_the_table_not_the_scenario(days, client):
    from datafactory.specs import load_models

    scenario_text = load_models(REPO)[SCENARIO].description
    card = client.get_model_version(MODEL, days["results"][0]["version"]).description
    assert scenario_text not in card
    assert "Predicts `progression` in the modeller's table `diabetes.csv` (442 rows" in card
    assert "## Candidates compared" in card and "ridge" in card and "lightgbm" in card
    assert "stay together" not in card and "CRC-32 of `patient_id`" in card


def test_aliases_mean_what_the_readme_says_after_a_losing_day(days, client):
    day1, day2, rerun = days["results"]
    readme = (REPO / "README.md").read_text()
    assert "`challenger` is the most recent registered version that did not win" in readme
    assert "`champion` is the version the products are scored with" in readme
    assert day1["promoted"] and day1["alias"] == "champion"
    assert not day2["promoted"] and "does not beat it" in day2["reason"]
    champion = client.get_model_version_by_alias(MODEL, "champion")
    challenger = client.get_model_version_by_alias(MODEL, "challenger")
    assert str(champion.version) == day1["version"]  # unchanged by the losing day
    assert str(challenger.version) == day2["version"]  # the loser, not some other candidate
    assert challenger.tags["promotion_rejected"] == day2["reason"]
    assert rerun["reused"] and rerun["run_id"] == day1["run_id"] and rerun["version"] == day1["version"]
    assert len(client.search_model_versions(f"name='{MODEL}'")) == 2


def test_every_experiment_keeps_its_artifacts_in_the_home_and_default_stays_empty(days, client):
    from mlflow.entities import ViewType
    from mlflow.utils.file_utils import local_file_uri_to_path

    home = days["settings"].home

    def inside(uri: str) -> bool:
        return Path(local_file_uri_to_path(uri)).resolve().is_relative_to(home)

    experiments = client.search_experiments(view_type=ViewType.ALL)
    assert {e.name for e in experiments} == {"Default", f"{SCENARIO}/diabetes"}
    for experiment in experiments:
        assert inside(experiment.artifact_location), (experiment.name, experiment.artifact_location)
    assert client.search_runs(["0"], run_view_type=ViewType.ALL) == []  # nothing ever logged to Default
    runs = client.search_runs([e.experiment_id for e in experiments], run_view_type=ViewType.ALL)
    assert runs and all(inside(r.info.artifact_uri) for r in runs)
    assert all(inside(v.source) or v.source.startswith("models:/") for v in client.search_model_versions())
    assert list(days["cwd"].iterdir()) == [] and list(days["elsewhere"].iterdir()) == []  # no ./mlruns anywhere
