from datetime import date

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datafactory.domain.identifiers import is_mobile, is_valid_resident_id, make_resident_id
from datafactory.sources.validators import valid_mobiles, valid_resident_ids

pytestmark = pytest.mark.unit

ID_LIKE = st.one_of(
    st.text(alphabet="0123456789X", min_size=16, max_size=19),
    st.builds(
        lambda area, born, seq: make_resident_id(area, born, seq),
        st.sampled_from(["370202", "330281", "532901"]),
        st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31)),
        st.integers(0, 999),
    ),
    st.none(),
    st.integers(),
)
ASCII = st.characters(max_codepoint=127)
PHONE_LIKE = st.one_of(
    st.from_regex(r"(\+86|0086)?1[0-9][0-9]{8,10}", fullmatch=True), st.text(alphabet=ASCII, max_size=14), st.none()
)


@settings(max_examples=300, deadline=None)
@given(st.lists(ID_LIKE, max_size=40))
def test_vectorized_resident_id_check_equals_the_reference(values):
    series = pd.Series(values, dtype=object)
    assert valid_resident_ids(series).tolist() == [is_valid_resident_id(v) for v in values]


@settings(max_examples=300, deadline=None)
@given(st.lists(PHONE_LIKE, max_size=40))
def test_vectorized_mobile_check_equals_the_reference(values):
    series = pd.Series(values, dtype=object)
    assert valid_mobiles(series).tolist() == [is_mobile(v) for v in values]


def test_digits_from_other_scripts_are_not_phone_digits():
    # The scalar reference's \d also accepts e.g. Arabic-Indic digits; ingest's check does not.
    assert valid_mobiles(pd.Series(["1380000000\u0660", "13800000000"])).tolist() == [False, True]
