"""Builds a scenario's feature table by running its SQL in DuckDB over conformed parquet."""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd

from datafactory.specs import ModelSpec
from datafactory.zones import Zones


class MissingInputError(RuntimeError):
    """A conformed input the scenario needs has not been produced yet."""


def build_features(spec: ModelSpec, zones: Zones, as_of: date) -> pd.DataFrame:
    con = duckdb.connect()
    try:
        for source in spec.inputs:
            path = zones.conformed_as_of(source, as_of)
            if path is None:
                raise MissingInputError(
                    f"{spec.name}: no conformed {source} on or before {as_of}; run the ingest DAG first"
                )
            con.execute(f"CREATE VIEW {source} AS SELECT * FROM read_parquet('{path}')")
        return con.execute(spec.features_sql, {"as_of": as_of.isoformat()}).df()
    finally:
        con.close()
