"""Approval through Airflow's human-in-the-loop operator, in real `dag.test()` runs of a publish DAG.

A small SQL-aggregate product over a conformed registry keeps the DAG runs short. With
DATAFACTORY_AUTO_APPROVE the runner answers through Airflow's HITL handler; without it the run
waits until an operator answers with `datafactory products approve`, here with a rejection.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from datafactory.domain.identifiers import make_uscc
from datafactory.products.store import LocalStore
from datafactory.products.versioning import history, latest_version, list_versions, read_decision
from tests.conftest import REPO, run_cli

pytestmark = pytest.mark.integration
PRODUCT = "mini_profile"
DAG_ID = f"publish_{PRODUCT}"
SPEC = """
name: mini_profile
kind: sql_aggregate
description: Enterprises per industry and region, for the approval test.
owner: tests@datafactory
audience: [tests]
authorized_for: enterprise_profile
inputs: [ent_registry]
refresh: "@daily"
key: uscc
output: |
  SELECT uscc, industry, count(*) OVER (PARTITION BY industry) AS peers FROM ent_registry ORDER BY uscc
schema: {uscc: string, industry: string, peers: int}
pii_policy: {k: 2, groups: [{size_column: peers}]}
"""
SUITE = {
    "name": "product_mini_profile",
    "expectations": [
        {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}, "meta": {"severity": "critical"}},
        {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "uscc"}, "meta": {"severity": "critical"}},
    ],
}
DRIVER = """
import sys
from datetime import date
from datafactory.airflow.runs import prepare_airflow, run_dags
from datafactory.settings import load_settings

settings = load_settings()
prepare_airflow(settings)  # sets AIRFLOW_HOME and friends: import nothing of Airflow before this
from datafactory.airflow.approval import auto_approver
with auto_approver(settings.auto_approve):
    print(run_dags([sys.argv[1]], date.fromisoformat(sys.argv[2])))
"""


def _registry(firms: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "uscc": [make_uscc("330281", f"{i + 1:08d}") for i in range(firms)],
            "name": [f"测试{i}有限公司" for i in range(firms)],
            "industry": ["retail" if i % 2 else "software" for i in range(firms)],
            "region_code": "330281",
            "address": [f"阳明街道{i}号" for i in range(firms)],
        }
    )


@pytest.fixture(scope="module")
def factory(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("approval")
    repo, home = root / "repo", root / "var"
    (repo / "sources").mkdir(parents=True)
    shutil.copy(REPO / "sources" / "ent_registry.yaml", repo / "sources")
    shutil.copytree(REPO / "dags", repo / "dags")
    (repo / "products" / "review").mkdir(parents=True)
    shutil.copy(REPO / "products" / "review" / "dictionaries.yaml", repo / "products" / "review")
    (repo / "products" / f"{PRODUCT}.yaml").write_text(SPEC)
    (repo / "expectations").mkdir()
    (repo / "expectations" / "product_mini_profile.json").write_text(json.dumps(SUITE))
    for day, firms in (("2026-11-01", 8), ("2026-11-02", 10)):
        path = home / "conformed" / "ent_registry" / f"ds={day}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        _registry(firms).to_parquet(path, index=False)
    env = {
        "DATAFACTORY_REPO": str(repo),
        "DATAFACTORY_HOME": str(home),
        "DATAFACTORY_PSEUDONYM_KEY": "approval-test-key",
        "DATAFACTORY_API_URL": "http://127.0.0.1:9",  # no platform API is needed: nothing is ingested
    }
    return {"home": home, "env": env, "store": LocalStore(home / "products")}


@pytest.fixture
def start_run(tmp_path: Path):
    """Start the run in its own process, its log in a file (a full pipe would stall it); a run the
    test leaves behind is stopped at teardown."""
    started: list[subprocess.Popen] = []

    def start(env: dict[str, str], day: str, auto_approve: bool) -> tuple[subprocess.Popen, Path]:
        full = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")} | env
        full["DATAFACTORY_AUTO_APPROVE"] = "true" if auto_approve else "false"
        log = tmp_path / f"run-{day}.log"
        with log.open("w") as out:
            started.append(
                subprocess.Popen([sys.executable, "-c", DRIVER, DAG_ID, day], env=full, stdout=out, stderr=out)
            )
        return started[-1], log

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)


def _task_states(home: Path, day: str) -> dict[str, str]:
    """The task states of the newest run of the DAG (a run's logical date is its wall-clock start; the
    business date `day` is in its conf)."""
    with sqlite3.connect(home / "airflow" / "airflow.db") as db:
        runs = db.execute("SELECT run_id, conf FROM dag_run WHERE dag_id = ? ORDER BY id DESC", (DAG_ID,)).fetchall()
        run_id = next(r for r, conf in runs if day in str(conf))
        rows = db.execute(
            "SELECT task_id, state FROM task_instance WHERE dag_id = ? AND run_id = ?", (DAG_ID, run_id)
        ).fetchall()
    return dict(rows)


def _airflow_log(home: Path, day: str) -> str:
    """What Airflow printed during the run: the runner sends it to var/logs/<date>/<dag>.log."""
    return (home / "logs" / day / f"{DAG_ID}.log").read_text()


def test_auto_approval_answers_the_real_operator_and_latest_moves(factory, start_run):
    driver, log = start_run(factory["env"], "2026-11-01", auto_approve=True)
    driver.wait(timeout=600)
    out = log.read_text()
    assert driver.returncode == 0, out[-4000:]
    airflow = _airflow_log(factory["home"], "2026-11-01")
    assert "Waiting for Human-in-the-loop input" in airflow or "Pausing task as AWAITING_INPUT" in airflow

    store = factory["store"]
    assert list_versions(store, PRODUCT) == [1] and latest_version(store, PRODUCT) == 1
    decision = read_decision(store, PRODUCT, 1)
    assert (decision["decision"], decision["by"]) == ("approved", "datafactory-auto-approver")
    assert history(store, PRODUCT)[-1]["by"] == "datafactory-auto-approver"
    states = _task_states(factory["home"], "2026-11-01")
    assert states == dict.fromkeys(["build", "validate", "review", "publish", "approve", "promote"], "success")
    with sqlite3.connect(factory["home"] / "airflow" / "airflow.db") as db:
        responded = db.execute("SELECT chosen_options, responded_by FROM hitl_detail").fetchall()
    assert len(responded) == 1 and "Approve" in responded[0][0] and "datafactory-auto-approver" in responded[0][1]


def test_without_auto_approval_the_run_waits_for_an_operator_who_rejects(factory, start_run):
    driver, log = start_run(factory["env"], "2026-11-02", auto_approve=False)
    deadline = time.monotonic() + 300
    answered = None
    while answered is None or answered.returncode != 0:
        assert driver.poll() is None, "the run ended without waiting for approval"
        assert time.monotonic() < deadline, "no approval request appeared within 5 minutes"
        time.sleep(2)
        answered = run_cli(["products", "approve", PRODUCT, "--reject", "--by", "alice"], factory["env"], timeout=120)
    assert "Reject by alice" in answered.stdout
    driver.wait(timeout=300)
    assert driver.returncode == 0, log.read_text()[-4000:]
    assert "Waiting for Human-in-the-loop input" in _airflow_log(factory["home"], "2026-11-02")

    store = factory["store"]
    assert list_versions(store, PRODUCT) == [1, 2]  # v2 is published and kept ...
    decision = read_decision(store, PRODUCT, 2)
    assert (decision["decision"], decision["by"]) == ("rejected", "alice")
    assert latest_version(store, PRODUCT) == 1  # ... but never becomes latest
    states = _task_states(factory["home"], "2026-11-02")
    assert states["approve"] == "success" and states["promote"] == "skipped"
    nothing_waiting = run_cli(["products", "approve", PRODUCT], factory["env"], timeout=120)
    assert nothing_waiting.returncode == 1 and "no approval of mini_profile is waiting" in nothing_waiting.stderr
