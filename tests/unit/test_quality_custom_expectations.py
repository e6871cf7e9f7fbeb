"""Each custom GE expectation through the real GE runner, on a passing and a failing frame."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from datafactory.domain.identifiers import make_resident_id
from datafactory.quality.runner import validate_frame
from datafactory.specs import SuiteSpec

pytestmark = pytest.mark.unit

VALID_USCC = "91110000600037341L"
PILOT_USCC = "91350100M0001TGQXM"


def _run(frame: pd.DataFrame, kind: str, parameters: dict | None = None, severity: str = "quarantine", **kwargs):
    suite = {"name": "t", "expectations": [{"type": kind, "kwargs": kwargs, "meta": {"severity": severity}}]}
    outcomes, result = validate_frame(frame, SuiteSpec.model_validate(suite), parameters)
    assert len(outcomes) == 1 and result.statistics["evaluated_expectations"] == 1
    return outcomes[0]


def _column(values, name="v") -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(values, dtype=object)})


@pytest.mark.parametrize(
    "kind,kwargs,good,bad",
    [
        ("expect_column_values_to_be_valid_uscc", {}, [VALID_USCC], [VALID_USCC, PILOT_USCC]),
        ("expect_column_values_to_be_well_formed_uscc", {}, [VALID_USCC, PILOT_USCC], [PILOT_USCC, "9135010"]),
        (
            "expect_column_values_to_be_valid_resident_id",
            {"area_prefixes": ["36", "34"]},
            ["360426199101010071", "34052419800101001X"],
            ["360426199101010071", "360426199101010072"],
        ),
        ("expect_column_values_to_be_mainland_mobile", {}, ["13812345678"], ["13812345678", "12812345678"]),
        (
            "expect_column_values_to_be_area_code_in_regions",
            {"regions": ["330200", "532900"]},
            ["330281", "532901"],
            ["330281", "370202"],
        ),
        ("expect_column_values_to_be_valid_icd10", {"chapters": ["IX"]}, ["I10", "I25.1"], ["I10", "C34.1"]),
        ("expect_column_values_to_be_tax_credit_grade", {}, ["A", "M", "D"], ["A", "E"]),
        ("expect_column_values_to_be_non_negative", {}, [0.0, 12.5], [1.0, -3.0]),
        (
            "expect_column_values_to_exist_in_reference",
            {"reference": "ent_registry.uscc", "reference_values": [VALID_USCC, PILOT_USCC]},
            [PILOT_USCC],
            [VALID_USCC, "91110000600037342X"],
        ),
    ],
)
def test_row_expectation_passes_good_rows_and_names_the_bad_one(kind, kwargs, good, bad):
    assert _run(_column(good), kind, column="v", **kwargs).success
    failed = _run(_column(bad), kind, column="v", **kwargs)
    assert not failed.success and failed.failed_rows == [1] and failed.unexpected_count == 1


def test_no_future_dates_against_the_logical_date_parameter():
    frame = pd.DataFrame({"d": pd.to_datetime(["2026-10-31", "2026-11-01", "2099-01-01"])})
    kwargs = {"column": "d", "reference_date": {"$PARAMETER": "logical_date"}}
    out = _run(frame, "expect_column_values_to_not_be_in_future", {"logical_date": "2026-11-01"}, **kwargs)
    assert out.failed_rows == [2]


def test_pilot_code_is_flagged_at_warning_and_never_quarantined():
    frame = pd.DataFrame(
        {"uscc": [VALID_USCC, PILOT_USCC], "established": pd.to_datetime(["2020-01-01", "2014-08-01"])}
    )
    suite = {
        "name": "pilot",
        "expectations": [
            {
                "type": "expect_column_values_to_be_well_formed_uscc",
                "kwargs": {"column": "uscc"},
                "meta": {"severity": "quarantine"},
            },
            {
                "type": "expect_column_values_to_be_valid_uscc",
                "kwargs": {"column": "uscc"},
                "meta": {"severity": "warning"},
            },
            {
                "type": "expect_column_pair_values_to_be_valid_uscc_or_pilot",
                "kwargs": {"column_A": "uscc", "column_B": "established"},
                "meta": {"severity": "quarantine"},
            },
        ],
    }
    outcomes, _ = validate_frame(frame, SuiteSpec.model_validate(suite))
    quarantined = {row for o in outcomes if o.severity == "quarantine" for row in o.failed_rows}
    warning = next(o for o in outcomes if o.severity == "warning")
    assert quarantined == set() and not warning.success and warning.sample_values == [PILOT_USCC]


def test_pilot_era_rule_quarantines_a_bad_check_character_on_a_young_entity():
    frame = pd.DataFrame({"uscc": [PILOT_USCC], "established": pd.to_datetime(["2021-03-01"])})
    out = _run(frame, "expect_column_pair_values_to_be_valid_uscc_or_pilot", column_A="uscc", column_B="established")
    assert out.failed_rows == [0]


def test_freshness_against_the_end_of_the_pull_window():
    frame = pd.DataFrame({"updated_at": pd.to_datetime(["2026-10-30 08:00", "2026-11-01 09:00"])})
    kwargs = {"column": "updated_at", "reference_time": {"$PARAMETER": "window_end"}, "max_age_hours": 48}
    fresh = _run(frame, "expect_column_max_to_be_fresh", {"window_end": "2026-11-02T00:00:00"}, "warning", **kwargs)
    stale = _run(frame, "expect_column_max_to_be_fresh", {"window_end": "2026-11-09T00:00:00"}, "warning", **kwargs)
    ahead = _run(frame, "expect_column_max_to_be_fresh", {"window_end": "2026-11-01T00:00:00"}, "warning", **kwargs)
    assert fresh.success and not stale.success and not ahead.success
    assert "15.0 h" in fresh.observed


@pytest.mark.parametrize("previous,ok", [(None, True), (100, True), (150, True), (250, False), (40, False)])
def test_row_count_against_the_previous_run(previous, ok):
    frame = pd.DataFrame({"x": range(100)})
    kwargs = {"previous_row_count": {"$PARAMETER": "previous"}, "max_relative_change": 0.5}
    out = _run(frame, "expect_table_row_count_to_be_near_previous", {"previous": previous}, "warning", **kwargs)
    assert out.success is ok


def test_psi_drift_check_on_a_model_input():
    reference = pd.Series(range(1000), dtype=float)
    from datafactory.quality.drift import reference_bins

    edges, shares = reference_bins(reference.to_numpy())
    kwargs = {"column": "x", "reference_edges": edges, "reference_shares": shares, "min_rows": 100}
    same = _run(
        pd.DataFrame({"x": reference.sample(500, random_state=1)}),
        "expect_column_psi_to_be_less_than",
        None,
        "warning",
        **kwargs,
    )
    shifted = _run(pd.DataFrame({"x": reference + 600}), "expect_column_psi_to_be_less_than", None, "warning", **kwargs)
    too_few = _run(
        pd.DataFrame({"x": reference.head(20) + 600}), "expect_column_psi_to_be_less_than", None, "warning", **kwargs
    )
    assert same.success and not shifted.success and shifted.observed > 0.25
    assert too_few.success and "too few" in too_few.observed


def test_two_checks_of_one_type_on_one_column_both_run():
    frame = pd.DataFrame({"a": [1, 5, 50]})
    suite = {
        "name": "two",
        "expectations": [
            {
                "type": "expect_column_values_to_be_between",
                "kwargs": {"column": "a", "max_value": 10},
                "meta": {"severity": "quarantine"},
            },
            {
                "type": "expect_column_values_to_be_between",
                "kwargs": {"column": "a", "max_value": 2},
                "meta": {"severity": "warning"},
            },
        ],
    }
    outcomes, _ = validate_frame(frame, SuiteSpec.model_validate(suite))
    assert [o.failed_rows for o in outcomes] == [[2], []] and [o.unexpected_count for o in outcomes] == [1, 2]


def test_expectation_on_a_missing_column_fails_instead_of_vanishing():
    out = _run(pd.DataFrame({"a": [1]}), "expect_column_values_to_be_non_negative", column="nope")
    assert not out.success


def test_unknown_severity_is_a_clear_error():
    suite = {
        "name": "s",
        "expectations": [
            {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}, "meta": {"severity": "fatal"}}
        ],
    }
    with pytest.raises(ValueError, match=r"meta\.severity") as raised:
        SuiteSpec.model_validate(suite)
    assert "'critical', 'quarantine' or 'warning'" in str(raised.value)


def test_resident_id_expectation_uses_the_reference_date_for_births():
    born_later = make_resident_id("330281", date(2027, 1, 1), 5)
    kwargs = {"column": "v", "reference_date": "2026-11-01"}
    assert not _run(_column([born_later]), "expect_column_values_to_be_valid_resident_id", **kwargs).success


def test_large_batches_give_the_same_outcomes_with_low_cardinality_columns_encoded():
    rows = 12_000  # above the size where the runner dictionary-encodes few-valued string columns
    status = pd.Series(["active", "revoked", "cancelled"] * (rows // 3), dtype="string[pyarrow]")
    status[[5, 11_999]] = "bogus"
    region = pd.Series(["330281", "370202"] * (rows // 2), dtype="string[pyarrow]")
    region[[7]] = "999999"
    frame = pd.DataFrame({"status": status, "region_code": region, "period": ["2026-10"] * rows})
    frame.loc[3, "period"] = "2026-13"
    suite = {
        "name": "large",
        "expectations": [
            {
                "type": "expect_column_values_to_be_in_set",
                "kwargs": {"column": "status", "value_set": ["active", "revoked", "cancelled"]},
                "meta": {"severity": "quarantine"},
            },
            {
                "type": "expect_column_values_to_be_area_code_in_regions",
                "kwargs": {"column": "region_code", "regions": ["330200", "370200"]},
                "meta": {"severity": "quarantine"},
            },
            {
                "type": "expect_column_values_to_match_regex",
                "kwargs": {"column": "period", "regex": "^\\d{4}-(?:0[1-9]|1[0-2])$"},
                "meta": {"severity": "quarantine"},
            },
        ],
    }
    outcomes, _ = validate_frame(frame, SuiteSpec.model_validate(suite))
    assert [o.failed_rows for o in outcomes] == [[5, 11_999], [7], [3]]
    assert outcomes[0].sample_values == ["bogus", "bogus"] and outcomes[1].sample_values == ["999999"]
