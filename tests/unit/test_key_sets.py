import pandas as pd
import pytest

from datafactory.quality import key_sets

pytestmark = pytest.mark.unit


def test_the_same_keys_give_the_same_handle_and_other_keys_another():
    first = key_sets.register(["b", "a", None, "a"])
    assert first == key_sets.register(pd.Series(["a", "b"]))
    assert first.startswith(key_sets.HANDLE_PREFIX + "2:")
    assert key_sets.register(["a", "c"]) != first
    assert key_sets.register([]) != first


def test_contains_checks_values_against_a_handle_or_a_literal_list():
    handle = key_sets.register(["91330281MA2A0000X1", "91330281MA2A0000Y2"])
    column = pd.Series(["91330281MA2A0000X1", "nope", None], dtype="string")
    assert key_sets.contains(column, handle).tolist() == [True, False, False]
    assert key_sets.contains(column.astype("category"), handle).tolist() == [True, False, False]
    assert key_sets.contains(column, ["nope"]).tolist() == [False, True, False]


def test_an_unknown_handle_is_a_clear_error():
    with pytest.raises(LookupError, match="not registered"):
        key_sets.contains(pd.Series(["x"]), key_sets.HANDLE_PREFIX + "1:0000000000000000")
    with pytest.raises(ValueError, match="handle"):
        key_sets.contains(pd.Series(["x"]), "ent_registry.uscc")
