"""Every output-review pattern, one canonical leak it must catch and one near-miss it must let through
(products/review.py), so deleting or weakening any single pattern fails a test here.

Resident IDs get their check character from DOMAIN.md's formula, computed here, not by the engine.
"""

from __future__ import annotations

from functools import partial

import pandas as pd
import pytest

from datafactory.products.review import Dictionaries, Policy, review_table
from datafactory.sources.pseudonymize import pseudonym

pytestmark = pytest.mark.unit
KEY = b"guarantee-key"
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def resident_id(first17: str) -> str:
    """GB 11643: the check character is "10X98765432"[sum(digit * weight) mod 11]."""
    assert len(first17) == 17 and first17.isdigit()
    return first17 + "10X98765432"[sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True)) % 11]


def wrong_check(valid: str) -> str:
    return valid[:-1] + ("0" if valid[-1] != "0" else "1")


HUZHOU_MAN = resident_id("33050219850612003")  # Huzhou, born 1985-06-12
DICTS = Dictionaries(
    personal_pseudonyms=frozenset({pseudonym("赵敏", KEY), pseudonym("13900001111", KEY)}),
    pseudonymize=partial(pseudonym, key=KEY),
    company_names=frozenset({"湖州市某某建材有限公司"}),
    addresses=frozenset({"吴兴区人民路1号", "凤凰公寓三幢"}),
)
PSEUDONYM = "p_" + "0123456789abcdef" * 2


def _checks(values: list, policy: Policy | None = None, dicts: Dictionaries | None = DICTS, column: str = "v"):
    frame = pd.DataFrame({column: values})
    result = review_table(frame, policy or Policy([column]), dicts)
    assert result.passed == (not result.findings)
    return {f.check for f in result.findings}


# (check, value that must be caught, near miss that must pass)
PAIRS = [
    ("resident_id", HUZHOU_MAN, wrong_check(HUZHOU_MAN)),
    ("resident_id", "34052419800101001x", "34052419800101001"),  # small x; 17 digits is no ID
    ("resident_id", f"申请人{HUZHOU_MAN}已核验", f"编号A{HUZHOU_MAN}"),  # inside text; glued to a letter
    ("resident_id", f"证件:{HUZHOU_MAN}", f"9{HUZHOU_MAN}"),  # a 19-digit run is not an ID
    ("resident_id", resident_id("53290119000101001"), resident_id("99290119900101001")),  # province 99 is none
    ("resident_id", resident_id("11010120991231001"), resident_id("11010118991231001")),  # born before 1900
    ("mobile", "13912345678", "12912345678"),  # 12x is no mobile prefix
    ("mobile", "+8613912345678", "+8612912345678"),
    ("mobile", "008613912345678", "0086139123456789"),  # twelve digits after the prefix
    ("mobile", "联系电话13912345678转", "编号x13912345678"),  # glued to a letter: part of a code
    ("mobile", 13912345678, 1391234567),  # integers too; ten digits is none
    # Registry persons, found by keyed pseudonym inside text (a whole value would also be name-shaped).
    ("person_name", "联系人: 赵敏", "联系人: 赵敏敏"),
    ("person_name", "赵敏;retail", "赵;retail"),
    ("encrypted", "sm4gcm:AAECAwQF", "sm4:AAECAwQF"),
    ("encrypted", "值=sm4gcm:AAECAwQF", "SM4GCM-AAECAwQF"),
    ("address", "吴兴区人民路1号", "吴兴区人民路"),  # registry address; no number
    ("address", "凤凰公寓三幢", "凤凰公寓"),  # a registry address with no street-and-number shape
    ("address", "住址: 凤凰公寓三幢", "凤凰公寓三幢东"),
    ("address", "爱山街道衣裳街18号", "衣裳街"),
    ("address", "仁皇山路 66 栋", "仁皇山路六十六栋"),  # the shape wants digits
    ("address", "龙溪村8单元", "龙溪8单元"),  # a street word before the number
    ("pseudonym", PSEUDONYM, PSEUDONYM[:-1]),
    # Case-insensitive since issue 13: an upper-cased pseudonym is the same pseudonym.
    ("pseudonym", f"申请人{PSEUDONYM}", "p_" + "0123456789abcdeg" * 2),  # g is no hex digit
    ("pseudonym", PSEUDONYM.upper(), PSEUDONYM[:-1].upper()),
    ("company_name", "湖州市某某建材有限公司", "湖州市某某建材"),
    ("company_name", "供货方: 湖州市某某建材有限公司", "湖州市某某建材有限公司分公司"),
]


def test_the_check_character_formula_here_matches_domain_md_examples():
    assert resident_id("36042619910101007") == "360426199101010071"
    assert resident_id("34052419800101001") == "34052419800101001X"


@pytest.mark.parametrize("check,leak,near_miss", PAIRS, ids=[f"{c}-{i}" for i, (c, _, _) in enumerate(PAIRS)])
def test_each_pattern_catches_its_leak_and_passes_its_near_miss(check: str, leak, near_miss):
    assert check in _checks([leak]), leak
    assert _checks([near_miss]) == set(), near_miss


def test_the_declared_pseudonymous_key_may_carry_pseudonyms_and_nothing_else_may():
    policy = Policy(["applicant"], pseudonymous_key="applicant")
    assert _checks([PSEUDONYM], policy, column="applicant") == set()
    assert _checks([PSEUDONYM], Policy(["other"], pseudonymous_key="applicant"), column="other") == {"pseudonym"}


def test_company_names_pass_only_where_the_policy_allows_them():
    assert _checks(["湖州市某某建材有限公司"], Policy(["v"], company_names=True)) == set()


def test_registry_persons_are_found_by_pseudonym_where_the_name_shape_is_not_enough():
    assert _checks(["赵敏", "office", "retail"], dicts=Dictionaries()) == set()  # one name in three: no name column
    assert _checks(["赵敏", "office", "retail"], dicts=DICTS) == {"person_name"}
    assert _checks(["13900001111"], dicts=DICTS) == {"mobile", "person_name"}  # a registry person's phone
    assert _checks(["13900001112"], dicts=DICTS) == {"mobile"}


NAMES = ["欧阳修文", "司马光", "王伟", "李秀英", "张三", "刘洋洋"]


def test_a_column_mostly_of_name_shaped_values_is_a_name_column():
    assert _checks(NAMES, dicts=None) == {"person_name"}
    assert _checks(["欧阳修文", "司马光", "office", "retail"], dicts=None) == {"person_name"}  # half is enough
    assert _checks(["欧阳修文", "office", "retail"], dicts=None) == set()  # under half
    assert _checks(["光明路", "新华书店", "人民公园"], dicts=None) == set()  # no surname first
    assert _checks(["王", "李"], dicts=None) == set()  # one character is a surname, not a name
    assert _checks(["王小明明明"], dicts=None) == set()  # five characters: not a name shape


@pytest.mark.parametrize("name", ["欧阳娜", "诸葛明", "上官文", "慕容复"])
def test_compound_surnames_make_a_name(name: str):
    assert _checks([name, "retail"], dicts=None) == {"person_name"}
    assert _checks([name[1:] + "x", "retail"], dicts=None) == set()


def test_groups_under_k_are_caught_exactly_below_k():
    frame = pd.DataFrame({"peers": [4, 5], "median": [1.0, 2.0]})
    policy = Policy(["peers", "median"], k=5, groups=[("peers", ["median"])])
    result = review_table(frame, policy, DICTS)
    (finding,) = result.findings
    assert (finding.check, finding.rows, finding.first_rows) == ("small_group", 1, [0])
    assert review_table(frame.assign(peers=[5, 9]), policy, DICTS).passed
    assert review_table(frame.assign(median=[None, 2.0]), policy, DICTS).passed


def test_columns_outside_the_schema_and_forbidden_columns_fail_on_their_own():
    frame = pd.DataFrame({"grade": ["A"], "extra": ["x"]})
    assert {f.check for f in review_table(frame, Policy(["grade"]), DICTS).findings} == {"columns"}
    assert review_table(frame, Policy(["grade", "extra"]), DICTS).passed
    forbidden = review_table(frame, Policy(["grade", "extra"], forbidden_columns=["extra"]), DICTS)
    assert [f.message for f in forbidden.findings] == ["forbidden personal columns present: ['extra']"]


def test_a_clean_product_passes():
    frame = pd.DataFrame(
        {
            "uscc": ["91110000600037341L", "91350100M0001TGQXM"],
            "grade": ["AA", "B"],
            "score": [612, 498],
            "k_value": [0.6, 2.0001],
            "reasons": ["-late deliveries; +firm age", "-platform incidents"],
            "building_type": ["office", "hotel"],
        }
    )
    assert review_table(frame, Policy(list(frame.columns)), DICTS).findings == []
