"""`datafactory model train|compare` on public tables shaped nothing like the factory's: each scenario's
family trains its candidates, infers column kinds, excludes identifiers, logs to MLflow and prints the
comparison and the run id; input errors are one line and come before the heavy imports; a rerun of
`--register` reuses its run."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

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
    # MLflow's bookkeeping (INFO lines, notes on deliberate choices, "already exists") stays out of the terminal
    chatter = [line for line in done.stderr.splitlines() if re.search(r"INFO|WARNING|Warning|already exists", line)]
    assert not chatter, chatter
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
    )
    for metric in ("holdout_auc", "holdout_ks", "holdout_pr_auc", "holdout_precision_at_cutoff"):
        assert metric in out
    assert "lightgbm" in out and "logistic_regression" in out and "winner" in out and "val_auc" in out
    run = _run(workspace, run_id)
    assert run.data.metrics["holdout_auc"] > 0.9 and run.data.metrics["val_auc"] > 0.9
    assert run.data.params["family"] == "binary" and run.data.params["feature_count"] == "31"
    assert "clinic" in run.data.tags["features"].split(",")  # inferred as a categorical input
    assert "anti_fraud_admission/cancer" in out


def test_ordinal_family_on_wine_ignores_the_id_like_column(workspace):
    data = workspace[0] / "wine.parquet"
    out, (run_id,) = _train(workspace, "--scenario", "underwriting_risk", "--data", str(data), "--target", "cultivar")
    assert "holdout_macro_f1" in out and "holdout_under_grading_cost" in out
    assert "excluded bottle: an identifier" in out
    assert _run(workspace, run_id).data.metrics["holdout_macro_f1"] > 0.8


def test_ordinal_classes_written_as_words_keep_their_risk_order(workspace):
    """低风险/中风险/高风险 sorted as text is 中 < 低 < 高; the trainer grades in the scale's order, says
    so, and takes `--classes` when the modeller's order is another."""
    frame = pd.read_parquet(workspace[0] / "wine.parquet")
    frame["risk"] = np.array(["低风险", "中风险", "高风险"])[frame.pop("cultivar")]
    data = workspace[0] / "wine_risk.csv"
    frame.to_csv(data, index=False)
    args = ["--scenario", "underwriting_risk", "--data", str(data), "--target", "risk"]
    out, (run_id,) = _train(workspace, *args)
    assert "classes, least to most risky: 低风险 < 中风险 < 高风险 (the level scale)" in out
    from mlflow.tracking import MlflowClient

    experiment = MlflowClient().get_experiment(_run(workspace, run_id).info.experiment_id)
    assert "低风险 < 中风险 < 高风险" in experiment.tags["mlflow.note.content"]
    assert "--classes leaves out 低风险" in _fails(workspace, *args, "--classes", "高风险,中风险")
    binary = ["--scenario", "anti_fraud_admission", "--data", str(workspace[0] / "cancer.csv")]
    assert "--classes is for ordinal targets" in _fails(
        workspace, *binary, "--target", "diagnosis", "--positive", "malignant", "--classes", "benign,malignant"
    )


def test_scorecard_family_compares_its_candidates_and_a_rerun_reuses_the_run(workspace):
    data = workspace[0] / "cancer.csv"
    args = ["--scenario", "supplier_rating", "--data", str(data), "--target", "diagnosis"]
    out, (run_id,) = _train(workspace, *args, "--positive", "malignant", "--register", "cancer_scorecard")
    assert "woe_logistic" in out and "lightgbm" in out and "logistic_regression" in out and "holdout_gini" in out
    assert "registered version 1 (champion): no champion yet" in out
    assert "coding looks inverted" not in out
    assert _run(workspace, run_id).data.metrics["holdout_auc"] > 0.9
    again, (same,) = _train(workspace, *args, "--positive", "malignant", "--register", "cancer_scorecard")
    assert same == run_id and f"reused run {run_id}" in again and "version 1" in again
    resorted = workspace[0] / "resorted" / "cancer.csv"  # the same rows, exported sorted by the outcome
    resorted.parent.mkdir(exist_ok=True)
    pd.read_csv(data).sort_values(["diagnosis", "mean radius"]).to_csv(resorted, index=False)
    args_resorted = ["--scenario", "supplier_rating", "--data", str(resorted), "--target", "diagnosis"]
    reexport, (reused,) = _train(workspace, *args_resorted, "--positive", "malignant", "--register", "cancer_scorecard")
    assert reused == run_id and f"reused run {run_id}" in reexport
    inverted, _ = _train(workspace, *args, "--positive", "benign")  # benign is 63% of the tumours
    assert "warning: coding looks inverted" in inverted


def test_an_excel_true_false_outcome_with_pending_rows_is_read_as_the_modeller_types_it(workspace):
    """Excel writes a yes/no column as TRUE/FALSE (pandas reads booleans), and cases still open have no
    outcome yet. `--positive TRUE` names the booleans' True, and the open cases are said, not lost."""
    frame = pd.read_csv(workspace[0] / "cancer.csv")
    frame["malignant"] = np.where(frame.pop("diagnosis") == "malignant", "TRUE", "FALSE")
    frame.loc[frame.index % 25 == 0, "malignant"] = ""  # 23 cases awaiting pathology
    data = workspace[0] / "pathology.csv"
    frame.to_csv(data, index=False)
    args = ["--scenario", "anti_fraud_admission", "--data", str(data), "--target", "malignant"]
    out, (run_id,) = _train(workspace, *args, "--positive", "TRUE")
    assert "read pathology.csv: 23 of 569 rows have no 'malignant' value: left out of training and holdout" in out
    train_rows, holdout_rows = map(int, re.search(r"rows: (\d+) train, (\d+) holdout", out).groups())
    assert train_rows + holdout_rows == 569 - 23
    from mlflow.tracking import MlflowClient

    run = _run(workspace, run_id)
    experiment = MlflowClient().get_experiment(run.info.experiment_id)
    assert "`True` is the positive (bad) label" in experiment.tags["mlflow.note.content"]
    assert run.data.metrics["holdout_auc"] > 0.9  # True is malignant: the coding is not inverted


def test_regression_family_on_a_small_numeric_table(workspace):
    data = workspace[0] / "diabetes.csv"
    out, (run_id,) = _train(
        workspace, "--scenario", "carbon_efficiency", "--data", str(data), "--target", "progression"
    )
    assert all(metric in out for metric in ("mae", "mape", "r2"))
    run = _run(workspace, run_id)
    assert run.data.metrics["holdout_r2"] > 0.0
    assert run.data.params["family"] == "regression" and run.data.tags["winner"] in ("lightgbm", "ridge")
    # The amount to predict as an office export writes it ("¥1,234.00"): read as numbers, the same model.
    as_text = workspace[0] / "diabetes_text.csv"
    frame = pd.read_csv(data)
    frame["progression"] = [f"¥{v:,.2f}" for v in frame["progression"]]
    frame.to_csv(as_text, index=False)
    text_out, (text_run,) = _train(
        workspace, "--scenario", "carbon_efficiency", "--data", str(as_text), "--target", "progression"
    )
    assert "read progression: numbers written as text" in text_out
    assert _run(workspace, text_run).data.metrics["holdout_r2"] == pytest.approx(run.data.metrics["holdout_r2"])
    # The same, written by a continental office: '1.234,00 €'.
    continental = workspace[0] / "diabetes_continental.csv"
    frame["progression"] = pd.read_csv(data)["progression"].map(
        lambda v: f"{v:,.2f} €".translate(str.maketrans(",.", ".,"))
    )
    frame.to_csv(continental, index=False, sep=";")
    comma_out, (comma_run,) = _train(
        workspace, "--scenario", "carbon_efficiency", "--data", str(continental), "--target", "progression"
    )
    assert "with a decimal comma" in comma_out
    assert _run(workspace, comma_run).data.metrics["holdout_r2"] == pytest.approx(run.data.metrics["holdout_r2"])


def test_a_change_centred_on_zero_trains_and_says_how_its_recipe_changed(workspace):
    """Progression relative to the clinic's median, written with Excel's zh-CN negative currency
    (`¥-12.00`): negatives, which the scenario's log target refused ("a log target needs values >= 0")."""
    frame = pd.read_csv(workspace[0] / "diabetes.csv")
    change = frame["progression"] - frame["progression"].median()
    frame["progression"] = [f"¥{v:,.2f}" for v in change]
    data = workspace[0] / "diabetes_change.csv"
    frame.to_csv(data, index=False)
    out, (run_id,) = _train(
        workspace, "--scenario", "carbon_efficiency", "--data", str(data), "--target", "progression"
    )
    assert "target 'progression': " in out and "fitted as is, not logged; compared by r2" in out
    assert "val_r2 (mean ± sd)" in out
    run = _run(workspace, run_id)
    assert run.data.metrics["holdout_r2"] > 0.3 and run.data.params["promotion_metric"] == "r2"


def test_group_keeps_a_stocks_months_together_and_the_card_says_so(workspace):
    """matplotlib's monthly stock prices: `--group ticker` puts each stock's months on one side."""
    from tests.integration.test_model_real_tables import stock_months

    folder = workspace[0]
    frame = stock_months()
    frame.to_csv(folder / "stocks.csv", index=False)
    args = ["--scenario", "anti_fraud_admission", "--data", str(folder / "stocks.csv"), "--target", "next_up"]
    out, (run_id,) = _train(workspace, *args, "--id", "row_ref", "--group", "ticker")
    assert "split: 25% holdout chosen by the CRC-32 of `ticker`" in out and "grouped by `ticker`" in out
    run = _run(workspace, run_id)
    assert not {"ticker", "row_ref"} & set(run.data.tags["features"].split(","))
    import mlflow

    card = mlflow.artifacts.load_text(f"runs:/{run_id}/model_card.md")
    assert "grouped by `ticker`: rows sharing a `ticker` stay together" in card
    holdout = next(i for i in run.inputs.dataset_inputs if any(t.value == "holdout" for t in i.tags))
    rows = json.loads(holdout.dataset.profile)["num_rows"]
    on_holdout = frame.groupby("ticker").size()
    assert rows in {int(on_holdout[list(c)].sum()) for c in _ticker_sets(on_holdout.index)}  # whole stocks only


def _ticker_sets(tickers) -> list[tuple[str, ...]]:
    from itertools import combinations

    return [c for n in range(1, len(tickers)) for c in combinations(tickers, n)]


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


def _fails(workspace, *args: str) -> str:
    _, env = workspace
    done = run_cli(["model", "train", *args], env, timeout=300)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    return done.stderr


def test_input_errors_say_what_is_wrong(workspace):
    folder = workspace[0]
    cancer = str(folder / "cancer.csv")
    header_only = folder / "header_only.csv"
    header_only.write_text("a,b,diagnosis\n")
    one_class = folder / "one_class.csv"
    pd.read_csv(cancer).assign(diagnosis="benign").to_csv(one_class, index=False)
    scorecard = ["--scenario", "supplier_rating", "--target", "diagnosis"]
    err = _fails(workspace, *scorecard, "--data", cancer, "--positive", "yes")
    assert "--positive yes is not a value of 'diagnosis'; its values are benign, malignant" in err
    assert "header (3 columns) but no rows" in _fails(workspace, *scorecard, "--data", str(header_only))
    assert "has a single value (benign)" in _fails(workspace, *scorecard, "--data", str(one_class))
    assert "say which one means bad with --positive" in _fails(workspace, *scorecard, "--data", cancer)
    assert "no such file" in _fails(workspace, *scorecard, "--data", str(folder / "missing.csv"))
    pending = folder / "pending.csv"
    waiting = pd.read_csv(folder / "diabetes.csv").astype({"progression": object})
    waiting.loc[:4, "progression"] = "pending"  # five patients not yet followed up
    waiting.to_csv(pending, index=False)
    regression = ["--scenario", "carbon_efficiency", "--data", str(pending), "--target", "progression"]
    assert "'progression' has values that are not numbers (pending)" in _fails(workspace, *regression)
    grouped_by_label = _fails(
        workspace, *scorecard, "--data", cancer, "--positive", "malignant", "--group", "diagnosis"
    )
    assert "--group diagnosis is the target" in grouped_by_label
    running = folder / "running.csv"  # a loan book: outcomes, and loans still running
    pd.read_csv(cancer).assign(diagnosis=lambda f: np.where(f.index % 5 == 0, "follow-up", f["diagnosis"])).to_csv(
        running, index=False
    )
    err = _fails(workspace, *scorecard, "--data", str(running), "--positive", "malignant")
    assert "has 3 values (benign, follow-up, malignant); give a two-valued target: keep only the rows" in err


def test_input_errors_come_before_the_heavy_imports(workspace):
    """The checks run before MLflow, LightGBM or scikit-learn load (what makes the errors quick)."""
    folder, env = workspace
    code = (
        "import sys\n"
        "from datafactory.cli import main\n"
        "code = main(sys.argv[1:])\n"
        "print('loaded:', sorted(m for m in ('mlflow', 'lightgbm', 'sklearn') if m in sys.modules))\n"
    )
    args = ["model", "train", "--scenario", "supplier_rating", "--data", str(folder / "cancer.csv")]
    done = subprocess.run(
        [sys.executable, "-c", code, *args, "--target", "diagnosis", "--positive", "yes"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "is not a value of 'diagnosis'" in done.stderr
    assert "loaded: []" in done.stdout


def test_compare_prints_recent_runs_side_by_side(workspace):
    _, env = workspace
    done = run_cli(["model", "compare", "--scenario", "supplier_rating/cancer", "--last", "2"], env, timeout=300)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for row in ("run id", "winner", "promotion", "git commit", "holdout_auc", "val_auc", "snapshot.cancer.csv"):
        assert row in out
    missing = run_cli(["model", "compare", "--scenario", "nope"], env, timeout=300)
    assert missing.returncode == 1 and "no scenario 'nope'" in missing.stderr


def test_an_office_export_trains_exactly_like_the_clean_table(workspace):
    """The same clinical table twice: clean (UTF-8, commas, plain numbers) and as an office exports it
    (GBK, semicolons, thousands separators and percent signs). With the same --id the split is the
    same, so every figure must be too: the text numbers are features, not identifiers."""
    from sklearn.datasets import load_breast_cancer

    folder, _ = workspace
    frame = load_breast_cancer(as_frame=True).frame
    frame["diagnosis"] = np.where(frame.pop("target") == 0, "恶性", "良性")
    frame.insert(0, "patient", [f"P{i:04d}" for i in range(len(frame))])
    frame["ward"] = np.random.default_rng(1).choice(["内科", "外科", "肿瘤科"], len(frame))
    frame.to_csv(folder / "clinic_clean.csv", index=False)
    office = frame.copy()
    office["mean area"] = office["mean area"].map(lambda v: f"{v:,.2f}")
    office["worst area"] = office["worst area"].map(lambda v: f"{v:,.2f}")
    office["mean smoothness"] = office["mean smoothness"].map(lambda v: f"{v * 100:.4f}%")
    office.to_csv(folder / "clinic_office.csv", index=False, sep=";", encoding="gbk")
    # A continental export: decimal commas everywhere, dots between thousands, a euro sign (cp1252).
    continental = frame.copy()
    for column in [c for c in frame.columns if frame[c].dtype == float]:
        continental[column] = continental[column].map(lambda v: f"{v:,.6f}".translate(str.maketrans(",.", ".,")))
    continental["mean area"] = continental["mean area"].map(lambda v: f"{v} €")
    continental["diagnosis"] = np.where(frame["diagnosis"] == "恶性", "maligne", "benigne")
    continental["ward"] = frame["ward"].map({"内科": "Innere", "外科": "Chirurgie", "肿瘤科": "Onkologie"})
    continental.to_csv(folder / "clinic_continental.csv", index=False, sep=";", encoding="cp1252")
    _office_workbook(frame, folder / "clinic_workbook.xlsx")
    figures = {}
    for file in ("clinic_clean.csv", "clinic_office.csv", "clinic_continental.csv", "clinic_workbook.xlsx"):
        name = file.split(".")[0]
        positive = "maligne" if name == "clinic_continental" else "恶性"
        args = ["--data", str(folder / file), "--target", "diagnosis", "--positive", positive, "--id", "patient"]
        out, (run_id,) = _train(workspace, "--scenario", "anti_fraud_admission", *args)
        run = _run(workspace, run_id)
        figures[name] = (run.data.tags["features"], run.data.tags["winner"], run.data.metrics["holdout_auc"], out)
    clean, office_run = figures["clinic_clean"], figures["clinic_office"]
    for column in ("mean area", "worst area", "mean smoothness"):
        assert f"read {column}: numbers written as text" in office_run[3]
        assert f"excluded {column}" not in office_run[3] and column in office_run[0].split(",")
    assert "ward" in office_run[0].split(",")  # GBK text read as text: a categorical
    assert office_run[:2] == clean[:2]
    assert office_run[2] == pytest.approx(clean[2], abs=1e-9)
    continental_run = figures["clinic_continental"]
    assert "read mean radius: numbers written as text (e.g. '17,990000')" in continental_run[3]
    assert "with a decimal comma" in continental_run[3]
    assert continental_run[:2] == clean[:2]
    assert continental_run[2] == pytest.approx(clean[2], abs=1e-9)
    workbook_run = figures["clinic_workbook"]
    assert "read clinic_workbook.xlsx: sheet '病例', the first of 2 (说明 not read)" in workbook_run[3]
    assert (
        "2 line(s) above the header skipped: '2024年度门诊病例信息表', '单位：毫米 制表日期：2024-12-31'"
        in (workbook_run[3])
    )
    assert "excluded visit_date: a date" in workbook_run[3]
    assert workbook_run[:2] == clean[:2]
    assert workbook_run[2] == pytest.approx(clean[2], abs=1e-9)


def _office_workbook(frame: pd.DataFrame, path) -> None:
    """As a Chinese office saves a table: a merged title over the columns, a line with the unit and the
    date, the header, the rows (with a visit date Excel keeps as a date), and a second sheet of notes."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "病例"
    width = len(frame.columns) + 1
    sheet.append(["2024年度门诊病例信息表"])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    sheet.append(["单位：毫米", None, None, "制表日期：2024-12-31"])
    sheet.append([*frame.columns, "visit_date"])
    start = pd.Timestamp("2024-01-01")
    for i, row in enumerate(frame.itertuples(index=False)):
        sheet.append([*row, (start + pd.Timedelta(days=i % 300)).to_pydatetime()])
    notes = book.create_sheet("说明")
    notes.append(["字段", "含义"])
    notes.append(["diagnosis", "病理诊断"])
    book.save(path)
