"""One `datafactory run` of a normal day (every DAG, small population), then the screens people use:
the run's own output (under 60 lines), its logs, and `datafactory ui` (Airflow API server and MLflow UI)
read through Airflow's REST API v2 with the login it prints: real run durations, a task's log line
through the file task handler, the report link, and both servers stopped on Ctrl-C."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import urllib.parse
import urllib.request
from datetime import datetime
from pathlib import Path

import pytest

from tests.conftest import VENV_BIN

pytestmark = pytest.mark.e2e
DAY = "2026-11-01"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ran(demo) -> dict:
    done = demo["runs"][0]  # day one of the shared demo sequence: a normal day
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return {"home": demo["home"], "env": demo["env"], "out": done}


def test_a_normal_day_prints_fewer_than_60_lines_and_logs_the_rest(ran):
    out = ran["out"]
    lines = (out.stdout + out.stderr).splitlines()
    assert len(lines) < 60, "\n".join(lines)
    text = out.stdout
    for dag_id in ("ingest_returned_data", "train_anti_fraud_admission", "publish_anti_fraud_admission"):
        assert re.search(rf"^{dag_id}\s+success\s", text, re.M), dag_id
    assert re.search(r"^\s+ent_registry\s+success\s+\S+\s+[\d,]+ in, [\d,]+ quarantined", text, re.M)
    assert "[info" not in text and "Traceback" not in text  # progress, not logs
    logs = ran["home"] / "logs" / DAY
    ingest_log = (logs / "ingest_returned_data.log").read_text()
    assert "Filling up the DagBag" in (logs / "setup.log").read_text() or ingest_log
    assert "quality_report" in ingest_log and len(ingest_log.splitlines()) > 100  # the logs live here instead


class _Ui:
    def __init__(self, env: dict[str, str]) -> None:
        self.airflow, self.mlflow = _free_port(), _free_port()
        full = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")} | env
        command = [str(VENV_BIN / "datafactory"), "ui", "--airflow-port", str(self.airflow)]
        command += ["--mlflow-port", str(self.mlflow)]
        self.process = subprocess.Popen(command, env=full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.printed: list[str] = []
        for line in self.process.stdout:  # blocks until the servers answer (the command's own --timeout)
            self.printed.append(line.rstrip())
            if "Ctrl-C stops both" in line:
                break
        assert self.printed and "Ctrl-C stops both" in self.printed[-1], self.process.stderr.read()[-3000:]
        login = next(line for line in self.printed if "login:" in line).split("login:")[1].strip()
        self.user, self.password = (part.strip() for part in login.split("/", 1))
        self.base = f"http://127.0.0.1:{self.airflow}"
        self.token = self._token()

    def _token(self) -> str:
        body = json.dumps({"username": self.user, "password": self.password}).encode()
        request = urllib.request.Request(
            f"{self.base}/auth/token", body, {"Content-Type": "application/json"}, method="POST"
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())["access_token"]

    def get(self, path: str, accept: str = "application/json") -> tuple[int, str, str]:
        request = urllib.request.Request(
            f"{self.base}{path}", headers={"Authorization": f"Bearer {self.token}", "Accept": accept}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.geturl(), response.read().decode()

    def stop(self) -> int:
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=120)


@pytest.fixture(scope="module")
def ui(ran):
    server = _Ui(ran["env"])
    yield server
    if server.process.poll() is None:
        server.stop()


def test_ui_prints_both_urls_and_the_login(ui):
    printed = "\n".join(ui.printed)
    assert f"Airflow UI: http://127.0.0.1:{ui.airflow}" in printed
    assert f"MLflow UI:  http://127.0.0.1:{ui.mlflow}" in printed
    assert ui.user == "admin" and ui.password
    with urllib.request.urlopen(f"http://127.0.0.1:{ui.mlflow}/health", timeout=30) as response:
        assert response.status == 200


def _runs(ui: _Ui, dag_id: str) -> list[dict]:
    _, _, body = ui.get(f"/api/v2/dags/{dag_id}/dagRuns?order_by=-run_after")
    return json.loads(body)["dag_runs"]


def test_runs_carry_real_times_and_the_business_date_and_a_rerun_is_a_run_of_its_own(ui):
    for dag_id in ("ingest_returned_data", "train_anti_fraud_admission", "publish_anti_fraud_admission"):
        runs = _runs(ui, dag_id)
        for run in runs:
            started, ended = datetime.fromisoformat(run["start_date"]), datetime.fromisoformat(run["end_date"])
            assert run["state"] == "success" and 0 < (ended - started).total_seconds() < 3600, run
            business = run["conf"]["logical_date"]
            assert datetime.fromisoformat(run["logical_date"]).date().isoformat() != business  # real time instead
        assert {r["conf"]["logical_date"] for r in runs} == {DAY, "2026-11-02"}, dag_id
    # Day one, day two, then the rerun of day one: newest first, the rerun kept beside the first run.
    ingest = _runs(ui, "ingest_returned_data")
    assert [r["conf"]["logical_date"] for r in ingest] == [DAY, "2026-11-02", DAY]


def test_a_task_log_line_through_the_rest_api(ui):
    run = _runs(ui, "ingest_returned_data")[0]
    run_id = urllib.parse.quote(run["dag_run_id"], safe="")
    path = f"/api/v2/dags/ingest_returned_data/dagRuns/{run_id}/taskInstances/quality_report/logs/1"
    status, _, body = ui.get(path)
    events = [item.get("event", "") for item in json.loads(body)["content"]]
    assert status == 200 and any("Done. Returned value was" in e and "index.html" in e for e in events), events[-10:]


def test_the_report_link_resolves_to_the_day_page(ui):
    run = _runs(ui, "ingest_returned_data")[0]  # the rerun of day one
    run_id = urllib.parse.quote(run["dag_run_id"], safe="")
    base = f"/api/v2/dags/ingest_returned_data/dagRuns/{run_id}/taskInstances"
    _, _, body = ui.get(f"{base}/quality_report/links")
    link = json.loads(body)["extra_links"]["Quality report"]
    _, _, other = ui.get(f"{base}/ent_registry.pull/links")
    assert json.loads(other)["extra_links"] == {}  # nothing to link: no empty heading
    status, url, page = ui.get(link, accept="text/html")
    assert status == 200 and url.endswith(f"/datafactory-reports/{DAY}/index.html")
    assert f"Quality report {DAY}" in page


def test_ctrl_c_stops_both_servers(ui):
    assert ui.stop() == 0
    for port in (ui.airflow, ui.mlflow):
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
    assert "stopped the Airflow and MLflow servers" in ui.process.stdout.read()


def test_every_dag_log_is_where_the_run_said(ran):
    logs: Path = ran["home"] / "logs" / DAY
    assert f"logs in {logs}" in ran["out"].stdout
    assert {p.stem for p in logs.glob("*.log")} >= {"setup", "ingest_returned_data", "train_anti_fraud_admission"}
