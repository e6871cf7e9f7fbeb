"""Each expectation's declared severity is the one applied, whatever order GE returns its results in.

GE 1.x returns a suite's results grouped by metric, not in suite order, so pairing results with
expectations by position put a warning's severity on a quarantine check. These tests run every suite
in expectations/ on a frame built to fail in many different ways, and check that each result belongs
to the expectation it is reported for, and that shuffling the suite changes no outcome.
"""

from __future__ import annotations

import random
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from datafactory.domain.identifiers import make_uscc
from datafactory.quality.parameters import suite_parameters
from datafactory.quality.runner import ExpectationOutcome, validate_frame
from datafactory.quality.split import row_failures
from datafactory.specs import SourceSpec, SuiteSpec, load_sources, load_suite
from datafactory.zones import Zones

pytestmark = pytest.mark.unit
REPO = Path(__file__).resolve().parents[2]
DAY = date(2026, 11, 1)
SPECS = load_sources(REPO)
ROWS = 24


def _column(kind: str, name: str, rng: np.random.Generator) -> pd.Series:
    """Values of one kind, a different mix of good, bad and missing per column (so expectations on
    different columns fail on different rows)."""
    good_uscc = make_uscc("330281", "MA2H7K3L")
    texts = [good_uscc, good_uscc[:-1] + "0", "2026-10", "2026-13", "202610", "A", "330281", "", None, "x" * 3]
    pools = {
        "string": texts,
        "float": [-5.5, 0.0, 12.25, 1e9, None],
        "int": [-1, 0, 1, 3, 7, None],
        "date": [pd.Timestamp("2026-10-03"), pd.Timestamp("2027-05-01"), pd.Timestamp("1890-01-01"), pd.NaT],
        "timestamp": [pd.Timestamp("2026-11-01 08:00"), pd.Timestamp("2026-10-01 08:00"), pd.NaT],
        "bool": [True, False, None],
    }
    pool = pools[kind]
    picks = rng.integers(0, len(pool), ROWS)
    values = [pool[i] for i in picks]
    if kind in ("date", "timestamp"):
        return pd.Series(pd.to_datetime(values), name=name)
    if kind == "string":
        return pd.Series(values, dtype="string", name=name)
    if kind == "int":
        return pd.Series(values, dtype="Int64", name=name)
    if kind == "bool":
        return pd.Series(values, dtype="boolean", name=name)
    return pd.Series(values, dtype="float64", name=name)


def _frame(spec: SourceSpec, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    columns = {name: _column(column.kind, name, rng) for name, column in spec.columns.items()}
    for personal, rule in spec.pii.items():  # what ingest adds next to a personal field
        if rule.validate_as:
            columns[f"{personal}_valid"] = pd.Series(rng.integers(0, 2, ROWS), dtype="Int64")
    return pd.DataFrame(columns)


def _run(spec: SourceSpec, suite: SuiteSpec, frame: pd.DataFrame, tmp_path: Path):
    parameters = suite_parameters(suite, spec.name, DAY, Zones(tmp_path), spec.row_count_tolerance)
    return validate_frame(frame, suite, parameters)


def _identity(kind: str, kwargs: dict) -> str:
    return repr((kind, sorted((k, repr(v)) for k, v in kwargs.items())))


def _keyed(outcomes: list[ExpectationOutcome], suite: SuiteSpec) -> dict[str, tuple]:
    return {
        _identity(exp.type, exp.kwargs): (o.severity, o.success, o.unexpected_count, sorted(o.failed_rows))
        for exp, o in zip(suite.expectations, outcomes, strict=True)
    }


FEEDS = sorted(SPECS)


@pytest.mark.parametrize("feed", FEEDS)
def test_every_result_is_reported_under_its_own_expectation_and_severity(feed, tmp_path):
    spec = SPECS[feed]
    suite = load_suite(REPO, spec.suite)
    outcomes, ge_result = _run(spec, suite, _frame(spec, seed=len(feed)), tmp_path)
    assert len(outcomes) == len(suite.expectations) == len(ge_result.results)
    for exp, outcome, result in zip(suite.expectations, outcomes, ge_result.results, strict=True):
        assert result.expectation_config.type == exp.type == outcome.expectation
        column = exp.kwargs.get("column") or ",".join(
            exp.kwargs.get("column_list") or [exp.kwargs[k] for k in ("column_A", "column_B") if k in exp.kwargs]
        )
        assert (outcome.column or "") == column
        reported = result.expectation_config.kwargs
        for key, value in exp.kwargs.items():
            # GE fills in parameters, and leaves out kwargs equal to their default.
            if not isinstance(value, dict) and key in reported:
                assert reported[key] == value, (exp.type, key)
        assert outcome.severity == exp.meta.severity
        # Only a quarantine check moves rows; warnings and critical checks never name rows to move.
        if outcome.severity != "quarantine":
            assert outcome.failed_rows == []
        elif not outcome.success and outcome.unexpected_count:
            assert outcome.failed_rows


def test_the_frames_make_checks_of_every_severity_fail(tmp_path):
    """Guard for the test above: it is only meaningful when failures of every severity occur."""
    failed = set()
    for feed in FEEDS:
        spec = SPECS[feed]
        frame = _frame(spec, seed=len(feed))
        frame = frame.drop(columns=frame.columns[-2])  # a contract column missing: a critical failure
        outcomes, _ = _run(spec, load_suite(REPO, spec.suite), frame, tmp_path)
        failed |= {o.severity for o in outcomes if not o.success}
    assert failed == {"critical", "quarantine", "warning"}


def test_every_feed_suite_declares_more_than_one_severity():
    """Pairing by position goes wrong only where severities differ; the real suites all mix them."""
    for feed in FEEDS:
        severities = {e.meta.severity for e in load_suite(REPO, SPECS[feed].suite).expectations}
        assert len(severities) > 1, feed


@pytest.mark.parametrize("feed", FEEDS)
def test_shuffling_a_suite_changes_no_outcome(feed, tmp_path):
    spec = SPECS[feed]
    suite = load_suite(REPO, spec.suite)
    frame = _frame(spec, seed=len(feed))
    outcomes, _ = _run(spec, suite, frame, tmp_path)
    order = list(suite.expectations)
    random.Random(feed).shuffle(order)
    shuffled = suite.model_copy(update={"expectations": order})
    shuffled_outcomes, _ = _run(spec, shuffled, frame, tmp_path)
    assert _keyed(shuffled_outcomes, shuffled) == _keyed(outcomes, suite)


def _tax_rows() -> pd.DataFrame:
    """A monthly tax export with the faults that were conformed or quarantined under the wrong severity."""
    good = [make_uscc("330281", f"MA2H7K{i:02d}") for i in range(6)]
    bad_check = good[5][:-1] + ("0" if good[5][-1] != "0" else "1")  # well formed, wrong check character
    return pd.DataFrame(
        {
            "uscc": pd.array([good[0], good[1], good[2], good[3], good[4], bad_check], dtype="string"),
            "period": pd.array(["2026-10", "2026-13", "202610", "2026-09", "2026-10", "2026-10"], dtype="string"),
            "revenue": [100.0, 100.0, 100.0, 100.0, 100.0, 100.0],
            "tax_paid": [5.0, 5.0, 5.0, -3.0, 5.0, 5.0],
            "updated_at": pd.to_datetime(["2026-11-01 09:00"] * 6),
        }
    )


def test_ent_tax_monthly_quarantines_bad_periods_and_negative_tax_but_only_warns_on_a_check_character(tmp_path):
    spec = SPECS["ent_tax_monthly"]
    suite = load_suite(REPO, spec.suite)
    frame = _tax_rows()
    # The registry holds every enterprise in the frame, so the reference check passes.
    registry = pd.DataFrame({"uscc": frame["uscc"].astype(str)})
    zones = Zones(tmp_path)
    target = zones.conformed("ent_registry", DAY)
    target.parent.mkdir(parents=True, exist_ok=True)
    registry.to_parquet(target)
    outcomes, _ = _run(spec, suite, frame, tmp_path)
    failures = row_failures(len(frame), outcomes, pd.Series(False, index=frame.index), {})
    quarantined = set(np.flatnonzero(failures.failed()))
    assert quarantined == {1, 2, 3}  # 2026-13, 202610, negative tax_paid
    warned = {o.expectation for o in outcomes if o.severity == "warning" and not o.success}
    assert "expect_column_values_to_be_valid_uscc" in warned  # row 5 is conformed with a warning
