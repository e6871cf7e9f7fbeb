"""The Airflow plugin loads through Airflow's own plugin manager and serves the reports to authenticated
users only (401 without a token, as Airflow's REST API answers); only the report task
carries a "Quality report" link. The redirect of a real run (read from the metadata DB) is checked in
tests/e2e/test_ui_airflow.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pytest

from datafactory.airflow.operators import QualityReportLink, run_link
from datafactory.airflow.plugin import REPORTS_PREFIX, report_url

pytestmark = pytest.mark.unit
REPO = Path(__file__).resolve().parents[2]

_PROBE = """
import json
from airflow import plugins_manager as pm
from fastapi import FastAPI
from fastapi.testclient import TestClient

plugins, errors = pm._get_plugins()
apps, _ = pm.get_fastapi_plugins()
views, _ = pm._get_ui_plugins()
from airflow.dag_processing.dagbag import DagBag

bag = DagBag(dag_folder=REPO + "/dags")
with_links = sorted(f"{d}.{t.task_id}" for d, dag in bag.dags.items() for t in dag.tasks if t.operator_extra_links)
root = FastAPI()
root.mount(apps[0]["url_prefix"], apps[0]["app"])
from airflow import settings
from airflow.api_fastapi.app import init_auth_manager
from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
from airflow.models.revoked_token import RevokedToken

RevokedToken.__table__.create(settings.engine, checkfirst=True)  # what token checks read; no full migration

client, url = TestClient(root), "/datafactory-reports/2026-11-02/index.html"
anonymous = client.get(url)
token = init_auth_manager().generate_jwt(SimpleAuthManagerUser(username="admin", role="admin"))
page = client.get(url, headers={"Authorization": f"Bearer {token}"})
forged = client.get(url, headers={"Authorization": "Bearer not-a-token"})
print(json.dumps({
    "plugins": [p.name for p in plugins], "errors": errors, "views": [v["href"] for v in views],
    "global": [l.name for l in pm.get_global_operator_extra_links()], "with_links": with_links,
    "status": page.status_code, "body": page.text, "anonymous": anonymous.status_code, "forged": forged.status_code,
    "anonymous_body": anonymous.text,
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
    probe = f"REPO = {str(REPO)!r}\n" + _PROBE
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    probe = json.loads(done.stdout.strip().splitlines()[-1])
    assert probe["plugins"] == ["datafactory"] and probe["errors"] == {}
    assert probe["views"] == ["datafactory-reports/index.html"]
    assert probe["global"] == []  # no link on every task: an empty "Extra Links" heading helps nobody
    assert probe["with_links"] == ["ingest_returned_data.quality_report"]
    assert probe["status"] == 200 and "Quality report 2026-11-02" in probe["body"]  # with Airflow's own token
    assert probe["anonymous"] == 401 and probe["forged"] == 401  # as /api/v2/dags answers
    assert "Quality report" not in probe["anonymous_body"]


def test_report_url_is_the_run_page_of_the_business_date():
    assert report_url(date(2026, 11, 1)) == f"{REPORTS_PREFIX}/2026-11-01/index.html"


def test_the_link_names_the_run_for_the_plugin_to_resolve():
    key = SimpleNamespace(dag_id="ingest_returned_data", run_id="manual__2026-11-02T08:00:00+00:00", map_index=-1)
    assert QualityReportLink().get_link(None, ti_key=key) == run_link(key.dag_id, key.run_id)
    assert run_link(key.dag_id, key.run_id) == (
        "/datafactory-reports/runs/ingest_returned_data/manual__2026-11-02T08%3A00%3A00%2B00%3A00"
    )
