"""`datafactory model train` on public tables shaped nothing like the factory's: each scenario's
algorithm family trains, infers column kinds, logs to MLflow and prints holdout metrics and the run id."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine

    folder = tmp_path_factory.mktemp("own-data")
    rng = np.random.default_rng(0)
    cancer = load_breast_cancer(as_frame=True).frame
    cancer["diagnosis"] = np.where(cancer.pop("target") == 0, "malignant", "benign")
    cancer["clinic"] = rng.choice(["north", "south", "east"], len(cancer))  # text: a categorical
    cancer.loc[rng.random(len(cancer)) < 0.05, "mean radius"] = np.nan  # missing values
    cancer.to_csv(folder / "cancer.csv", index=False)
    wine = load_wine(as_frame=True).frame.rename(columns={"target": "cultivar"})
    wine.insert(0, "bottle", [f"B{i:04d}" for i in range(len(wine))])
    wine.to_parquet(folder / "wine.parquet")
    diabetes = load_diabetes(as_frame=True).frame.rename(columns={"target": "progression"})
    diabetes["site"] = rng.choice(["330502", "330503"], len(diabetes))
    diabetes.to_csv(folder / "diabetes.csv", index=False)
    env = {
        "DATAFACTORY_HOME": str(folder / "var"),
        "MLFLOW_TRACKING_URI": f"sqlite:///{folder}/mlflow.db",
        "DATAFACTORY_PSEUDONYM_KEY": "test-key-not-a-secret",
    }
    return folder, env


def _train(workspace, *args: str):
    _, env = workspace
    done = run_cli(["model", "train", *args], env, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    run_ids = re.findall(r"run id: ([0-9a-f]{32})", done.stdout)
    assert run_ids, done.stdout
    return done.stdout, run_ids


def _run(workspace, run_id: str):
    import mlflow
    from mlflow.tracking import MlflowClient

    mlflow.set_tracking_uri(workspace[1]["MLFLOW_TRACKING_URI"])
    return MlflowClient().get_run(run_id)


def test_binary_family_on_a_clinical_table_with_text_and_missing_values(workspace):
    data = workspace[0] / "cancer.csv"
    out, (run_id,) = _train(
        workspace,
        "--scenario",
        "anti_fraud_admission",
        "--data",
        str(data),
        "--target",
        "diagnosis",
        "--positive",
        "malignant",
        "--group",
        "clinic",
    )
    for metric in ("auc", "ks", "pr_auc", "precision_at_cutoff", "recall_at_cutoff"):
        assert metric in out
    run = _run(workspace, run_id)
    assert run.data.metrics["auc"] > 0.9
    assert run.data.params["family"] == "binary" and run.data.params["feature_count"] == "31"
    assert "clinic" in run.data.tags["features"].split(",")  # inferred as a categorical input
    assert "anti_fraud_admission/cancer" in out


def test_ordinal_family_on_wine_ignores_the_id_like_column(workspace):
    data = workspace[0] / "wine.parquet"
    out, (run_id,) = _train(workspace, "--scenario", "underwriting_risk", "--data", str(data), "--target", "cultivar")
    assert "macro_f1" in out and "under_grading_cost" in out
    assert "ignored bottle" in out
    assert _run(workspace, run_id).data.metrics["macro_f1"] > 0.8


def test_scorecard_family_trains_the_card_and_its_challenger(workspace):
    data = workspace[0] / "cancer.csv"
    out, run_ids = _train(
        workspace,
        "--scenario",
        "supplier_rating",
        "--data",
        str(data),
        "--target",
        "diagnosis",
        "--positive",
        "malignant",
        "--register",
        "cancer_scorecard",
    )
    assert len(run_ids) == 2 and "woe_logistic" in out and "lightgbm" in out and "gini" in out
    assert "registered version 1 (champion): no champion yet" in out
    assert _run(workspace, run_ids[0]).data.metrics["auc"] > 0.9


def test_regression_family_on_a_small_numeric_table(workspace):
    data = workspace[0] / "diabetes.csv"
    out, (run_id,) = _train(
        workspace, "--scenario", "carbon_efficiency", "--data", str(data), "--target", "progression", "--group", "site"
    )
    assert all(metric in out for metric in ("mae", "mape", "r2"))
    run = _run(workspace, run_id)
    assert run.data.metrics["r2"] > 0.0
    assert run.data.params["family"] == "regression"


def test_a_wrong_target_is_one_clear_line(workspace):
    folder, env = workspace
    done = run_cli(
        [
            "model",
            "train",
            "--scenario",
            "carbon_efficiency",
            "--data",
            str(folder / "diabetes.csv"),
            "--target",
            "nope",
        ],
        env,
        timeout=300,
    )
    assert done.returncode == 1
    assert "error:" in done.stderr and "no column 'nope'" in done.stderr
    assert "Traceback" not in done.stderr
    assert pd.read_csv(folder / "diabetes.csv").shape == (442, 12)  # the input is untouched
