"""Two days through the ingest DAG (real Airflow runs), then the reviewers' report opened in headless Chromium
(Debian's package): the key numbers are on the rendered page and a screenshot is taken."""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]
DAYS = ["2026-11-01", "2026-11-02"]
RESIDENT_ID = re.compile(r"\d{6}(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dX]")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# The ingest DAG (every feed pulled, validated, quarantined and reported) through real `dag.test()`
# runs, as `datafactory run` drives it; the model and product DAGs are left to their own tests.
_INGEST = """
import sys
from datetime import date

from datafactory.runner import deliver_upstream, prepare_airflow, run_dags
from datafactory.settings import load_settings

settings = load_settings()
prepare_airflow(settings)
from datafactory.airflow.factory import INGEST_DAG

for day in sys.argv[1:]:
    deliver_upstream(settings, date.fromisoformat(day))
    print(day, run_dags([INGEST_DAG], date.fromisoformat(day)))
"""


@pytest.fixture(scope="module")
def factory(tmp_path_factory) -> dict:
    home = tmp_path_factory.mktemp("report") / "var"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")} | {
        "DATAFACTORY_HOME": str(home),
        "DATAFACTORY_ENTERPRISES": "300",
        "DATAFACTORY_PSEUDONYM_KEY": "e2e-report-key",
        "DATAFACTORY_FIRST_DATE": DAYS[0],
    }
    done = subprocess.run([sys.executable, "-c", _INGEST, *DAYS], env=env, capture_output=True, text=True, timeout=2400)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return {"home": home}


def _chromium(url: str, tmp: Path, *extra: str) -> subprocess.CompletedProcess:
    binary = shutil.which("chromium")
    assert binary, "chromium is missing: scripts/install_system_deps.sh installs it"
    profile = tmp / f"profile-{len(list(tmp.glob('profile-*')))}"
    command = [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *extra, url]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def _results(home: Path, day: str) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((home / "quality" / day).glob("*.json"))]


def test_every_feed_and_every_run_is_fully_accounted(factory):
    home = factory["home"]
    for day in DAYS:
        results = _results(home, day)
        assert len(results) >= 6
        for r in results:
            assert r["rows_in"] == r["rows_conformed"] + r["rows_quarantined"], (day, r["source"])
            raw = home / "raw" / r["source"] / f"ds={day}"
            held = home / "quarantine" / r["source"] / f"ds={day}"
            assert len(pd.read_parquet(raw)) == r["rows_in"]
            assert len(pd.read_parquet(held)) == r["rows_quarantined"]


def test_run_page_in_chromium_shows_the_key_numbers(factory, tmp_path):
    home, day = factory["home"], DAYS[1]
    page = home / "reports" / day / "index.html"
    dom = _chromium(page.as_uri(), tmp_path, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    results = _results(home, day)
    for element, key in (
        ("rows-in", "rows_in"),
        ("rows-conformed", "rows_conformed"),
        ("rows-quarantined", "rows_quarantined"),
    ):
        assert f'<b id="{element}">{sum(r[key] for r in results)}</b>' in dom.stdout
    for r in results:  # each feed's row with its own numbers
        cells = "".join(f'<td class="n">{r[k]}</td>' for k in ("rows_in", "rows_conformed", "rows_quarantined"))
        assert f"<td>{r['source']}</td>{cells}" in dom.stdout, r["source"]
    assert "UNBALANCED" not in dom.stdout
    assert not RESIDENT_ID.search(dom.stdout)  # only masked IDs (3302**********123X) may appear


def test_index_in_chromium_has_trend_charts_and_a_screenshot(factory, tmp_path):
    index = factory["home"] / "reports" / "index.html"
    dom = _chromium(index.as_uri(), tmp_path, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert dom.stdout.count("<svg") == 3 and all(f"{d}/index.html" in dom.stdout for d in DAYS)
    for title in ("Pass rate per suite", "Quarantine rate per feed", "Top failing expectations over time"):
        assert title in dom.stdout
    shot = tmp_path / "index.png"
    taken = _chromium(index.as_uri(), tmp_path, f"--screenshot={shot}", "--window-size=1280,1400")
    assert taken.returncode == 0, taken.stderr[-2000:]
    data = shot.read_bytes()
    width, height = struct.unpack(">II", data[16:24])
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and (width, height) == (1280, 1400) and len(data) > 20_000


def test_data_docs_are_built_for_every_run(factory):
    docs = factory["home"] / "reports" / "data_docs"
    assert (docs / "index.html").exists()
    for day in DAYS:
        pages = list((docs / "validations").glob(f"*/{day}/*/*.html"))
        assert {p.stem.split(".")[0] for p in pages} == {r["source"] for r in _results(factory["home"], day)}


_LINKS = """
import json
from airflow.models.dagrun import DagRun
from airflow.plugins_manager import get_global_operator_extra_links
from airflow.utils.session import create_session
from airflow.models.taskinstancekey import TaskInstanceKey

link = next(item for item in get_global_operator_extra_links() if item.name == "Quality report")
with create_session() as session:
    found = session.query(DagRun).filter_by(dag_id="ingest_returned_data")
    runs = [(r.run_id, (r.conf or {}).get("logical_date")) for r in found]
keys = {day: TaskInstanceKey("ingest_returned_data", "quality_report", run_id, 1, -1) for run_id, day in runs}
print(json.dumps({day: link.get_link(None, ti_key=key) for day, key in keys.items()}))
"""


def test_airflow_links_each_ingest_run_to_its_report(factory):
    home = factory["home"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")} | {
        "AIRFLOW_HOME": str(home / "airflow"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow/airflow.db",
        "DATAFACTORY_HOME": str(home),
    }
    done = subprocess.run([sys.executable, "-c", _LINKS], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    links = json.loads(done.stdout.strip().splitlines()[-1])
    assert links == {day: f"/datafactory-reports/{day}/index.html" for day in DAYS}
    for url in links.values():
        assert (home / "reports" / url.removeprefix("/datafactory-reports/")).exists()
