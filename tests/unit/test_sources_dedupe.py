import numpy as np
import pandas as pd
import pytest

from datafactory.sources.dedupe import drop_seen, identities

pytestmark = pytest.mark.unit
COLS = ["id", "updated_at"]


def test_identity_is_the_same_for_every_representation_of_a_timestamp():
    stamp = pd.Timestamp("2026-11-01 08:00:01.5")
    as_ns = pd.DataFrame({"id": ["a"], "updated_at": pd.Series([stamp]).astype("datetime64[ns]")})
    as_us = pd.DataFrame({"id": ["a"], "updated_at": pd.Series([stamp]).astype("datetime64[us]")})
    as_obj = pd.DataFrame({"id": ["a"], "updated_at": pd.Series([stamp.to_pydatetime()], dtype=object)})
    assert identities(as_ns, COLS)[0] == identities(as_us, COLS)[0] == identities(as_obj, COLS)[0]


def test_drop_seen_keeps_repeats_inside_a_unit_and_drops_them_across_units():
    one = pd.DataFrame({"id": ["a", "a", "b"], "updated_at": ["t1", "t1", "t1"], "v": [1, 1, 2]})
    two = pd.DataFrame({"id": ["b", "c"], "updated_at": ["t1", "t1"], "v": [2, 3]})
    landed = identities(pd.DataFrame({"id": ["c"], "updated_at": ["t1"]}), COLS)
    frame, dropped = drop_seen([one, two], COLS, landed)
    assert frame["id"].tolist() == ["a", "a", "b"]  # upstream's own duplicate is left for conform
    assert dropped == 2  # b again in the second unit, c landed by an earlier pull


def test_a_newer_version_of_a_key_is_not_a_duplicate():
    old = identities(pd.DataFrame({"id": ["a"], "updated_at": ["t1"]}), COLS)
    frame, dropped = drop_seen([pd.DataFrame({"id": ["a"], "updated_at": ["t2"]})], COLS, old)
    assert len(frame) == 1 and dropped == 0


def test_nothing_in_nothing_out():
    frame, dropped = drop_seen([], COLS, np.array([], dtype=np.uint64))
    assert frame.empty and dropped == 0
