"""Which label `--positive` names, read the way real tables write their outcomes: Excel's `TRUE`/`FALSE`
(which pandas reads as booleans), codes `1`/`2` that turn into floats once a row is blank, the paper
form's capitals, full-width letters from a Chinese input method. The CLI's input check reads the file's
text and the trainer reads pandas' types; they must accept the same labels and mark the same rows."""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from datafactory.modeling.families.base import TrainingDataError, binary_target
from datafactory.modeling.labels import is_zero_one, named_label, spelling_hint

pytestmark = pytest.mark.unit


def test_a_label_is_named_as_written_or_but_for_case_width_and_blanks():
    assert named_label("malignant", {"malignant", "benign"}) == "malignant"
    assert named_label(" Malignant ", {"malignant", "benign"}) == "malignant"
    assert named_label("ｙｅｓ", {"yes", "no"}) == "yes"  # a full-width IME spelling
    assert named_label("2.0", {"1", "2"}) == "2"
    assert named_label("TRUE", {"True", "False"}) == "True"
    assert named_label("1", {"True", "False"}) == "True"
    assert named_label("yes", {"malignant", "benign"}) is None
    assert named_label("yes", {"Yes", "YES"}) is None  # two values match: which is meant is not ours to guess
    assert named_label("Yes", {"Yes", "YES"}) == "Yes"  # the exact spelling wins


def test_zero_one_codes_in_any_spelling_need_no_positive():
    assert is_zero_one({"0", "1"}) and is_zero_one({"TRUE", "FALSE"}) and is_zero_one({"0.0", "1.0"})
    assert not is_zero_one({"1", "2"}) and not is_zero_one({"yes", "no"})


def test_labels_spelt_two_ways_are_named_but_not_merged():
    hint = spelling_hint({" >50K", ">50K.", "<=50K", "<=50K."})
    assert "'>50K.' and ' >50K'" in hint or "' >50K' and '>50K.'" in hint
    assert "'<=50K' and '<=50K.'" in hint
    assert spelling_hint({"good", "bad"}) == ""
    assert "'Yes' and 'ｙｅｓ'" in spelling_hint({"Yes", "ｙｅｓ", "No"})


SPELLINGS = {
    "truth": ["TRUE", "FALSE"],
    "Truth": ["True", "False"],
    "codes": ["1", "2"],
    "words": ["Malignant", "benign"],
    "chinese": ["是", "否"],
}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    pair=st.sampled_from(sorted(SPELLINGS)),
    bad=st.lists(st.booleans(), min_size=4, max_size=40).filter(lambda b: 0 < sum(b) < len(b)),
    blanks=st.lists(st.integers(0, 39), max_size=5),
    typed=st.sampled_from(["TRUE", "true", "1", "2", "2.0", "malignant", "MALIGNANT", "是", "yes", "False", "0"]),
)
@example(pair="truth", bad=[True, False, False, True], blanks=[], typed="true")
@example(pair="codes", bad=[True, False, False, True], blanks=[1], typed="2.0")
def test_the_input_check_and_the_trainer_accept_the_same_labels_and_mark_the_same_rows(
    tmp_path, pair, bad, blanks, typed
):
    from datafactory.cli.model import check_target, profile

    positive_text, negative_text = SPELLINGS[pair]
    cells = [positive_text if b else negative_text for b in bad]
    for i in blanks:
        if i < len(cells) and sum(c != "" for c in cells) > 2:
            cells[i] = ""
    if len({c for c in cells if c}) < 2:
        return
    path = tmp_path / "labels.csv"
    path.write_text("x,outcome\n" + "".join(f"{i},{c}\n" for i, c in enumerate(cells)), encoding="utf-8")
    args = argparse.Namespace(
        target="outcome",
        id_column=None,
        group_column=None,
        positive=typed,
        classes=None,
        scenario="anti_fraud_admission",
    )
    try:
        check_target(profile(path, "outcome"), path, args, "binary")
        checked = True
    except ValueError:
        checked = False
    values = pd.read_csv(path)["outcome"]  # as the trainer reads it: booleans, floats with blanks
    labelled = values.dropna()
    try:
        y = binary_target(labelled, typed, "anti_fraud_admission")
    except TrainingDataError:
        y = None
    assert checked == (y is not None), (typed, cells, values.dtype)
    if y is not None:
        written = np.array([c for c in cells if c])
        assert written[y == 1].size and set(written[y == 1]) == {named_label(typed, set(written))}


def test_a_label_that_is_not_a_value_is_refused_with_the_values(tmp_path):
    values = pd.Series(["benign", "malignant", "benign"], name="diagnosis")
    with pytest.raises(TrainingDataError, match="--positive yes is not a value of 'diagnosis'"):
        binary_target(values, "yes", "anti_fraud_admission")
    with pytest.raises(TrainingDataError, match=r"'benign' and 'benign\.' look like one label"):
        binary_target(pd.Series(["benign", "benign.", "malignant"], name="d"), "malignant", "anti_fraud_admission")
