"""Two days through the ingest DAG (real Airflow runs) and a rerun of the first, then the reviewers' report and
GE Data Docs opened in headless Chromium (Debian's package): the key numbers and the summary on top, one
sparkline per feed with its threshold line, Data Docs styled and listing every validation with the network
off, Chinese text drawn with a real font (fonts-noto-cjk), and the rerun kept as an Airflow run of its own."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import struct
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]
DAYS = ["2026-11-01", "2026-11-02"]
RUNS = [*DAYS, DAYS[0]]  # the first day again: a rerun
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
OFFLINE = ["--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND"]


# The ingest DAG (every feed pulled, validated, quarantined and reported) through real `dag.test()`
# runs, as `datafactory run` drives it; the model and product DAGs are left to their own tests.
_INGEST = """
import sys
from datetime import date

from datafactory.airflow.runs import prepare_airflow, run_dags
from datafactory.runner import deliver_upstream
from datafactory.settings import load_settings

settings = load_settings()
prepare_airflow(settings)
from datafactory.airflow.factory import INGEST_DAG

for day in sys.argv[1:]:
    deliver_upstream(settings, date.fromisoformat(day))
    print(day, run_dags([INGEST_DAG], date.fromisoformat(day), settings=settings))
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
    done = subprocess.run([sys.executable, "-c", _INGEST, *RUNS], env=env, capture_output=True, text=True, timeout=2400)
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


def test_run_page_in_chromium_shows_the_summary_on_top_and_the_key_numbers(factory, tmp_path):
    home, day = factory["home"], DAYS[1]
    page = home / "reports" / day / "index.html"
    dom = _chromium(page.as_uri(), tmp_path, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert dom.stdout.index('id="summary"') < dom.stdout.index('id="feeds"') < dom.stdout.index('id="failing"')
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


def test_index_in_chromium_has_the_latest_run_on_top_and_a_sparkline_per_feed(factory, tmp_path):
    index = factory["home"] / "reports" / "index.html"
    dom = _chromium(index.as_uri(), tmp_path, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    latest = html[html.index('id="latest"') : html.index('id="quarantine-rate"')]
    assert f"{DAYS[1]}/index.html" in latest  # the newest business date, though the rerun came last
    runs = html[html.index('id="runs"') :]
    assert runs.index(f"{DAYS[1]}/index.html") < runs.index(f"{DAYS[0]}/index.html")
    feeds = {r["source"] for r in _results(factory["home"], DAYS[1])}
    spark = html[html.index('id="quarantine-rate"') : html.index('id="top-failing"')]
    assert set(re.findall(r'data-series="([^"]+)"', spark)) == feeds
    assert spark.count("<svg") == len(feeds) and spark.count('id="threshold"') == len(feeds)
    shot = tmp_path / "index.png"
    taken = _chromium(index.as_uri(), tmp_path, f"--screenshot={shot}", "--window-size=1280,1400")
    assert taken.returncode == 0, taken.stderr[-2000:]
    data = shot.read_bytes()
    width, height = struct.unpack(">II", data[16:24])
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and (width, height) == (1280, 1400) and len(data) > 20_000


def test_data_docs_are_built_for_every_run_and_every_suite(factory):
    docs = factory["home"] / "reports" / "data_docs"
    assert (docs / "index.html").exists()
    for day in DAYS:
        pages = list((docs / "validations").glob(f"*/{day}/*/*.html"))
        assert {p.stem.split(".")[0] for p in pages} == {r["source"] for r in _results(factory["home"], day)}
    assert {p.stem for p in (docs / "expectations").glob("*.html")} == {
        r["suite"] for r in _results(factory["home"], DAYS[1])
    }


_STYLE_PROBE = """<script>window.addEventListener("load", () => {
  document.title = "font=" + getComputedStyle(document.body).fontFamily;
});</script>"""


def test_data_docs_offline_list_validations_with_styles(factory, tmp_path):
    docs = factory["home"] / "reports" / "data_docs"
    index = (docs / "index.html").read_text()
    assert "https://cdn" not in index and "https://unpkg.com" not in index and "https://code.jquery" not in index
    probe = docs / "offline-probe.html"  # the index, beside it, reporting the body's computed font
    probe.write_text(index.replace("</body>", _STYLE_PROBE + "</body>"))
    dom = _chromium(probe.as_uri(), tmp_path, *OFFLINE, "--virtual-time-budget=10000", "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    title = re.search(r"<title>([^<]*)</title>", dom.stdout).group(1)
    assert "Segoe UI" in title  # Bootstrap's font stack: its stylesheet loaded from the site
    assert "fixed-table-body" in dom.stdout  # bootstrap-table (JavaScript) drew the table
    shown = re.search(r"Showing 1 to \d+ of (\d+) rows", dom.stdout)  # bootstrap-table's pager
    assert shown and int(shown.group(1)) == len(list((docs / "validations").glob("*/*/*/*.html")))
    assert re.search(r'href="validations/[^"]+\.html"', dom.stdout)
    page = next((docs / "validations").glob("sup_suppliers/*/*/*.html"), None) or next(
        (docs / "validations").glob("*/*/*/*.html")
    )
    text = page.read_text()
    assert "__none__" not in text and "(**{" not in text


def _glyphs(text: str, tmp: Path) -> bytes:
    page = tmp / f"glyphs-{len(list(tmp.glob('glyphs-*')))}.html"
    body = f"<body style='margin:0;font-size:64px'>{text}</body>"
    page.write_text(f"<html><head><meta charset='utf-8'></head>{body}</html>", encoding="utf-8")
    shot = page.with_suffix(".png")
    taken = _chromium(page.as_uri(), tmp, f"--screenshot={shot}", "--window-size=800,200")
    assert taken.returncode == 0, taken.stderr[-2000:]
    return shot.read_bytes()


def test_chinese_names_are_drawn_with_a_real_font(tmp_path):
    """With no CJK font every Chinese character is the same empty box: as drawn as four unassigned code points."""
    fonts = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True)
    assert fonts.stdout.strip(), "no Chinese font: scripts/install_system_deps.sh installs fonts-noto-cjk"
    assert _glyphs("华东建材", tmp_path) != _glyphs("\ue000\ue001\ue002\ue003", tmp_path)
    assert _glyphs("华东建材", tmp_path) != _glyphs("浙江能源", tmp_path)


def test_a_rerun_is_a_run_of_its_own(factory):
    db = factory["home"] / "airflow" / "airflow.db"
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT run_id, conf, start_date, end_date FROM dag_run WHERE dag_id='ingest_returned_data' "
            "ORDER BY run_after"
        ).fetchall()
    assert len({r[0] for r in rows}) == len(RUNS)
    assert [json.loads(r[1])["logical_date"] for r in rows] == RUNS  # in the order they ran
    assert all(start and end and start < end for _, _, start, end in rows)
