from datetime import date

import pytest

from datafactory.domain.identifiers import (
    is_mobile,
    is_valid_resident_id,
    is_valid_uscc,
    make_resident_id,
    make_uscc,
    org_code_check_char,
    uscc_check_char,
)

pytestmark = pytest.mark.unit


def test_uscc_reference_example_passes():
    assert is_valid_uscc("91110000600037341L")
    assert uscc_check_char("91110000600037341") == "L"


@pytest.mark.parametrize(
    "code",
    [
        "91110000600037341M",  # wrong check character
        "91350100M0001TGQXM",  # early pilot code: real, but fails the check
        "9111000060003734L",  # 17 characters
        "91110000600037341I",  # I is not in the alphabet
        None,
        "",
    ],
)
def test_uscc_rejects_bad_codes(code):
    assert not is_valid_uscc(code)


def test_made_uscc_is_valid_and_embeds_area_and_org_check():
    code = make_uscc("330281", "00001234")
    assert is_valid_uscc(code)
    assert code[2:8] == "330281"
    assert code[16] == org_code_check_char("00001234")


def test_org_code_check_maps_10_to_x_and_11_to_0():
    results = {org_code_check_char(f"{i:08d}") for i in range(300)}
    assert "X" in results and "0" in results


@pytest.mark.parametrize("value", ["360426199101010071", "34052419800101001X"])
def test_resident_id_reference_examples(value):
    assert is_valid_resident_id(value)


@pytest.mark.parametrize(
    "value",
    ["360426199101010072", "360426199102300071", "36042619910101007", "36042619910101007x", 360426199101010071],
)
def test_resident_id_rejects_bad_check_dates_and_shapes(value):
    assert not is_valid_resident_id(value)


def test_made_resident_id_round_trips():
    value = make_resident_id("330281", date(1980, 2, 29), 13)
    assert is_valid_resident_id(value) and value.startswith("33028119800229013")


@pytest.mark.parametrize(
    "value,ok",
    [("13812345678", True), ("+8613812345678", True), ("12812345678", False), ("1381234567", False), (None, False)],
)
def test_mobile(value, ok):
    assert is_mobile(value) is ok


def test_only_ascii_digits_count():
    arabic_indic = "١٣٨١٢٣٤٥٦٧٨"  # \d matches these without re.ASCII
    assert not is_mobile(arabic_indic)
    assert not is_valid_resident_id("٣٦٠٤٢٦١٩٩١٠١٠١٠٠٧١")
