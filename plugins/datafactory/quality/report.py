"""Reviewer's quality report: one static HTML page per run date, an index with trends across runs,
and GE Data Docs beside them. Every value shown comes from the masked quality results.

Pages are Jinja2 templates (quality/templates); charts are matplotlib small multiples inlined as SVG.
Every page is rendered again after each run, so a rerun's results (or a model check that lands after
the ingest report) always show.
"""

from __future__ import annotations

import json
import math
import re
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from datafactory.zones import Zones

TOP_FAILING = 8
PSI_LIMIT = 0.25  # the population stability index above which scores have shifted
DEFAULT_QUARANTINE_BUDGET = 0.05  # share of a feed's rows that may be quarantined before a reviewer looks
TEMPLATES = Path(__file__).with_name("templates")
_NANOS = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})?$")


def _documents(zones: Zones, logical_date: date) -> list[dict[str, Any]]:
    folder = zones.home / "quality" / logical_date.isoformat()
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]


def load_results(zones: Zones, logical_date: date) -> list[dict[str, Any]]:
    """The feeds' quality results of a run date."""
    return [d for d in _documents(zones, logical_date) if "source" in d and "rows_in" in d]


def load_model_checks(zones: Zones, logical_date: date) -> list[dict[str, Any]]:
    """Score-stability checks the models write beside them (`model_<scenario>.json`)."""
    return [d for d in _documents(zones, logical_date) if "scenario" in d and "psi" in d]


def balanced(result: dict[str, Any]) -> bool:
    return result["rows_in"] == result["rows_conformed"] + result["rows_quarantined"]


@cache
def _templates():
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def format_value(value: Any) -> str:
    """A sample value as a reviewer reads it: numbers with separators, stamps without nanoseconds,
    midnight stamps as dates, rows as `column=value` pairs, missing values as `null`."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value in ("<NA>", "NaT", "nan"):
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) >= 0.01 or value == 0 else f"{value:.3g}"
    if isinstance(value, dict):
        return ", ".join(f"{k}={format_value(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return " / ".join(format_value(v) for v in value)
    text = str(value)
    if match := _NANOS.match(text):
        day, clock, zone = match.groups()
        return day if clock == "00:00:00" else f"{day} {clock}{'' if zone in (None, 'Z', '+00:00') else zone}"
    return text


def samples(values: list[Any], failing_rows: int) -> list[str]:
    """Distinct formatted samples, in order, at most as many as there are failing rows."""
    shown: list[str] = []
    for value in values:
        text = format_value(value)
        if text not in shown:
            shown.append(text)
    return shown[: max(int(failing_rows), 0)]


def observed_text(value: Any) -> str:
    """GE's observed value; per-region values (a feed conformed by region) without the empty ones."""
    if isinstance(value, dict):
        return "; ".join(f"{k}: {format_value(v)}" for k, v in value.items() if v is not None)
    return "" if value is None else format_value(value)


def expectation_notes(repo: Path | None) -> dict[str, dict[str, str]]:
    """Suite -> expectation label -> its `meta.notes` (why the expectation exists), from expectations/."""
    notes: dict[str, dict[str, str]] = {}
    if repo is None:
        return notes
    for path in sorted((repo / "expectations").glob("*.json")):
        suite = json.loads(path.read_text(encoding="utf-8"))
        for e in suite.get("expectations", []):
            kwargs = e.get("kwargs", {})
            column = (
                kwargs.get("column")
                or ",".join(str(kwargs[k]) for k in ("column_A", "column_B") if k in kwargs)
                or ",".join(kwargs.get("column_list") or [])
            )
            label = f"{e['type']}({column})" if column else e["type"]
            if (e.get("meta") or {}).get("notes"):
                notes.setdefault(suite.get("name", path.stem), {})[label] = e["meta"]["notes"]
    return notes


def _warning_rows(result: dict[str, Any]) -> int:
    return sum(
        int(e["unexpected_count"]) for e in result["expectations"] if e["severity"] == "warning" and not e["success"]
    )


def _rate(result: dict[str, Any]) -> float:
    return result["rows_quarantined"] / result["rows_in"] if result["rows_in"] else 0.0


def render_run(
    logical_date: date,
    results: list[dict[str, Any]],
    docs: dict[str, list[tuple[str, str]]] | None = None,
    model_checks: list[dict[str, Any]] | None = None,
    budgets: dict[str, float] | None = None,
    notes: dict[str, dict[str, str]] | None = None,
) -> str:
    docs, budgets, notes = docs or {}, budgets or {}, notes or {}
    day = logical_date.isoformat()
    rows_in = sum(r["rows_in"] for r in results)
    totals = {
        "rows_in": rows_in,
        "rows_conformed": sum(r["rows_conformed"] for r in results),
        "rows_quarantined": sum(r["rows_quarantined"] for r in results),
        "warning_rows": sum(_warning_rows(r) for r in results),
    }
    totals["rate"] = totals["rows_quarantined"] / rows_in if rows_in else 0.0
    feeds = []
    for r in results:
        budget = budgets.get(r["source"], DEFAULT_QUARANTINE_BUDGET)
        partition = f"quarantine/{r['source']}/ds={day}"
        feeds.append(
            {
                **r,
                "rows_released": r.get("rows_released", 0),
                "balanced": balanced(r),
                "rate": _rate(r),
                "budget": budget,
                "over_budget": _rate(r) > budget,
                "warning_rows": _warning_rows(r),
                "docs": docs.get(r["source"], []),
                "quarantine": f"../../{partition}/",
                "quarantine_label": partition,
            }
        )
    failing = [
        {
            "source": r["source"],
            "label": e["label"],
            "why": notes.get(r.get("suite", r["source"]), {}).get(e["label"], ""),
            "severity": e["severity"],
            "rows": e["unexpected_count"],
            "samples": samples(e["sample_values"], e["unexpected_count"]),
            "observed": observed_text(e.get("observed")),
        }
        for r in results
        for e in r["expectations"]
        if not e["success"]
    ]
    severity_order = {"critical": 0, "quarantine": 1, "warning": 2}
    failing.sort(key=lambda e: (severity_order.get(e["severity"], 3), -int(e["rows"]), e["source"], e["label"]))
    critical = [f"{r['source']}: {c}" for r in results for c in r["critical"]]
    return (
        _templates()
        .get_template("run.html.j2")
        .render(
            title=f"Quality report {day}",
            day=day,
            totals=totals,
            critical=critical,
            feeds=feeds,
            failing=failing,
            models=model_checks or [],
            psi_limit=PSI_LIMIT,
        )
    )


def _pass_rate(result: dict[str, Any]) -> float | None:
    total = len(result["expectations"])
    return sum(e["success"] for e in result["expectations"]) / total if total else None


def trend_series(runs: list[tuple[str, list[dict[str, Any]]]]) -> dict[str, dict[str, list]]:
    """Per run: pass rate per suite, quarantine rate per feed, failing rows per top expectation."""
    by_day = [{r["source"]: r for r in results} for _, results in runs]
    feeds = sorted({feed for day in by_day for feed in day})
    pass_rate = {f: [_pass_rate(d[f]) if f in d else None for d in by_day] for f in feeds}
    quarantine = {f: [_rate(d[f]) if f in d and d[f]["rows_in"] else None for d in by_day] for f in feeds}
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


def _pct(value: float) -> str:
    return f"{value:.1%}"


def render_usage(product: str, lines: list[dict[str, Any]]) -> str:
    """A product's consumption page: who called it, for what purpose, and what they got."""
    return (
        _templates()
        .get_template("usage.html.j2")
        .render(
            title=f"Consumption of {product}",
            lines=lines,
            count="{:,.0f}".format,
            stamp=lambda at: at.isoformat(sep=" ", timespec="seconds"),
        )
    )


def render_index(
    runs: list[tuple[str, list[dict[str, Any]]]],
    models: dict[str, list[dict[str, Any]]] | None = None,
    budgets: dict[str, float] | None = None,
    consumed: list[str] | None = None,
) -> str:
    """The index: the latest run's summary, small multiples of the trends, and the runs newest first."""
    from datafactory.quality.charts import small_multiples

    models, budgets = models or {}, budgets or {}
    runs = sorted(runs)
    days = [day for day, _ in runs]
    trends = trend_series(runs)
    scenarios = sorted({c["scenario"] for checks in models.values() for c in checks})
    psi = {
        s: [next((c["psi"] for c in models.get(d, []) if c["scenario"] == s), None) for d in days] for s in scenarios
    }
    limits = {f: budgets.get(f, DEFAULT_QUARANTINE_BUDGET) for f in trends["quarantine_rate"]}
    table = []
    for day, results in reversed(runs):
        rows_in = sum(r["rows_in"] for r in results)
        quarantined = sum(r["rows_quarantined"] for r in results)
        table.append(
            {
                "day": day,
                "feeds": len(results),
                "rows_in": rows_in,
                "quarantined": quarantined,
                "rate": quarantined / rows_in if rows_in else 0.0,
                "critical": sum(len(r["critical"]) for r in results),
            }
        )
    latest = None
    if table:
        latest = {
            **table[0],
            "over_budget": [r["source"] for r in runs[-1][1] if _rate(r) > limits.get(r["source"], 0.0)],
            "models": models.get(table[0]["day"], []),
        }
    return (
        _templates()
        .get_template("index.html.j2")
        .render(
            title="Quality reports",
            latest=latest,
            runs=table,
            quarantine=small_multiples(days, trends["quarantine_rate"], limits, _pct),
            psi=small_multiples(days, psi, PSI_LIMIT, "{:.3f}".format) if psi else [],
            failing=small_multiples(days, trends["top_failing"], None, "{:,.0f}".format),
            pass_rate=small_multiples(
                days, trends["pass_rate"], None, "{:.0%}".format, higher_is_worse=False, floor=1.0
            ),
            psi_limit=PSI_LIMIT,
            consumed=consumed or [],
            pct=_pct,
            num="{:.3f}".format,
            count="{:,.0f}".format,
            pct0="{:.0%}".format,
        )
    )


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

    build_data_docs(zones, logical_date)
    return write_pages(zones, logical_date)


def quarantine_budgets(repo: Path | None) -> dict[str, float]:
    """Each feed's quarantine-rate budget from its spec (`quarantine_budget`), else the default."""
    if repo is None:
        return {}
    from datafactory.specs import load_sources

    budgets = {}
    for name, spec in load_sources(repo).items():
        budget = spec.quarantine_budget
        budgets[name] = float(budget) if budget is not None else DEFAULT_QUARANTINE_BUDGET
    return budgets


def usage_rows(state: Any) -> list[dict[str, Any]]:
    """Every call on the usage ledger in the state DB (an engine), or none when no API ever ran."""
    import sqlalchemy as sa

    from datafactory.serving.tables import USAGE

    if not sa.inspect(state).has_table(USAGE.name):
        return []
    with state.connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(USAGE).order_by(USAGE.c.id)).mappings()]


def write_usage_pages(out: Path, rows: list[dict[str, Any]]) -> list[str]:
    """`usage/<product>.html` for every product someone called; returns those products."""
    from datafactory.serving.usage import consumption

    pages = consumption(rows)
    if pages:
        (out / "usage").mkdir(parents=True, exist_ok=True)
    for product, lines in pages.items():
        (out / "usage" / f"{product}.html").write_text(render_usage(product, lines), encoding="utf-8")
    return sorted(pages)


def write_pages(zones: Zones, logical_date: date | None = None, repo: Path | None = None, state: Any = None) -> Path:
    """Render every run page, the consumption pages and the index again from what is on disk and in the
    usage ledger (a rerun, or a model check that arrived after the run's own report, always shows);
    returns the run's page (or the index). `state`: the state DB engine (default: the settings')."""
    if repo is None or state is None:
        from datafactory.settings import load_settings

        settings = load_settings()
        repo = repo or settings.repo
        state = state if state is not None else settings.state_engine()
    budgets, notes = quarantine_budgets(repo), expectation_notes(repo)
    out = zones.reports()
    folder = zones.home / "quality"
    days = sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.exists() else []
    runs = [(d, load_results(zones, date.fromisoformat(d))) for d in days]
    models = {d: load_model_checks(zones, date.fromisoformat(d)) for d in days}
    for day, results in runs:
        page = out / day / "index.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        docs = _docs_links(out, day, results)
        html = render_run(date.fromisoformat(day), results, docs, models[day], budgets, notes)
        page.write_text(html, encoding="utf-8")
    out.mkdir(parents=True, exist_ok=True)
    consumed = write_usage_pages(out, usage_rows(state))
    (out / "index.html").write_text(render_index(runs, models, budgets, consumed), encoding="utf-8")
    return out / (logical_date.isoformat() if logical_date else "") / "index.html"
