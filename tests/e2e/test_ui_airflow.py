"""One `datafactory run` of a normal day (every DAG, small population), then the screens people use:
the run's own output (under 60 lines), its logs, and `datafactory ui` (Airflow API server and MLflow UI)
read through Airflow's REST API v2 with the login it prints: real run durations, a task's log line
through the file task handler, the report link, and both servers stopped on Ctrl-C.

Then the same screens in headless Chromium (the system's /usr/bin/chromium, driven by Playwright; no
browser download): sign in on Airflow's login page, the home page says why the DAGs show paused, the
grid of `ingest_returned_data` lists the demo's three runs with durations under an hour, the log panel
of `quality_report` shows the line the REST API returns, the "Quality report" extra link is there and only
there, and the day page it opens shows the rerun's results."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Page, Response, sync_playwright

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


def _as_a_background_job() -> None:
    """A `datafactory ui &` in a script (no job control) starts with SIGINT ignored; Ctrl-C, or a SIGINT
    from whoever started it, must still stop both servers."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class _Ui:
    def __init__(self, env: dict[str, str]) -> None:
        self.airflow, self.mlflow = _free_port(), _free_port()
        full = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")} | env
        command = [str(VENV_BIN / "datafactory"), "ui", "--airflow-port", str(self.airflow)]
        command += ["--mlflow-port", str(self.mlflow)]
        self.process = subprocess.Popen(
            command,
            env=full,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=_as_a_background_job,
        )
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
    assert "paused:   every DAG: no scheduler runs here, `datafactory run` runs them" in printed
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


# --- The same screens in a browser -------------------------------------------------------------------

# How the Airflow UI renders a duration: "00:00:59.439" under a minute, "00:01:25" under a day, "30d00:00:00".
DURATION = re.compile(r"^(?:(\d+)d)?(\d{2}):(\d{2}):(\d{2})(\.\d{3})?$")


@dataclass
class SignedIn:
    page: Page
    login_page: str  # where Airflow sent the browser before it signed in


@pytest.fixture(scope="module")
def signed_in(ui) -> Iterator[SignedIn]:
    """Headless system Chromium, signed in through Airflow's own login page with the login `datafactory ui`
    printed."""
    chromium = shutil.which("chromium")
    assert chromium, "chromium is missing: scripts/install_system_deps.sh installs it"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US", timezone_id="UTC")
        context.set_default_timeout(60_000)
        page = context.new_page()
        page.goto(f"{ui.base}/")
        page.wait_for_url("**/auth/login**")
        login_page = page.url
        page.get_by_label("Username").fill(ui.user)
        page.get_by_label("Password").fill(ui.password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{ui.base}/")
        yield SignedIn(page, login_page)
        context.close()
        browser.close()


def _seconds(shown: str) -> float:
    found = DURATION.match(shown.strip())
    assert found, f"not a duration as the UI renders one: {shown!r}"
    days, hours, minutes, seconds, fraction = found.groups()
    return int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + int(seconds) + float(fraction or 0)


def test_chromium_signs_in_on_airflows_login_page_and_the_home_page_says_why_the_dags_show_paused(signed_in, ui):
    page = signed_in.page
    assert urllib.parse.urlsplit(signed_in.login_page).path == "/auth/login"
    assert any(cookie["name"] == "_token" for cookie in page.context.cookies())  # Airflow's session token
    page.goto(f"{ui.base}/")
    alert = page.get_by_text("Why every DAG shows paused:")
    alert.wait_for()
    assert "no scheduler runs on this embedded state" in alert.locator("xpath=..").inner_text()
    page.get_by_role("heading", name="Welcome").wait_for()  # the signed-in home page, not the login form
    assert page.get_by_label("Password").count() == 0


def test_chromium_grid_lists_the_three_runs_with_durations_under_an_hour(signed_in, ui, tmp_path):
    page = signed_in.page
    runs = _runs(ui, "ingest_returned_data")  # newest first: the rerun of day one, day two, day one
    page.goto(f"{ui.base}/dags/ingest_returned_data/runs")
    page.get_by_text(f"{len(runs)} Dag Runs", exact=True).wait_for()
    assert len(runs) == 3
    headers = [h.inner_text().strip() for h in page.get_by_role("columnheader").all()]
    duration_at, state_at = headers.index("Duration"), headers.index("State")
    listed = []
    for row in page.get_by_role("row").all()[1:]:
        cells = [c.inner_text().strip() for c in row.get_by_role("cell").all()]
        listed.append((cells[headers.index("Dag Run ID")], cells[state_at], cells[duration_at]))
    assert [run_id for run_id, _, _ in listed] == [r["dag_run_id"] for r in runs]  # a rerun is a run of its own
    for (run_id, state, shown), run in zip(listed, runs, strict=True):
        took = datetime.fromisoformat(run["end_date"]) - datetime.fromisoformat(run["start_date"])
        assert state == "Success", run_id
        assert 0 < _seconds(shown) < 3600, (run_id, shown)  # what a person reads: minutes, not 30 days
        assert abs(_seconds(shown) - took.total_seconds()) <= 1, (run_id, shown, took)
        # The grid beside the table has a cell of each run's quality_report task.
        cell = page.locator(f'a[href="/dags/ingest_returned_data/runs/{run_id}/tasks/quality_report"]')
        assert cell.count() == 1, run_id
    # The grid's duration scale tops out at the longest run: under an hour too.
    everywhere = [_seconds(text) for text in page.get_by_text(DURATION).all_inner_texts()]
    assert len(everywhere) > len(runs) and max(everywhere) == max(_seconds(shown) for _, _, shown in listed)
    # The DAG shows paused, and its docs say why.
    assert page.get_by_test_id("toggle-pause").get_attribute("data-state") == "unchecked"
    page.get_by_role("button", name="Dag Docs").click()
    docs = page.get_by_role("dialog")
    docs.get_by_text("Paused?").wait_for()
    assert "no scheduler runs" in docs.inner_text() and "datafactory run" in docs.inner_text()
    page.keyboard.press("Escape")
    docs.wait_for(state="hidden")
    shot = tmp_path / "grid.png"
    data = page.screenshot(path=str(shot), full_page=False)
    image = Image.open(BytesIO(data)).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 20) or []
    most = max(count for count, _ in colours)
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and shot.read_bytes() == data and image.size == (1400, 1000)
    assert len(colours) > 200 and most < 0.9 * image.width * image.height  # a drawn page, not a blank one
    assert any(g > 100 and r < 60 and b < 60 for _, (r, g, b) in colours)  # the green of successful runs


def _log_events(page: Page, ui: _Ui, run_id: str, task_id: str) -> list[str]:
    """The task's log through the REST API, with the browser's own session (its `_token` cookie)."""
    quoted = urllib.parse.quote(run_id, safe="")
    url = f"{ui.base}/api/v2/dags/ingest_returned_data/dagRuns/{quoted}/taskInstances/{task_id}/logs/1"
    answer = page.context.request.get(url, headers={"Accept": "application/json"})
    assert answer.status == 200, answer.text()[:500]
    return [item.get("event", "") for item in answer.json()["content"]]


def test_chromium_log_panel_shows_the_log_line_the_rest_api_returns(signed_in, ui):
    page = signed_in.page
    rerun = _runs(ui, "ingest_returned_data")[0]["dag_run_id"]
    page.goto(f"{ui.base}/dags/ingest_returned_data/runs")
    with page.expect_response(lambda r: "/taskInstances/quality_report/logs/" in r.url) as asked:
        page.locator(f'a[href="/dags/ingest_returned_data/runs/{rerun}/tasks/quality_report"]').click()
    assert asked.value.status == 200
    shown = page.get_by_text("Done. Returned value was:")
    shown.wait_for()
    line = shown.inner_text().strip()
    assert f"/reports/{DAY}/index.html" in line  # the rerun of day one wrote day one's page
    events = [e for e in _log_events(page, ui, rerun, "quality_report") if "Done. Returned value was:" in e]
    assert events == [line]  # the panel shows exactly the line the REST API returns
    # The whole log, not one line. Airflow's panel renders only the lines in view (a virtualized list)
    # and opens at the end, so its first lines exist once it is scrolled to the top.
    page.get_by_test_id("virtual-scroll-container").evaluate("panel => panel.scrollTo(0, 0)")
    page.get_by_text("Task started").first.wait_for()


def _links_answer(response: Response, task_id: str) -> bool:
    return f"/taskInstances/{task_id}/links" in response.url


def test_chromium_extra_link_only_on_quality_report_and_it_opens_the_rerun_s_day_page(signed_in, ui, ran):
    page = signed_in.page
    rerun = _runs(ui, "ingest_returned_data")[0]["dag_run_id"]
    task_page = f"{ui.base}/dags/ingest_returned_data/runs/{urllib.parse.quote(rerun, safe='')}/tasks"
    for task_id in ("ent_registry.pull", "feeds_gate"):  # nothing to link: no "Extra Links" heading either
        with page.expect_response(lambda r, t=task_id: _links_answer(r, t)) as answered:
            page.goto(f"{task_page}/{task_id}/details")
        assert answered.value.json()["extra_links"] == {}
        page.get_by_text("Map Index", exact=True).wait_for()  # the task's details are on screen
        assert page.get_by_text(task_id, exact=True).count() >= 1
        assert page.get_by_text("Extra Links", exact=True).count() == 0, task_id
    with page.expect_response(lambda r: _links_answer(r, "quality_report")):
        page.goto(f"{task_page}/quality_report/details")
    page.get_by_text("Extra Links", exact=True).wait_for()
    link = page.get_by_role("link", name="Quality report", exact=True)
    assert link.count() == 1
    link.click()
    page.wait_for_url(f"**/datafactory-reports/{DAY}/index.html")
    page.get_by_role("heading", name=f"Quality report {DAY}").wait_for()
    # Rendered again after the rerun: the page shows the model checks the rerun left for day one.
    checks = [json.loads(p.read_text()) for p in sorted((ran["home"] / "quality" / DAY).glob("model_*.json"))]
    assert checks
    models = page.locator("#models")
    for check in checks:
        row = models.get_by_role("row").filter(has=page.get_by_role("cell", name=check["scenario"], exact=True))
        cells = [c.inner_text().strip() for c in row.get_by_role("cell").all()]
        assert cells[1:4] == [f"v{check['model_version']}", str(check["rows_scored"]), f"{check['psi']:.4f}"], cells


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
