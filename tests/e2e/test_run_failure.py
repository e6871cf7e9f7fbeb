"""A day whose data fails a critical check: `datafactory run` stops with one line that says which DAG and
task failed and why, and names the log that explains it; the log is there."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO, run_cli

pytestmark = pytest.mark.e2e


def _repo_whose_registry_suite_wants_a_column_nobody_delivers(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    for folder in ("dags", "sources", "expectations", "models", "products"):
        shutil.copytree(REPO / folder, repo / folder)
    path = repo / "expectations" / "ent_registry.json"
    suite = json.loads(path.read_text(encoding="utf-8"))
    contract = next(e for e in suite["expectations"] if e["type"] == "expect_table_columns_to_match_set")
    contract["kwargs"]["column_set"].append("business_scope")  # a contract column upstream never sent
    path.write_text(json.dumps(suite, ensure_ascii=False, indent=2), encoding="utf-8")
    return repo


def test_a_failed_run_prints_one_line_with_the_reason_and_the_log_that_explains_it(tmp_path):
    env = {
        "DATAFACTORY_HOME": str(tmp_path / "var"),
        "DATAFACTORY_REPO": str(_repo_whose_registry_suite_wants_a_column_nobody_delivers(tmp_path)),
        "DATAFACTORY_ENTERPRISES": "300",
        "DATAFACTORY_PSEUDONYM_KEY": "e2e-failure-key",
        "DATAFACTORY_FIRST_DATE": "2026-11-01",
    }
    done = run_cli(["run"], env)
    assert done.returncode != 0
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in done.stdout + done.stderr, done.stderr[-3000:]
    line = errors[0]
    assert "ingest_returned_data" in line and "ent_registry" in line and "business_scope" in line, line
    log = re.search(r"log: (\S+)", line)
    assert log and Path(log.group(1)).is_file(), line
    assert "business_scope" in Path(log.group(1)).read_text(errors="replace")
    assert len((done.stdout + done.stderr).splitlines()) < 60
