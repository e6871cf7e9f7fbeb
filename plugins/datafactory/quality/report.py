"""Reviewer's quality report: one static HTML page per run date, and an index across runs."""

from __future__ import annotations

import json
from datetime import date
from html import escape
from pathlib import Path
from typing import Any

from datafactory.zones import Zones

_STYLE = """body{font-family:system-ui,sans-serif;margin:2rem;color:#222}table{border-collapse:collapse;margin:1rem 0}
td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}th{background:#f3f3f3}.bad{color:#b00020;font-weight:bold}
.ok{color:#0a7a2f}code{background:#f6f6f6;padding:0 3px}"""


def load_results(zones: Zones, logical_date: date) -> list[dict[str, Any]]:
    folder = zones.home / "quality" / logical_date.isoformat()
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]


def _page(title: str, body: str) -> str:
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body><h1>{escape(title)}</h1>{body}</body></html>"
    )


def render_run(logical_date: date, results: list[dict[str, Any]]) -> str:
    rows = []
    for r in results:
        balanced = r["rows_in"] == r["rows_conformed"] + r["rows_quarantined"]
        rows.append(
            f"<tr><td>{escape(r['source'])}</td><td>{r['rows_in']}</td><td>{r['rows_conformed']}</td>"
            f"<td>{r['rows_quarantined']}</td><td class='{'ok' if balanced else 'bad'}'>"
            f"{'balanced' if balanced else 'UNBALANCED'}</td></tr>"
        )
    failing = []
    for r in results:
        for e in r["expectations"]:
            if not e["success"]:
                samples = ", ".join(escape(str(v)) for v in e["sample_values"])
                failing.append(
                    f"<tr><td>{escape(r['source'])}</td><td><code>{escape(e['label'])}</code></td>"
                    f"<td>{escape(e['severity'])}</td><td>{e['unexpected_count']}</td><td>{samples}</td></tr>"
                )
    critical = [f"<li class='bad'>{escape(r['source'])}: {escape(c)}</li>" for r in results for c in r["critical"]]
    body = (
        "<h2>Rows per feed</h2><table><tr><th>feed</th><th>rows in</th><th>passed (conformed)</th>"
        "<th>quarantined</th><th>accounting</th></tr>" + "".join(rows) + "</table>"
        "<h2>Critical failures</h2>"
        + (f"<ul>{''.join(critical)}</ul>" if critical else "<p class='ok'>None.</p>")
        + "<h2>Failing expectations</h2><table><tr><th>feed</th><th>expectation</th><th>severity</th>"
        "<th>rows</th><th>sample values (masked)</th></tr>" + "".join(failing) + "</table>"
    )
    return _page(f"Quality report {logical_date.isoformat()}", body)


def render_index(runs: list[tuple[str, list[dict[str, Any]]]]) -> str:
    rows = []
    for day, results in runs:
        rows_in = sum(r["rows_in"] for r in results)
        quarantined = sum(r["rows_quarantined"] for r in results)
        critical = sum(len(r["critical"]) for r in results)
        rate = quarantined / rows_in if rows_in else 0.0
        rows.append(
            f"<tr><td><a href='{day}/index.html'>{day}</a></td><td>{len(results)}</td><td>{rows_in}</td>"
            f"<td>{quarantined}</td><td>{rate:.2%}</td><td class='{'bad' if critical else 'ok'}'>{critical}</td></tr>"
        )
    body = (
        "<table><tr><th>run date</th><th>feeds</th><th>rows in</th><th>quarantined</th><th>quarantine rate</th>"
        "<th>critical</th></tr>" + "".join(rows) + "</table>"
    )
    return _page("Quality reports", body)


def write_reports(zones: Zones, logical_date: date) -> Path:
    """Write the run's page and refresh the index; returns the run page's path."""
    out = zones.reports()
    page = out / logical_date.isoformat() / "index.html"
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(render_run(logical_date, load_results(zones, logical_date)), encoding="utf-8")
    days = sorted(p.name for p in (zones.home / "quality").iterdir() if p.is_dir())
    runs = [(d, load_results(zones, date.fromisoformat(d))) for d in days]
    (out / "index.html").write_text(render_index(runs), encoding="utf-8")
    return page
