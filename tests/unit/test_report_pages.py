"""The reviewers' pages from small hand-made results: what a reviewer reads at a glance."""

from __future__ import annotations

import re
from datetime import date

import pytest

from datafactory.quality.charts import small_multiples
from datafactory.quality.report import (
    DEFAULT_QUARANTINE_BUDGET,
    PSI_LIMIT,
    format_value,
    render_index,
    render_run,
    samples,
)

pytestmark = pytest.mark.unit


def _result(source: str, rows_in: int, held: int, failing: list[dict] | None = None) -> dict:
    return {
        "source": source,
        "suite": source,
        "run_id": "manual__x",
        "rows_in": rows_in,
        "rows_conformed": rows_in - held,
        "rows_quarantined": held,
        "rows_released": 0,
        "critical": [],
        "warnings": [],
        "expectations": [
            {
                "label": "expect_x",
                "severity": "warning",
                "success": True,
                "unexpected_count": 0,
                "sample_values": [],
                "observed": None,
            },
            *(failing or []),
        ],
    }


def _failing(label: str, severity: str, count: int, values: list) -> dict:
    return {
        "label": label,
        "severity": severity,
        "success": False,
        "unexpected_count": count,
        "sample_values": values,
        "observed": None,
    }


def test_values_are_formatted_by_type():
    assert format_value(-93.69160852194653) == "-93.69"
    assert format_value(1234567.891) == "1,234,567.89"
    assert format_value("2026-11-01T00:00:00.000000000") == "2026-11-01"
    assert format_value("2026-11-01T08:30:05.120000000") == "2026-11-01 08:30:05"
    assert format_value({"meter_id": "M1", "kwh": -3.14159}) == "meter_id=M1, kwh=-3.14"
    assert format_value(None) == "null" and format_value("<NA>") == "null"
    assert format_value("浙江华东建材有限公司") == "浙江华东建材有限公司"


def test_samples_are_distinct_and_never_more_than_the_failing_rows():
    assert samples(["A", "A", "B", "C", "D"], 2) == ["A", "B"]
    assert samples([-1.0, -1.0], 4) == ["-1.00"]
    assert samples(["x"], 0) == []


def test_small_multiples_put_the_worst_first_and_draw_the_threshold():
    charts = small_multiples(
        ["2026-11-01", "2026-11-02"],
        {"calm": [0.01, 0.01], "over": [0.02, 0.09], "close": [0.03, 0.045]},
        {"calm": 0.05, "over": 0.05, "close": 0.05},
    )
    assert [c.name for c in charts] == ["over", "close", "calm"]
    assert charts[0].over and not charts[1].over
    assert all(c.svg.startswith("<svg") and 'id="threshold' in c.svg for c in charts)


def test_the_index_has_the_latest_run_on_top_and_runs_newest_first():
    runs = [
        ("2026-11-01", [_result("ent_registry", 100, 1), _result("med_visits", 50, 0)]),
        ("2026-11-02", [_result("ent_registry", 100, 9), _result("med_visits", 50, 1)]),
    ]
    models = {"2026-11-02": [{"scenario": "anti_fraud", "model_version": 2, "psi": 0.0038, "warning": False}]}
    html = render_index(runs, models, {"ent_registry": 0.05})
    assert html.index('id="latest"') < html.index('id="quarantine-rate"')
    assert html.index('href="2026-11-02/index.html"') < html.index('href="2026-11-01/index.html"')
    latest = html[html.index('id="latest"') : html.index('id="quarantine-rate"')]
    assert "2026-11-02" in latest and "Over their quarantine budget: ent_registry" in latest
    spark = html[html.index('id="quarantine-rate"') : html.index('id="psi"')]
    assert [m for m in re.findall(r'data-series="([^"]+)"', spark)] == ["ent_registry", "med_visits"]
    assert spark.count("<svg") == 2 and spark.count('id="threshold') == 2
    psi = html[html.index('id="psi"') : html.index('id="top-failing"')]
    assert psi.count("<svg") == 1 and f"limit {PSI_LIMIT:.3f}" in psi and "v2" in latest


def test_a_day_page_counts_rows_says_why_and_links_docs_and_quarantine():
    failing = [
        _failing("expect_column_values_to_be_valid_uscc(uscc)", "warning", 2, ["91A", "91A", "91B", "91C"]),
        _failing("expect_column_values_to_be_non_negative(kwh)", "quarantine", 1, [-93.69160852194653, -5.0]),
    ]
    notes = {"ent_registry": {"expect_column_values_to_be_valid_uscc(uscc)": "pilot codes fail the check"}}
    docs = {"ent_registry": [("Data Docs", "data_docs/validations/ent_registry/x/y/ent_registry.html")]}
    html = render_run(date(2026, 11, 2), [_result("ent_registry", 100, 1, failing)], docs, [], {}, notes)
    assert html.index('id="summary"') < html.index('id="feeds"')
    assert '<b id="warning-rows">2</b>' in html  # rows, not expectations
    assert "pilot codes fail the check" in html
    assert "<code>-93.69</code>" in html and "-5.00" not in html  # one failing row: one sample
    assert "<code>91A</code>, <code>91B</code></td>" in html
    assert 'href="../data_docs/validations/ent_registry/x/y/ent_registry.html"' in html
    assert 'href="../../quarantine/ent_registry/ds=2026-11-02/"' in html
    assert f"{DEFAULT_QUARANTINE_BUDGET:.1%}" in html
