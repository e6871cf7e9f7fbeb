"""The feature table comes back exactly as DuckDB's own `.df()` gives it (types included), though text
columns take the Arrow path."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

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
