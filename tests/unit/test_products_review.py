"""The output review (出域审核) on small frames: what it catches, and what it must let through."""

from __future__ import annotations

import json
from functools import partial

import pandas as pd
import pytest

from datafactory.domain.identifiers import is_valid_resident_id
from datafactory.products.review import Dictionaries, Policy, review_table
from datafactory.sources.pseudonymize import pseudonym

pytestmark = pytest.mark.unit
KEY = b"unit-test-key"


def _checks(frame: pd.DataFrame, policy: Policy | None = None, dicts: Dictionaries | None = None) -> set[str]:
    result = review_table(frame, policy or Policy(list(frame.columns)), dicts)
    assert result.passed == (not result.findings)
    return {f.check for f in result.findings}


def test_resident_ids_are_judged_by_check_character_not_shape():
    assert _checks(pd.DataFrame({"v": ["360426199101010071"]})) == {"resident_id"}
    assert _checks(pd.DataFrame({"v": ["34052419800101001x"]})) == {"resident_id"}  # written with a small x
    assert _checks(pd.DataFrame({"v": ["360426199101010072"]})) == set()  # right shape, wrong check
    assert _checks(pd.DataFrame({"v": ["360426199113010071"]})) == set()  # month 13: not a birth date
    assert _checks(pd.DataFrame({"v": ["申请人 34052419800101001X 已核验"]})) == {"resident_id"}
    # An enterprise code whose check character happens to fit (birth year 0100, province 91) is no ID.
    assert is_valid_resident_id("915329010001011359")
    assert _checks(pd.DataFrame({"uscc": ["915329010001011359"]})) == set()


def test_mobiles_are_found_whole_inside_text_and_in_integer_columns():
    assert _checks(pd.DataFrame({"v": ["13812345678"]})) == {"mobile"}
    assert _checks(pd.DataFrame({"v": ["电话+8613912345678转"]})) == {"mobile"}
    assert _checks(pd.DataFrame({"v": [13812345678]})) == {"mobile"}
    assert _checks(pd.DataFrame({"v": [12812345678, 1381234567]})) == set()  # no 12x prefix, 10 digits
    # Hex pseudonyms contain digit runs; they are not phones.
    assert "mobile" not in _checks(pd.DataFrame({"v": ["p_ab13812345678cdef0123456789abcde"]}))


def test_registry_persons_are_found_through_their_keyed_pseudonyms():
    dicts = Dictionaries(
        personal_pseudonyms=frozenset({pseudonym("王芳", KEY), pseudonym("330281198001010012", KEY)}),
        pseudonymize=partial(pseudonym, key=KEY),
    )
    assert _checks(pd.DataFrame({"v": ["王芳"]}), dicts=dicts) == {"person_name"}
    assert _checks(pd.DataFrame({"v": ["联系人: 王芳"]}), dicts=dicts) == {"person_name"}
    assert _checks(pd.DataFrame({"v": ["王芳芳", "retail", "office"]}), dicts=dicts) == set()  # someone else
    assert _checks(pd.DataFrame({"v": ["330281198001010012"]}), dicts=dicts) >= {"person_name"}


def test_a_column_of_name_shaped_values_is_caught_even_when_the_names_are_unknown():
    names = pd.DataFrame({"contact": ["张三丰", "欧阳娜娜", "李雷", "retail"]})
    assert _checks(names) == {"person_name"}
    assert _checks(pd.DataFrame({"category": ["张三丰", "手工艺品", "农产品", "民宿"]})) == set()


def test_pseudonyms_may_leave_only_as_the_declared_key():
    frame = pd.DataFrame({"applicant": ["p_" + "a" * 32], "grade": ["rated"]})
    assert _checks(frame, Policy(["applicant", "grade"], pseudonymous_key="applicant")) == set()
    assert _checks(frame, Policy(["applicant", "grade"])) == {"pseudonym"}
    leaked = pd.DataFrame({"applicant": ["p_" + "a" * 32], "grade": ["p_" + "b" * 32]})
    assert _checks(leaked, Policy(["applicant", "grade"], pseudonymous_key="applicant")) == {"pseudonym"}


def test_encrypted_values_company_names_and_addresses():
    dicts = Dictionaries(company_names=frozenset({"余姚市测试3贸易有限公司"}), addresses=frozenset({"泗门镇64号"}))
    assert _checks(pd.DataFrame({"v": ["sm4gcm:AAECAwQF"]})) == {"encrypted"}
    assert _checks(pd.DataFrame({"v": ["余姚市测试3贸易有限公司"]}), dicts=dicts) == {"company_name"}
    allowed = Policy(["v"], company_names=True)
    assert _checks(pd.DataFrame({"v": ["余姚市测试3贸易有限公司"]}), allowed, dicts) == set()
    assert _checks(pd.DataFrame({"v": ["泗门镇64号"]}), dicts=dicts) == {"address"}
    assert _checks(pd.DataFrame({"v": ["梨洲街道兰江路88号"]})) == {"address"}
    assert _checks(pd.DataFrame({"v": ["-late deliveries; +firm age", "office"]})) == set()


def test_groups_smaller_than_k_must_not_carry_their_measures():
    frame = pd.DataFrame({"peers": [2, 7], "peer_median": [1.5, 2.5]})
    policy = Policy(["peers", "peer_median"], k=5, groups=[("peers", ["peer_median"])])
    assert _checks(frame, policy) == {"small_group"}
    suppressed = frame.assign(peer_median=[None, 2.5])
    assert _checks(suppressed, policy) == set()
    lenient = Policy(["peers", "peer_median"], k=2, groups=[("peers", ["peer_median"])])
    assert _checks(frame, lenient) == set()  # k is configurable
    whole_rows = Policy(["peers", "peer_median"], k=5, groups=[("peers", [])])
    assert _checks(suppressed, whole_rows) == {"small_group"}  # no measures named: the row itself is too much


def test_columns_outside_the_schema_or_forbidden_fail():
    frame = pd.DataFrame({"uscc": ["x"], "legal_rep_name": ["p_" + "c" * 32]})
    result = review_table(frame, Policy(["uscc"], forbidden_columns=["legal_rep_name"]))
    messages = " ".join(f.message for f in result.findings)
    assert "not in the product schema" in messages and "forbidden personal columns" in messages


def test_findings_point_at_rows_and_never_repeat_the_values():
    frame = pd.DataFrame({"note": ["ok", "13812345678", "ok", "360426199101010071"]})
    result = review_table(frame, Policy(["note"]))
    text = json.dumps(result.as_dict(), ensure_ascii=False)
    assert "13812345678" not in text and "360426199101010071" not in text
    rows = {f.check: f.first_rows for f in result.findings}
    assert rows == {"mobile": [1], "resident_id": [3]}
