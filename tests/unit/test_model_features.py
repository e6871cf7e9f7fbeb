"""The feature table comes back exactly as DuckDB's own `.df()` gives it (types included), though text
columns take the Arrow path."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datafactory.modeling.features import _fetch

pytestmark = pytest.mark.unit

QUERY = """
SELECT range AS id, 'E' || lpad(range::VARCHAR, 6, '0') AS uscc,
       CASE WHEN range % 3 = 0 THEN NULL ELSE 'region' || (range % 4) END AS region,
       range::DECIMAL(12, 2) / 7 AS amount, CASE WHEN range % 5 = 0 THEN NULL ELSE range END AS sparse,
       range % 2 = 0 AS flag, DATE '2026-01-01' + range::INTEGER AS day, (range * 0.5)::FLOAT AS half,
       (range % 100)::TINYINT AS small
FROM range(1000)
"""


@pytest.mark.parametrize(
    "query",
    [QUERY, "SELECT 'only text' AS note", "SELECT 1 AS a, 2.5 AS b", "SELECT 'x' AS s WHERE false", "SELECT 7 AS n"],
)
def test_the_feature_table_is_what_duckdb_df_gives(query):
    con = duckdb.connect()
    pd.testing.assert_frame_equal(_fetch(con.execute(query)), con.execute(query).df())
    assert list(_fetch(con.execute(query)).columns) == list(con.execute(query).df().columns)


KINDS = ["TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UBIGINT", "FLOAT", "DOUBLE", "BOOLEAN", "VARCHAR", "DATE"]


@settings(max_examples=40, deadline=None)
@given(
    columns=st.lists(st.tuples(st.sampled_from(KINDS), st.booleans()), min_size=1, max_size=6),
    rows=st.integers(min_value=0, max_value=50),
)
def test_any_mix_of_types_with_or_without_nulls_comes_back_as_df_gives_it(columns, rows):
    """Each column takes the Arrow path or DuckDB's by its type and whether it holds a null; whichever it
    takes, the frame must be `.df()`'s, column for column."""
    select = []
    for i, (kind, nulls) in enumerate(columns):
        value = (
            f"(range % 97)::{kind}"
            if kind not in ("VARCHAR", "DATE", "BOOLEAN")
            else {"VARCHAR": "'v' || range", "DATE": "DATE '2026-01-01' + range::INTEGER", "BOOLEAN": "range % 2 = 0"}[
                kind
            ]
        )
        select.append(f"CASE WHEN {'range % 4 = 1' if nulls else 'false'} THEN NULL ELSE {value} END AS c{i}")
    query = f"SELECT {', '.join(select)} FROM range({rows})"
    con = duckdb.connect()
    pd.testing.assert_frame_equal(_fetch(con.execute(query)), con.execute(query).df())
