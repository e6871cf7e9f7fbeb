"""Vectorized row rules: passing and failing examples, and agreement with the scalar references."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from datafactory.domain.identifiers import is_valid_resident_id, is_valid_uscc, make_resident_id, make_uscc
from datafactory.quality import rules
from datafactory.quality.drift import psi, reference_bins

pytestmark = pytest.mark.unit

VALID_USCC = "91110000600037341L"
PILOT_USCC = "91350100M0001TGQXM"  # an early pilot code: real, but its check character fails


def _mask(fn, values, *args):
    return fn(pd.Series(values, dtype=object), *args).tolist()


def test_uscc_strict_check_passes_valid_and_flags_pilot_and_mangled_codes():
    values = [VALID_USCC, PILOT_USCC, "91110000600037341M", "9111000060003734L", "91110000600037341I", 42]
    assert _mask(rules.valid_uscc, values) == [True, False, False, False, False, False]


def test_uscc_structure_admits_pilot_codes_but_not_broken_ones():
    broken_org_check = "911100006000373X1L"  # the embedded GB 11714 check character is wrong
    values = [VALID_USCC, PILOT_USCC, "91110000600037341M", broken_org_check, "0111000060003734XL", "short"]
    assert _mask(rules.uscc_structure_ok, values) == [True, True, True, False, False, False]


def test_failing_check_character_is_accepted_only_for_entities_from_before_the_standard():
    codes = pd.Series([PILOT_USCC, PILOT_USCC, "91110000600037341M", VALID_USCC])
    established = pd.Series(pd.to_datetime(["2014-06-01", "2019-06-01", "2015-09-30", "2020-01-01"]))
    assert rules.valid_uscc_or_pilot(codes, established).tolist() == [True, False, True, True]


def test_uscc_vectorized_agrees_with_the_scalar_reference():
    rng = np.random.default_rng(3)
    good = [make_uscc(area, f"{i:08d}") for i, area in enumerate(rng.choice(["330281", "370202", "532901"], 500))]
    bad = [c[:-1] + rng.choice(list("0123456789ABCDEFGHJKLMNPQRTUWXY")) for c in good]
    values = pd.Series(good + bad)
    assert rules.valid_uscc(values).tolist() == [is_valid_uscc(v) for v in values]


def test_resident_id_needs_check_character_real_birth_date_and_known_area():
    values = [
        "360426199101010071",  # valid (DOMAIN.md example)
        "34052419800101001X",  # valid, X check character
        "360426199101010072",  # wrong check character
        make_resident_id("360426", date(1991, 1, 1), 7)[:10] + "0230" + "0071",  # 30 February
        make_resident_id("990426", date(1991, 1, 1), 7),  # 99 is no province
        make_resident_id("330281", date(2030, 1, 1), 7),  # born after the reference date
        None,
    ]
    ok = rules.valid_resident_id(pd.Series(values), reference_date=date(2026, 11, 1)).tolist()
    assert ok == [True, True, False, False, False, False, False]


def test_resident_id_area_prefixes_restrict_the_region():
    ids = pd.Series([make_resident_id("330281", date(1980, 5, 5), 1), make_resident_id("370202", date(1980, 5, 5), 1)])
    assert rules.valid_resident_id(ids, ["3302"]).tolist() == [True, False]
    assert rules.valid_resident_id(ids).tolist() == [is_valid_resident_id(v) for v in ids]


def test_mainland_mobile():
    values = ["13812345678", "+8613812345678", "008619912345678", "12812345678", "1381234567", "13812345678 "]
    assert _mask(rules.mainland_mobile, values) == [True, True, True, False, False, False]


def test_area_codes_inside_configured_regions():
    regions = ["330200", "370200", "532900"]
    values = ["330281", "370202", "532901", "330502", "330000", "990281", "33028", "33O281"]
    assert _mask(rules.area_code_in_regions, values, regions) == [True, True, True, False, False, False, False, False]
    assert rules.region_prefix("330000") == "33" and rules.region_prefix("532901") == "532901"


def test_icd10_format_and_chapters():
    values = ["I10", "C34.1", "D48", "D49", "K93", "K95", "U07.1", "i10", "I1", "Z99.89"]
    assert _mask(rules.valid_icd10, values) == [True, True, True, False, True, False, True, False, False, True]
    assert _mask(rules.valid_icd10, ["I10", "C34.1", "E11"], ["IX", "II"]) == [True, True, False]
    assert rules.icd10_chapter("C34.1") == "II neoplasms" and rules.icd10_chapter("K95") is None


def test_tax_credit_grade_non_negative_and_future_dates():
    assert _mask(rules.tax_credit_grade, ["A", "B", "M", "C", "D", "E", "a"]) == [True] * 5 + [False, False]
    assert rules.non_negative(pd.Series([0, 3.5, -0.01])).tolist() == [True, True, False]
    stamps = pd.Series(pd.to_datetime(["2026-11-01 23:59", "2026-11-02 00:00", "2099-01-01 00:00"]))
    assert rules.not_in_future(stamps, "2026-11-01").tolist() == [True, False, False]


def test_psi_is_small_for_the_same_distribution_and_large_for_a_shift():
    rng = np.random.default_rng(0)
    edges, shares = reference_bins(rng.normal(0, 1, 5000))
    assert psi(rng.normal(0, 1, 5000), edges, shares) < 0.05
    assert psi(rng.normal(1.5, 1, 5000), edges, shares) > 0.25
