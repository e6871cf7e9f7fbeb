import pytest
from hypothesis import given
from hypothesis import strategies as st

from datafactory.modeling.estimators import lightgbm_names

pytestmark = pytest.mark.unit

JSON_SPECIAL = set('"[]{},:')


@given(st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=20, unique=True))
def test_every_name_is_accepted_by_lightgbm_and_they_stay_distinct(names):
    safe = lightgbm_names(names)
    assert len(safe) == len(names) and len(set(safe)) == len(safe)
    assert not any(JSON_SPECIAL & set(name) for name in safe)


def test_names_read_the_same_and_plain_names_are_untouched():
    assert lightgbm_names(["amount [CNY]", "rate, %", "age"]) == ["amount ［CNY］", "rate， %", "age"]


def test_a_name_that_would_merge_with_another_falls_back_to_positions():
    assert lightgbm_names(["a[", "a［"]) == ["f0_a［", "f1_a［"]
