"""Quarantine split, masking, trend series and the report pages (pure functions)."""

from __future__ import annotations

import re
from datetime import date

import pandas as pd
import pytest

from datafactory.quality.masking import mask_value
from datafactory.quality.report import render_index, render_run, trend_series
from datafactory.quality.runner import ExpectationOutcome
from datafactory.quality.split import REASON_COLUMN, ROW_COLUMN, older_duplicates, row_failures, split_rows

pytestmark = pytest.mark.unit


def test_each_quarantined_row_carries_every_failed_expectation_run_and_feed():
    raw = pd.DataFrame({"k": ["a", "b", "b", "c"], "x": [1, -1, 2, -5], "t": [1, 2, 3, 4]})
    duplicates = older_duplicates(raw, ["k"], "t")
    outcomes = [
        ExpectationOutcome("expect_column_values_to_be_unique", "k", "quarantine", False, 2),
        ExpectationOutcome("expect_column_values_to_be_non_negative", "x", "quarantine", False, 2, failed_rows=[1, 3]),
        ExpectationOutcome("expect_column_values_to_be_valid_uscc", "k", "warning", False, 4, failed_rows=[0, 1, 2, 3]),
    ]
    failures = row_failures(len(raw), outcomes, duplicates, {"t": pd.Series([False, False, False, True])})
    split = split_rows(raw, raw, failures, "run-1", "feed_a")
    assert len(split.conformed) + len(split.quarantined) == len(raw)
    assert split.conformed["k"].tolist() == ["a", "b"]  # the newest "b" is kept
    assert split.quarantined[REASON_COLUMN].tolist() == [
        "expect_column_values_to_be_unique(k); expect_column_values_to_be_non_negative(x)",
        "expect_column_values_to_be_non_negative(x); expect_column_values_to_be_of_type(t)",
    ]
    assert split.quarantined[ROW_COLUMN].tolist() == [1, 3]
    assert set(split.quarantined["_run_id"]) == {"run-1"} and set(split.quarantined["_source"]) == {"feed_a"}
    assert split.failures_by_label["expect_column_values_to_be_non_negative(x)"] == 2


def test_a_critical_failure_holds_the_whole_batch():
    raw = pd.DataFrame({"k": ["a", "b"]})
    failures = row_failures(2, [], pd.Series([False, False]), {}).with_batch_failure(["expect_table_row_count"])
    split = split_rows(raw, raw, failures, "r", "f")
    assert split.conformed.empty and split.quarantined[REASON_COLUMN].tolist() == ["expect_table_row_count"] * 2


@pytest.mark.parametrize(
    "value,personal,shown",
    [
        ("330281199001011234", False, "3302**********1234"),
        ("34052419800101001X", True, "3405**********001X"),
        ("13812345678", False, "138****5678"),
        ("p_2f1e0c", True, "***"),
        ("91110000600037341L", False, "91110000600037341L"),  # enterprise codes are public
        (12.5, False, 12.5),
    ],
)
def test_masking(value, personal, shown):
    assert mask_value(value, personal) == shown


def _result(source: str, rows_in: int, quarantined: int, failing: list[tuple[str, int]]) -> dict:
    expectations = [
        {"label": label, "severity": "quarantine", "success": False, "unexpected_count": n, "sample_values": ["x"]}
        for label, n in failing
    ] + [{"label": "ok", "severity": "critical", "success": True, "unexpected_count": 0, "sample_values": []}]
    return {
        "source": source,
        "rows_in": rows_in,
        "rows_conformed": rows_in - quarantined,
        "rows_quarantined": quarantined,
        "critical": [],
        "warnings": [],
        "expectations": expectations,
    }


def test_trends_per_suite_feed_and_expectation():
    runs = [
        ("2026-11-01", [_result("a", 100, 10, [("neg(x)", 10)]), _result("b", 50, 0, [])]),
        ("2026-11-02", [_result("a", 20, 0, [])]),
    ]
    trends = trend_series(runs)
    assert trends["pass_rate"] == {"a": [0.5, 1.0], "b": [1.0, None]}
    assert trends["quarantine_rate"] == {"a": [0.1, 0.0], "b": [0.0, None]}
    assert trends["top_failing"] == {"a: neg(x)": [10, 0]}


def test_run_page_and_index_show_the_numbers_and_charts():
    results = [_result("a", 1200, 34, [("expect_column_values_to_be_valid_resident_id(p)", 34)])]
    results[0]["expectations"][0]["sample_values"] = ["3302**********123X"]
    page = render_run(date(2026, 11, 1), results, {"a": [("Data Docs", "data_docs/validations/a.html")]})
    assert '<b id="rows-in">1200</b>' in page and '<b id="rows-quarantined">34</b>' in page
    assert "3302**********123X" in page and "balanced" in page and "../data_docs/validations/a.html" in page
    assert not re.search(r"\d{17}[\dX]", page)
    index = render_index([("2026-11-01", results), ("2026-11-02", results)])
    assert index.count("<svg") == 3 and "Quarantine rate per feed" in index and "2026-11-02/index.html" in index
