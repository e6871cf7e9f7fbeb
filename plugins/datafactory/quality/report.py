"""Reviewer's quality report: one static HTML page per run date, an index with trends across runs,
and GE Data Docs beside them. Every value shown comes from the masked quality results."""

from __future__ import annotations

import json
from datetime import date
from html import escape
from pathlib import Path
from typing import Any

from datafactory.quality.charts import line_chart, nice_max, stacked_bars
from datafactory.zones import Zones

_STYLE = """body{font-family:system-ui,sans-serif;margin:2rem;color:#222;max-width:1200px}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}
th{background:#f3f3f3}td.n{text-align:right;font-variant-numeric:tabular-nums}.bad{color:#b00020;font-weight:bold}
.warn{color:#9a6700}.ok{color:#0a7a2f}code{background:#f6f6f6;padding:0 3px}.chart{display:block;margin:1rem 0}
.totals span{display:inline-block;margin-right:2rem;font-size:1.1rem}"""
TOP_FAILING = 8


def _documents(zones: Zones, logical_date: date) -> list[dict[str, Any]]:
    folder = zones.home / "quality" / logical_date.isoformat()
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]


def load_results(zones: Zones, logical_date: date) -> list[dict[str, Any]]:
    """The feeds' quality results of a run date."""
    return [d for d in _documents(zones, logical_date) if "source" in d and "rows_in" in d]


def load_model_checks(zones: Zones, logical_date: date) -> list[dict[str, Any]]:
    """Score-stability checks the models write beside them (`model_<scenario>.json`)."""
    return [d for d in _documents(zones, logical_date) if "scenario" in d and "psi" in d]


def _model_section(checks: list[dict[str, Any]]) -> str:
    if not checks:
        return ""
    rows = "".join(
        f"<tr><td>{escape(str(c['scenario']))}</td><td>{escape(str(c.get('model_version', '')))}</td>"
        f"<td class='n'>{c.get('rows_scored', '')}</td><td class='n'>{c['psi']:.3f}</td>"
        f"<td class='n'>{c.get('threshold', '')}</td><td class='{'warn' if c.get('warning') else 'ok'}'>"
        f"{'shifted' if c.get('warning') else 'stable'}</td></tr>"
        for c in checks
    )
    return (
        "<h2>Model score stability</h2><p>PSI of today's scores against the model's training scores "
        "(&lt; 0.1 stable, 0.1–0.25 watch, &gt; 0.25 shifted).</p><table><tr><th>scenario</th><th>model version</th>"
        f"<th>rows scored</th><th>PSI</th><th>threshold</th><th>status</th></tr>{rows}</table>"
    )


def _page(title: str, body: str) -> str:
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body><h1>{escape(title)}</h1>{body}</body></html>"
    )


def balanced(result: dict[str, Any]) -> bool:
    return result["rows_in"] == result["rows_conformed"] + result["rows_quarantined"]


def _observed(value: Any) -> str:
    """GE's observed value; per-region values (a feed conformed by region) without the empty ones."""
    if isinstance(value, dict):
        return "; ".join(f"{k}: {v}" for k, v in value.items() if v is not None)
    return "" if value is None else str(value)


def _samples(values: list[Any]) -> str:
    return ", ".join(f"<code>{escape(str(v))}</code>" for v in values)


def render_run(
    logical_date: date,
    results: list[dict[str, Any]],
    docs: dict[str, list[tuple[str, str]]] | None = None,
    model_checks: list[dict[str, Any]] | None = None,
) -> str:
    docs = docs or {}
    rows_in = sum(r["rows_in"] for r in results)
    conformed = sum(r["rows_conformed"] for r in results)
    quarantined = sum(r["rows_quarantined"] for r in results)
    feeds = []
    for r in results:
        ok = balanced(r)
        link = " ".join(f"<a href='../{escape(path)}'>{escape(label)}</a>" for label, path in docs.get(r["source"], []))
        feeds.append(
            f"<tr><td>{escape(r['source'])}</td><td class='n'>{r['rows_in']}</td>"
            f"<td class='n'>{r['rows_conformed']}</td>"
            f"<td class='n'>{r['rows_quarantined']}</td><td class='n'>{r.get('rows_released', 0)}</td>"
            f"<td class='{'ok' if ok else 'bad'}'>{'balanced' if ok else 'UNBALANCED'}</td>"
            f"<td class='n'>{len(r.get('warnings', []))}</td>"
            f"<td>{link}</td></tr>"
        )
    failing = []
    for r in results:
        for e in r["expectations"]:
            if e["success"]:
                continue
            css = {"critical": "bad", "warning": "warn"}.get(e["severity"], "")
            observed = escape(_observed(e.get("observed")))
            failing.append(
                f"<tr><td>{escape(r['source'])}</td><td><code>{escape(e['label'])}</code></td>"
                f"<td class='{css}'>{escape(e['severity'])}</td><td class='n'>{e['unexpected_count']}</td>"
                f"<td>{_samples(e['sample_values'])}</td><td>{observed}</td></tr>"
            )
    critical = [f"<li class='bad'>{escape(r['source'])}: {escape(c)}</li>" for r in results for c in r["critical"]]
    body = (
        "<p><a href='../index.html'>All runs and trends</a> · <a href='../data_docs/index.html'>GE Data Docs</a></p>"
        f"<p class='totals'><span>rows in <b id='rows-in'>{rows_in}</b></span>"
        f"<span>passed <b id='rows-conformed'>{conformed}</b></span>"
        f"<span>quarantined <b id='rows-quarantined'>{quarantined}</b></span>"
        f"<span>critical failures <b id='critical-count'>{len(critical)}</b></span></p>"
        "<h2>Critical failures</h2>"
        + (f"<ul>{''.join(critical)}</ul>" if critical else "<p class='ok'>None.</p>")
        + "<h2>Rows per feed</h2><table><tr><th>feed</th><th>rows in</th><th>passed (conformed)</th>"
        "<th>quarantined</th><th>released</th><th>accounting</th><th>warnings</th><th>GE Data Docs</th></tr>"
        + "".join(feeds)
        + "</table><h2>Failing expectations</h2><p>Sample values are masked: personal fields are never shown, "
        "resident IDs keep their first and last four characters.</p><table><tr><th>feed</th><th>expectation</th>"
        "<th>severity</th><th>rows</th><th>sample values (masked)</th><th>observed</th></tr>"
        + ("".join(failing) or "<tr><td colspan='6' class='ok'>Every expectation passed.</td></tr>")
        + "</table>"
        + _model_section(model_checks or [])
    )
    return _page(f"Quality report {logical_date.isoformat()}", body)


def _pass_rate(result: dict[str, Any]) -> float | None:
    total = len(result["expectations"])
    return sum(e["success"] for e in result["expectations"]) / total if total else None


def trend_series(runs: list[tuple[str, list[dict[str, Any]]]]) -> dict[str, dict[str, list]]:
    """Per run: pass rate per suite, quarantine rate per feed, failing rows per top expectation."""
    by_day = [{r["source"]: r for r in results} for _, results in runs]
    feeds = sorted({feed for day in by_day for feed in day})
    pass_rate = {f: [_pass_rate(d[f]) if f in d else None for d in by_day] for f in feeds}
    quarantine = {
        f: [d[f]["rows_quarantined"] / d[f]["rows_in"] if f in d and d[f]["rows_in"] else None for d in by_day]
        for f in feeds
    }
    totals: dict[str, int] = {}
    per_day: list[dict[str, int]] = []
    for day in by_day:
        counts: dict[str, int] = {}
        for feed, r in day.items():
            for e in r["expectations"]:
                if not e["success"]:
                    label = f"{feed}: {e['label'].removeprefix('expect_').removeprefix('column_values_to_')}"
                    counts[label] = counts.get(label, 0) + max(int(e["unexpected_count"]), 1)
        per_day.append(counts)
        for label, n in counts.items():
            totals[label] = totals.get(label, 0) + n
    top = sorted(totals, key=lambda k: (-totals[k], k))[:TOP_FAILING]
    failing = {label: [counts.get(label, 0) for counts in per_day] for label in top}
    return {"pass_rate": pass_rate, "quarantine_rate": quarantine, "top_failing": failing}


def render_index(
    runs: list[tuple[str, list[dict[str, Any]]]], models: dict[str, list[dict[str, Any]]] | None = None
) -> str:
    days = [day for day, _ in runs]
    trends = trend_series(runs)
    scenarios = sorted({c["scenario"] for checks in (models or {}).values() for c in checks})
    score_psi = {
        s: [next((c["psi"] for c in (models or {}).get(d, []) if c["scenario"] == s), None) for d in days]
        for s in scenarios
    }
    psi_values = [v for values in score_psi.values() for v in values if v is not None]
    quarantine_values = [v for values in trends["quarantine_rate"].values() for v in values if v is not None]
    charts = (
        line_chart("Pass rate per suite (share of expectations met)", days, trends["pass_rate"], 1.0, "{:.0%}")
        + line_chart(
            "Quarantine rate per feed (share of rows in)",
            days,
            trends["quarantine_rate"],
            nice_max(quarantine_values, 0.01),
            "{:.1%}",
        )
        + stacked_bars("Top failing expectations over time (failing rows)", days, trends["top_failing"])
        + (
            line_chart(
                "Model score stability (PSI, > 0.25 shifted)", days, score_psi, nice_max(psi_values, 0.3), "{:.2f}"
            )
            if score_psi
            else ""
        )
    )
    rows = []
    for day, results in runs:
        rows_in = sum(r["rows_in"] for r in results)
        quarantined = sum(r["rows_quarantined"] for r in results)
        critical = sum(len(r["critical"]) for r in results)
        rate = quarantined / rows_in if rows_in else 0.0
        rows.append(
            f"<tr><td><a href='{day}/index.html'>{day}</a></td><td class='n'>{len(results)}</td>"
            f"<td class='n'>{rows_in}</td><td class='n'>{quarantined}</td><td class='n'>{rate:.2%}</td>"
            f"<td class='{'bad' if critical else 'ok'}'>{critical}</td></tr>"
        )
    body = (
        "<p><a href='data_docs/index.html'>GE Data Docs</a> (every suite and run, as GE renders them)</p>"
        "<h2>Trends</h2>" + charts + "<h2>Runs</h2><table><tr><th>run date</th><th>feeds</th><th>rows in</th>"
        "<th>quarantined</th><th>quarantine rate</th><th>critical</th></tr>" + "".join(rows) + "</table>"
    )
    return _page("Quality reports", body)


def _docs_links(reports: Path, day: str, results: list[dict[str, Any]]) -> dict[str, list[tuple[str, str]]]:
    """Feed -> its Data Docs pages as (label, path relative to the reports folder): one page for a
    feed conformed whole, one per region for a feed conformed region by region."""
    links: dict[str, list[tuple[str, str]]] = {}
    for r in results:
        folder = Path("data_docs") / "validations" / r["suite"] / day / f"{day.replace('-', '')}T000000.000000Z"
        whole = folder / f"{r['source']}.html"
        if (reports / whole).exists():
            links[r["source"]] = [("Data Docs", str(whole))]
            continue
        regions = sorted((reports / folder).glob(f"{r['source']}.*.html"))
        links[r["source"]] = [(p.stem.split(".", 1)[1], str(p.relative_to(reports))) for p in regions]
    return links


def write_reports(zones: Zones, logical_date: date) -> Path:
    """Build the run's Data Docs, then write every run page (model checks arrive after the run's own
    report) and the index; returns the run's page."""
    from datafactory.quality.data_docs import build_data_docs

    out = zones.reports()
    build_data_docs(zones, logical_date)
    days = sorted(p.name for p in (zones.home / "quality").iterdir() if p.is_dir())
    runs = [(d, load_results(zones, date.fromisoformat(d))) for d in days]
    models = {d: load_model_checks(zones, date.fromisoformat(d)) for d in days}
    for day, results in runs:
        page = out / day / "index.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        html = render_run(date.fromisoformat(day), results, _docs_links(out, day, results), models[day])
        page.write_text(html, encoding="utf-8")
    (out / "index.html").write_text(render_index(runs, models), encoding="utf-8")
    return out / logical_date.isoformat() / "index.html"
