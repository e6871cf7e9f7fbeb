import numpy as np
import pandas as pd
import pytest

from datafactory.sources.dedupe import SeenIdentities, identities

pytestmark = pytest.mark.unit
COLS = ["id", "updated_at"]


def test_identity_is_the_same_for_every_representation_of_a_timestamp():
    stamp = pd.Timestamp("2026-11-01 08:00:01.5")
    as_ns = pd.DataFrame({"id": ["a"], "updated_at": pd.Series([stamp]).astype("datetime64[ns]")})
    as_us = pd.DataFrame({"id": ["a"], "updated_at": pd.Series([stamp]).astype("datetime64[us]")})
    as_obj = pd.DataFrame({"id": ["a"], "updated_at": pd.Series([stamp.to_pydatetime()], dtype=object)})
    assert identities(as_ns, COLS)[0] == identities(as_us, COLS)[0] == identities(as_obj, COLS)[0]


def _stream(units: list[pd.DataFrame], landed: np.ndarray, batch_rows: int = 2) -> tuple[list[str], int]:
    """Lands `units` batch by batch as ingest does; returns the ids kept and the rows dropped."""
    seen, kept, dropped = SeenIdentities(landed), [], 0
    for unit in units:
        for start in range(0, len(unit), batch_rows):
            batch = unit.iloc[start : start + batch_rows]
            repeated = seen.repeated(identities(batch, COLS))
            kept += batch.loc[~repeated, "id"].tolist()
            dropped += int(repeated.sum())
        seen.end_unit()
    return kept, dropped


def test_repeats_inside_a_unit_are_kept_and_across_units_dropped_even_across_batches():
    one = pd.DataFrame({"id": ["a", "b", "a"], "updated_at": ["t1", "t1", "t1"], "v": [1, 2, 1]})
    two = pd.DataFrame({"id": ["b", "c", "d"], "updated_at": ["t1", "t1", "t1"], "v": [2, 3, 4]})
    landed = identities(pd.DataFrame({"id": ["c"], "updated_at": ["t1"]}), COLS)
    kept, dropped = _stream([one, two], landed)
    assert kept == ["a", "b", "a", "d"]  # upstream's own duplicate (in another batch) is left for conform
    assert dropped == 2  # b again in the second unit, c landed by an earlier pull


def test_a_newer_version_of_a_key_is_not_a_duplicate():
    old = identities(pd.DataFrame({"id": ["a"], "updated_at": ["t1"]}), COLS)
    kept, dropped = _stream([pd.DataFrame({"id": ["a"], "updated_at": ["t2"]})], old)
    assert kept == ["a"] and dropped == 0


def test_nothing_in_nothing_out():
    assert _stream([], np.array([], dtype=np.uint64)) == ([], 0)
