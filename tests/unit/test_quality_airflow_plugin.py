"""The Airflow plugin loads through Airflow's own plugin manager and serves the reports. The link of a
real run (read from the metadata DB) is checked in tests/e2e/test_report_chromium.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from datafactory.airflow.plugin import REPORTS_PREFIX, report_url

pytestmark = pytest.mark.unit
REPO = Path(__file__).resolve().parents[2]

_PROBE = """
import json
from types import SimpleNamespace
from airflow import plugins_manager as pm
from fastapi import FastAPI
from fastapi.testclient import TestClient

plugins, errors = pm._get_plugins()
apps, _ = pm.get_fastapi_plugins()
views, _ = pm._get_ui_plugins()
link = next(l for l in pm.get_global_operator_extra_links() if l.name == "Quality report")
other = SimpleNamespace(dag_id="train_x", task_id="t", run_id="manual__2026-11-02T00:00:00+00:00", map_index=-1)
root = FastAPI()
root.mount(apps[0]["url_prefix"], apps[0]["app"])
page = TestClient(root).get("/datafactory-reports/2026-11-02/index.html")
print(json.dumps({
    "plugins": [p.name for p in plugins], "errors": errors, "views": [v["href"] for v in views],
    "link": link.name, "other": link.get_link(None, ti_key=other),
    "status": page.status_code, "body": page.text,
}))
"""


def test_plugin_loads_serves_reports_and_links_the_run(tmp_path):
    page = tmp_path / "var" / "reports" / "2026-11-02" / "index.html"
    page.parent.mkdir(parents=True)
    page.write_text("<h1>Quality report 2026-11-02</h1>")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")} | {
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "DATAFACTORY_HOME": str(tmp_path / "var"),
    }
    done = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    probe = json.loads(done.stdout.strip().splitlines()[-1])
    assert probe["plugins"] == ["datafactory"] and probe["errors"] == {}
    assert probe["views"] == ["datafactory-reports/index.html"]
    assert probe["link"] == "Quality report" and probe["other"] == ""  # only ingest runs have a report
    assert probe["status"] == 200 and "Quality report 2026-11-02" in probe["body"]


def test_report_url_is_the_run_page_of_the_business_date():
    assert report_url(date(2026, 11, 1)) == f"{REPORTS_PREFIX}/2026-11-01/index.html"
