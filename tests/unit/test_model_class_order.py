"""The order of an own table's ordinal classes, from the scales real tables use. Sorting them as text
put 中 before 低, High before Low, A before AAA and 10级 before 2级: a model trained on that order
treats under-grading as over-grading and starts 'high risk' at the wrong class."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from datafactory.modeling.class_order import class_order, declared_order
from datafactory.modeling.families.ordinal import OrdinalFamily, grading_for
from datafactory.specs.model import OrdinalOptions

pytestmark = pytest.mark.unit

# Each as a real table lists it, least to most risky.
REAL_SCALES = [
    ["低", "中", "高"],
    ["低风险", "中风险", "高风险"],
    ["Low Risk", "Medium Risk", "High Risk"],
    ["low", "moderate", "high", "very high"],
    ["极低", "较低", "一般", "较高", "极高"],
    ["轻度", "中度", "重度"],
    ["mild", "moderate", "severe", "critical"],
    ["AAA", "AA", "A", "BBB", "BB", "B", "CCC", "CC", "C"],  # DOMAIN.md's nine enterprise grades
    ["AAA", "AA", "A", "B", "C"],  # and its five, for SMEs
    ["AA+", "AA", "AA-", "A+", "A", "A-"],
    ["A", "B", "M", "C", "D"],  # the tax credit grade
    ["A级", "B级", "C级", "D级"],
    ["标准体", "加费", "除外", "延期", "拒保"],  # the underwriting decision classes
    ["standard", "rated", "exclusion", "postpone", "decline"],
    ["Ⅰ期", "Ⅱ期", "Ⅲ期", "Ⅳ期"],  # cancer stages, as typed with the Roman numeral characters
    ["I", "II", "III", "IV", "V", "IX", "X"],
    ["1级", "2级", "3级", "10级", "11级"],
    ["Grade 1", "Grade 2", "Grade 12"],
]


@pytest.mark.parametrize("scale", REAL_SCALES, ids=lambda s: "<".join(s))
def test_a_real_scale_is_ordered_least_to_most_risky_whatever_order_the_rows_give(scale):
    for seed in range(5):
        shuffled = scale[:]
        random.Random(seed).shuffle(shuffled)
        found = class_order(shuffled)
        assert found.classes == tuple(scale), found.how
        assert "alphabetical" not in found.how


def _chinese(n: int) -> str:
    """1..99 in Chinese numerals, written out independently of the reader (the oracle)."""
    digits = "零一二三四五六七八九"
    tens, ones = divmod(n, 10)
    if tens == 0:
        return digits[ones]
    return ("" if tens == 1 else digits[tens]) + "十" + ("" if ones == 0 else digits[ones])


@given(
    numbers=st.sets(st.integers(1, 99), min_size=3, max_size=12),
    wording=st.sampled_from(["{}级", "第{}类", "Grade {}", "等级{}", "Level {} risk"]),
    chinese=st.booleans(),
)
def test_numbered_classes_follow_their_numbers(numbers, wording, chinese):
    labels = {n: wording.format(_chinese(n) if chinese else n) for n in numbers}
    found = class_order(list(labels.values()))
    assert found.classes == tuple(labels[n] for n in sorted(numbers))


def test_words_the_trainer_does_not_know_are_alphabetical_and_said_to_be():
    found = class_order(["pear", "apple", "fig"])
    assert found.classes == ("apple", "fig", "pear") and "give --classes" in found.how


def test_numbers_are_ordered_by_value_not_as_text():
    assert class_order(["10", "2", "1"], numeric=True).classes == ("1", "2", "10")


def test_declared_classes_name_every_value_once():
    values = {"低风险", "中风险", "高风险"}
    assert declared_order("高风险, 中风险，低风险", values).classes == ("高风险", "中风险", "低风险")
    assert declared_order("Low,Medium,High", {"low", "medium", "high"}).classes == ("low", "medium", "high")
    with pytest.raises(ValueError, match="leaves out 低风险"):
        declared_order("高风险,中风险", values)
    with pytest.raises(ValueError, match="'高' is not a value"):
        declared_order("高,中,低", values)
    with pytest.raises(ValueError, match="names a class twice"):
        declared_order("高风险,高风险,中风险,低风险", values)


def test_the_trainer_ranks_an_undeclared_target_by_the_order_found():
    """The ordinal family itself uses the order: ranks 0..k-1 least to most risky, and a coded target
    that pandas read as floats (a blank row) still maps every labelled row to its class."""
    family = OrdinalFamily()
    values = pd.Series(["高", "低", "中", "低", "高"], name="risk")
    assert grading_for(values, OrdinalOptions()).classes == ("低", "中", "高")
    config = type("Config", (), {"options": OrdinalOptions(), "scenario": "own"})()
    assert family.target(values, config).tolist() == [2, 0, 1, 0, 2]
    coded = pd.Series([3.0, 1.0, 10.0, 2.0], name="grade")
    assert family.target(coded, config).tolist() == [2, 0, 3, 1]
    declared = OrdinalOptions(classes=("10", "3", "2", "1"))
    assert family.target(coded, type("Config", (), {"options": declared, "scenario": "own"})()).tolist() == [
        1,
        3,
        0,
        2,
    ]
    assert np.array_equal(family.target(values.iloc[::-1], config), family.target(values, config)[::-1])
