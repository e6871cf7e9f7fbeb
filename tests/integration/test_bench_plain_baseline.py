"""The end-to-end benchmark's baseline (bench/plain.py) runs the ingest DAG's own task callables, mapped
conform batches included, and accounts for every delivered row: a benchmark that cannot run, or that
skips work the DAG does, would report a ratio against the wrong thing."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO, run_cli

pytestmark = pytest.mark.integration

DAY = "2026-11-01"


def test_plain_calls_run_every_ingest_task_and_conform_every_delivered_row(factory_env, tmp_path):
    env = {**os.environ, **factory_env, "DATAFACTORY_ENTERPRISES": "400", "DATAFACTORY_FIRST_DATE": DAY}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(REPO / "plugins")])
    env["AIRFLOW_HOME"] = str(tmp_path / "airflow")
    simulated = run_cli(["simulate", "--date", DAY], env)
    assert simulated.returncode == 0, simulated.stderr
    delivered = int(simulated.stdout.split("delivered", 1)[1].split()[0])

    done = subprocess.run(
        [sys.executable, "-m", "bench.plain", DAY, "ingest_returned_data"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=1200,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    records = [json.loads(line) for line in done.stdout.splitlines() if line.startswith('{"dag"')]
    tasks = {r["task"].rsplit(".", 1)[-1] for r in records}
    assert {"pull", "split_regions", "conform_region", "conform", "quality_report"} <= tasks
    pulled = sum(r["result"]["rows"] for r in records if r["task"].endswith(".pull"))
    feed_level = [r["result"] for r in records if r["task"].endswith(".conform")]
    batches = [r["result"] for r in records if r["task"].endswith(".conform_region")]
    assert pulled == delivered == sum(f["rows_in"] for f in feed_level)
    for feed in feed_level:
        assert feed["rows_in"] == feed["rows_conformed"] + feed["rows_quarantined"]
    # Regional feeds: their batches' rows add up to the feed-level rows.
    regional = {b["source"] for b in batches}
    by_feed = {f["source"]: f["rows_in"] for f in feed_level}
    for source in regional:
        assert sum(b["rows_in"] for b in batches if b["source"] == source) == by_feed[source]
