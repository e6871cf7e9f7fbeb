"""Guarantees of the conformed zone, as properties over random batches (quality/split.py).

- Newest wins: the conformed upsert keeps the newest version of every key, whatever order the rows
  arrive in, and merging the same fresh rows again changes nothing.
- Row accounting: rows_in == conformed + quarantined for any failure mask, and every quarantined row
  names every quarantine-severity check it failed.

The expected answers are computed independently (groupby/idxmax, plain loops), never by the code under test.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datafactory.quality.runner import ExpectationOutcome
from datafactory.quality.split import (
    REASON_COLUMN,
    ROW_COLUMN,
    RUN_COLUMN,
    SOURCE_COLUMN,
    TYPE_CHECK,
    merge_conformed,
    older_duplicates,
    row_failures,
    split_rows,
)

pytestmark = pytest.mark.unit
EPOCH = pd.Timestamp("2026-11-01")
KEYS = ["uscc"]


@st.composite
def versions(draw, max_rows: int = 40) -> pd.DataFrame:
    """Rows of a few keys, each row a distinct version (distinct stamps), in arbitrary order."""
    n = draw(st.integers(1, max_rows))
    keys = draw(st.lists(st.sampled_from(["A", "B", "C", "D", "E"]), min_size=n, max_size=n))
    minutes = draw(st.lists(st.integers(0, 10_000), min_size=n, max_size=n, unique=True))
    return pd.DataFrame(
        {
            "uscc": keys,
            "updated_at": EPOCH + pd.to_timedelta(minutes, unit="min"),
            "row_id": [f"r{i}" for i in range(n)],  # which version survived
        }
    )


def _newest_per_key(frame: pd.DataFrame, keys: list[str] = KEYS) -> set[tuple]:
    """Independent answer: the row holding each key's latest stamp."""
    winners = frame.loc[frame.groupby(keys)["updated_at"].idxmax()]
    return set(winners[[*keys, "updated_at", "row_id"]].itertuples(index=False, name=None))


def _as_set(frame: pd.DataFrame, keys: list[str] = KEYS) -> set[tuple]:
    return set(frame[[*keys, "updated_at", "row_id"]].itertuples(index=False, name=None))


@settings(max_examples=150, deadline=None)
@given(batch=versions(), cut=st.floats(0, 1), seed=st.integers(0, 2**32 - 1))
def test_newest_version_of_each_key_wins_whatever_the_row_order(batch: pd.DataFrame, cut: float, seed: int):
    shuffled = batch.sample(frac=1, random_state=seed).reset_index(drop=True)
    split_at = int(cut * len(shuffled))
    existing, fresh = shuffled.iloc[:split_at], shuffled.iloc[split_at:]
    merged = merge_conformed(existing if len(existing) else None, fresh, KEYS, "updated_at")
    assert _as_set(merged) == _newest_per_key(batch)
    assert not merged["uscc"].duplicated().any()
    assert merged["uscc"].tolist() == sorted(merged["uscc"])  # sorted by key, index reset
    assert merged.index.tolist() == list(range(len(merged)))
    assert list(merged.columns) == list(batch.columns)


@settings(max_examples=100, deadline=None)
@given(old=versions(), new=versions(), seed=st.integers(0, 2**32 - 1))
def test_a_rerun_merging_the_same_fresh_rows_again_changes_nothing(old: pd.DataFrame, new: pd.DataFrame, seed: int):
    new = new.assign(row_id="n" + new["row_id"])
    existing = merge_conformed(None, old, KEYS, "updated_at")
    once = merge_conformed(existing, new, KEYS, "updated_at")
    twice = merge_conformed(once, new.sample(frac=1, random_state=seed), KEYS, "updated_at")
    pd.testing.assert_frame_equal(once, twice)
    assert len(twice) == twice["uscc"].nunique() == pd.concat([old, new])["uscc"].nunique()


def test_an_older_version_arriving_later_does_not_replace_the_newer_one():
    existing = pd.DataFrame({"uscc": ["A"], "updated_at": [EPOCH + pd.Timedelta(hours=5)], "row_id": ["new"]})
    late = pd.DataFrame({"uscc": ["A"], "updated_at": [EPOCH + pd.Timedelta(hours=1)], "row_id": ["old"]})
    assert merge_conformed(existing, late, KEYS, "updated_at")["row_id"].tolist() == ["new"]
    assert merge_conformed(late, existing, KEYS, "updated_at")["row_id"].tolist() == ["new"]


def test_compound_keys_are_upserted_as_a_whole():
    stamp = [EPOCH + pd.Timedelta(hours=h) for h in (1, 2, 3, 4)]
    existing = pd.DataFrame({"uscc": ["A", "A"], "month": [1, 2], "updated_at": stamp[:2], "row_id": ["a1", "a2"]})
    fresh = pd.DataFrame({"uscc": ["A", "B"], "month": [2, 1], "updated_at": stamp[2:], "row_id": ["a2'", "b1"]})
    merged = merge_conformed(existing, fresh, ["uscc", "month"], "updated_at")
    assert merged[["uscc", "month", "row_id"]].values.tolist() == [["A", 1, "a1"], ["A", 2, "a2'"], ["B", 1, "b1"]]


def test_ties_on_the_stamp_are_decided_deterministically():
    """Same key, same stamp: the fresh row replaces the stored one (a rerun's correction lands), and
    within one batch the later row wins - the same copy the quarantine split keeps."""
    same = EPOCH + pd.Timedelta(hours=3)
    stored = pd.DataFrame({"uscc": ["A"], "updated_at": [same], "row_id": ["stored"]})
    fresh = pd.DataFrame({"uscc": ["A", "A"], "updated_at": [same, same], "row_id": ["first", "second"]})
    assert merge_conformed(stored, fresh.iloc[:1], KEYS, "updated_at")["row_id"].tolist() == ["first"]
    assert merge_conformed(None, fresh, KEYS, "updated_at")["row_id"].tolist() == ["second"]
    assert merge_conformed(stored, fresh, KEYS, "updated_at")["row_id"].tolist() == ["second"]
    assert older_duplicates(fresh, KEYS, "updated_at").tolist() == [True, False]


@settings(max_examples=150, deadline=None)
@given(batch=versions(), seed=st.integers(0, 2**32 - 1))
def test_older_duplicates_flags_every_copy_but_the_newest(batch: pd.DataFrame, seed: int):
    # A shuffled, non-default index: the mask must line up with the frame's own labels.
    shuffled = batch.sample(frac=1, random_state=seed)
    shuffled.index = [f"i{n}" for n in range(len(shuffled))][::-1]
    older = older_duplicates(shuffled, KEYS, "updated_at")
    assert older.index.tolist() == shuffled.index.tolist()
    kept = shuffled[~older.to_numpy(dtype=bool)]
    assert _as_set(kept) == _newest_per_key(batch)  # exactly one copy per key, the newest
    assert int(older.sum()) == len(batch) - batch["uscc"].nunique()
    # What the split keeps and what the upsert keeps are the same rows.
    assert _as_set(merge_conformed(None, kept, KEYS, "updated_at")) == _as_set(kept)


# --- Row accounting -----------------------------------------------------------------------------

SEVERITIES = ["quarantine", "warning", "critical"]
CHECKS = ["expect_column_values_to_not_be_null", "expect_column_values_to_be_between", "expect_column_values_to_match"]


@st.composite
def failing_batches(draw):
    n = draw(st.integers(1, 30))
    rows = st.lists(st.integers(0, n - 1), unique=True, max_size=n)
    outcomes = []
    for i in range(draw(st.integers(0, 4))):
        failed = draw(rows)
        outcomes.append(
            ExpectationOutcome(
                draw(st.sampled_from(CHECKS)),
                f"c{i}",
                draw(st.sampled_from(SEVERITIES)),
                not failed,
                len(failed),
                failed_rows=failed,
            )
        )
    duplicates = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    if draw(st.booleans()):
        unique = ExpectationOutcome("expect_column_values_to_be_unique", "k", draw(st.sampled_from(SEVERITIES)), False)
        outcomes.insert(draw(st.integers(0, len(outcomes))), unique)
    flags = st.lists(st.booleans(), min_size=n, max_size=n)
    type_failures = {f"t{j}": pd.Series(draw(flags)) for j in range(draw(st.integers(0, 2)))}
    return n, outcomes, pd.Series(duplicates), type_failures


def _expected_reasons(n, outcomes, duplicates, type_failures) -> list[list[str]]:
    """Per row, every label it should be quarantined for, in declaration order (a plain loop)."""
    reasons: list[list[str]] = [[] for _ in range(n)]
    for out in outcomes:
        if out.severity != "quarantine":
            continue  # warnings pass; critical failures hold the batch elsewhere
        if out.expectation == "expect_column_values_to_be_unique":
            failing = [i for i in range(n) if duplicates[i]]
        else:
            failing = out.failed_rows
        for i in failing:
            reasons[i].append(f"{out.expectation}({out.column})")
    for column, lost in type_failures.items():
        for i in range(n):
            if lost[i]:
                reasons[i].append(f"{TYPE_CHECK}({column})")
    return reasons


@settings(max_examples=200, deadline=None)
@given(case=failing_batches())
def test_every_row_is_either_conformed_or_quarantined_with_its_reasons(case):
    n, outcomes, duplicates, type_failures = case
    raw = pd.DataFrame({"k": [f"k{i}" for i in range(n)], "x": [str(i) for i in range(n)]})
    typed = raw.assign(x=np.arange(n, dtype="int64"))
    failures = row_failures(n, outcomes, duplicates, type_failures)
    split = split_rows(raw, typed, failures, "run-7", "feed_z")

    expected = _expected_reasons(n, outcomes, duplicates, type_failures)
    bad = [i for i in range(n) if expected[i]]
    assert len(split.conformed) + len(split.quarantined) == n  # nothing lost, nothing doubled
    assert split.quarantined[ROW_COLUMN].tolist() == bad
    assert split.quarantined["k"].tolist() == [f"k{i}" for i in bad]
    assert split.quarantined[REASON_COLUMN].tolist() == ["; ".join(expected[i]) for i in bad]
    assert all(isinstance(r, str) and r for r in split.quarantined[REASON_COLUMN])  # every row says why
    assert (split.quarantined[RUN_COLUMN] == "run-7").all() and (split.quarantined[SOURCE_COLUMN] == "feed_z").all()
    assert split.conformed["x"].tolist() == [i for i in range(n) if not expected[i]]  # typed, in order
    counted: dict[str, int] = {}
    for labels in expected:
        for label in labels:
            counted[label] = counted.get(label, 0) + 1
    assert split.failures_by_label == counted


@settings(max_examples=50, deadline=None)
@given(case=failing_batches())
def test_a_batch_failure_quarantines_every_row_and_names_it_first(case):
    n, outcomes, duplicates, type_failures = case
    raw = pd.DataFrame({"k": [f"k{i}" for i in range(n)]})
    failures = row_failures(n, outcomes, duplicates, type_failures).with_batch_failure(["expect_table_row_count"])
    split = split_rows(raw, raw, failures, "r", "f")
    assert split.conformed.empty and len(split.quarantined) == n
    assert split.quarantined[REASON_COLUMN].str.startswith("expect_table_row_count").all()
    assert split.failures_by_label["expect_table_row_count"] == n


def test_a_clean_batch_conforms_every_row():
    raw = pd.DataFrame({"k": ["a", "b"]})
    outcomes = [ExpectationOutcome("expect_column_values_to_be_unique", "k", "quarantine", True)]
    failures = row_failures(2, outcomes, pd.Series([False, False]), {})
    split = split_rows(raw, raw, failures, "r", "f")
    assert split.quarantined.empty and split.conformed["k"].tolist() == ["a", "b"] and split.failures_by_label == {}


def test_ties_in_a_large_batch_keep_the_last_copy_in_batch_order():
    """Many rows on few stamps: only a stable sort keeps 'the later row wins' (quicksort reorders ties)."""
    n = 300
    rng = np.random.default_rng(7)
    batch = pd.DataFrame(
        {
            "uscc": [f"K{i % 7}" for i in range(n)],
            "updated_at": EPOCH + pd.to_timedelta(rng.integers(0, 3, n), unit="h"),
            "row_id": [f"r{i}" for i in range(n)],
        }
    )
    newest = batch["updated_at"] == batch.groupby("uscc")["updated_at"].transform("max")
    expected = set(batch[newest].groupby("uscc").tail(1)[["uscc", "updated_at", "row_id"]].itertuples(index=False))
    assert _as_set(merge_conformed(None, batch, KEYS, "updated_at")) == expected
    kept = batch[~older_duplicates(batch, KEYS, "updated_at").to_numpy(dtype=bool)]
    assert _as_set(kept) == expected


def test_a_clean_outcome_or_a_batch_without_duplicates_does_not_stop_the_later_checks():
    outcomes = [
        ExpectationOutcome("expect_column_values_to_be_unique", "k", "quarantine", True),
        ExpectationOutcome("expect_column_values_to_not_be_null", "a", "quarantine", True),
        ExpectationOutcome("expect_column_values_to_not_be_null", "b", "warning", False, 1, failed_rows=[0]),
        ExpectationOutcome("expect_column_values_to_not_be_null", "c", "quarantine", False, 1, failed_rows=[1]),
    ]
    failures = row_failures(3, outcomes, pd.Series([False, False, False]), {"t": pd.Series([False, False, True])})
    assert failures.labels == ["expect_column_values_to_not_be_null(c)", f"{TYPE_CHECK}(t)"]
    assert failures.failed().tolist() == [False, True, True]


def test_the_same_check_failed_twice_is_counted_once_per_failure():
    outcomes = [
        ExpectationOutcome("expect_column_values_to_match", "a", "quarantine", False, 1, failed_rows=[0]),
        ExpectationOutcome("expect_column_values_to_match", "a", "quarantine", False, 2, failed_rows=[1, 2]),
    ]
    failures = row_failures(3, outcomes, pd.Series([False] * 3), {})
    assert failures.counts() == {"expect_column_values_to_match(a)": 3}


def test_the_split_keeps_the_columns_and_a_fresh_index():
    raw = pd.DataFrame({"k": ["a", "b", "c"], "x": ["1", "oops", "3"]}, index=[10, 11, 12])
    typed = raw.assign(x=pd.array([1, None, 3], dtype="Int64"))
    failures = row_failures(3, [], pd.Series([False] * 3), {"x": pd.Series([False, True, False])})
    split = split_rows(raw, typed, failures, "r", "f")
    assert list(split.conformed.columns) == ["k", "x"] and split.conformed.index.tolist() == [0, 1]
    assert list(split.quarantined.columns) == ["k", "x", REASON_COLUMN, RUN_COLUMN, SOURCE_COLUMN, ROW_COLUMN]
    assert split.quarantined.index.tolist() == [0] and split.quarantined[ROW_COLUMN].tolist() == [1]
    assert split.quarantined[REASON_COLUMN].dtype == "string" and split.quarantined["x"].tolist() == ["oops"]


def test_an_empty_day_keeps_the_conformed_rows_and_their_types(recwarn):
    existing = pd.DataFrame(
        {
            "uscc": pd.array(["A", "B"], dtype="string"),
            "updated_at": [EPOCH, EPOCH + pd.Timedelta(hours=1)],
            "amount": pd.array([1, None], dtype="Int64"),
        }
    )
    empty = pd.DataFrame({c: pd.Series(dtype=object) for c in [*existing.columns, "added_later"]})
    merged = merge_conformed(existing, empty, KEYS, "updated_at")
    assert merged[list(existing.columns)].dtypes.tolist() == existing.dtypes.tolist()
    assert merged["uscc"].tolist() == ["A", "B"] and merged["added_later"].isna().all()
    assert list(merged.columns) == [*existing.columns, "added_later"]
    first = merge_conformed(None, empty, KEYS, "updated_at")
    assert first.empty and list(first.columns) == list(empty.columns)
    assert not [w for w in recwarn if issubclass(w.category, FutureWarning)]
