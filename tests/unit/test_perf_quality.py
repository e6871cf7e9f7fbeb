"""The runner's reuse of one GE context per thread and its skipped batch hash change no result."""

import numpy as np
import pandas as pd
import pytest

from datafactory.quality import runner
from datafactory.specs import SuiteSpec

pytestmark = pytest.mark.unit


def _frame(rows: int = 3000) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    keys = pd.array([f"K{i:06d}" if i % 97 else None for i in range(rows)], dtype="string[pyarrow]")
    return pd.DataFrame(
        {
            "key": keys,
            "name": [f"n{i % 40}" if i % 13 else None for i in range(rows)],
            "grade": pd.Series(rng.choice(list("ABCX"), rows)).astype("category"),
            "amount": np.where(rng.random(rows) < 0.01, -1.0, rng.random(rows)),
            "mixed": [("1" if i % 2 else 1) if i % 7 else None for i in range(rows)],
            "at": pd.Timestamp("2026-11-01") + pd.to_timedelta(rng.integers(0, 86_400, rows), unit="s"),
        }
    )


def test_no_batch_is_hashed_cell_by_cell(monkeypatch):
    """GE's per-batch md5 of every cell was a fifth of a 1M-row validation and reaches no result."""
    from great_expectations.execution_engine import pandas_execution_engine as engine

    def refuse(df):
        raise AssertionError(f"GE hashed a {df.shape} batch")

    monkeypatch.setattr(engine, "hash_pandas_dataframe", refuse)
    suite = SuiteSpec.model_validate(
        {
            "name": "perf",
            "expectations": [
                {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "key"}},
                {"type": "expect_column_values_to_be_between", "kwargs": {"column": "amount", "min_value": 0}},
            ],
        }
    )
    outcomes, _ = runner.validate_frame(_frame(), suite)
    assert [o.success for o in outcomes] == [True, False]


def test_repeated_calls_give_the_same_outcomes_and_keep_no_batch():
    suite = SuiteSpec.model_validate(
        {
            "name": "perf",
            "expectations": [
                {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "key"}},
                {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "key"}},
                {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "grade", "value_set": list("ABC")}},
                {"type": "expect_column_values_to_be_between", "kwargs": {"column": "amount", "min_value": 0}},
                {"type": "expect_table_columns_to_match_set", "kwargs": {"column_set": list(_frame().columns)}},
            ],
        }
    )
    first, _ = runner.validate_frame(_frame(), suite)
    other, _ = runner.validate_frame(_frame(500), suite)  # a different frame in between
    again, _ = runner.validate_frame(_frame(), suite)
    assert [vars(o) for o in again] == [vars(o) for o in first]
    assert other[0].unexpected_count != first[0].unexpected_count
    assert runner._batch_definition().data_asset.datasource._execution_engine is None  # no frame kept
