"""Builds a scenario's feature table by running its SQL in DuckDB over conformed parquet."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pandas as pd

from datafactory import sandbox
from datafactory.specs import ModelSpec
from datafactory.zones import Zones


class MissingInputError(RuntimeError):
    """A conformed input the scenario needs has not been produced yet."""


def sql_parameters(sql: str, as_of: date, declared: dict[str, Any]) -> dict[str, Any]:
    """`$as_of` plus the spec's `sql_params`, limited to the names the SQL uses (DuckDB rejects extras)."""
    used = set(re.findall(r"\$([A-Za-z_]\w*)", sql))
    values = {"as_of": as_of.isoformat(), **declared}
    unknown = used - set(values)
    if unknown:
        raise KeyError(f"features SQL uses ${', $'.join(sorted(unknown))}; declare them under sql_params")
    return {k: v for k, v in values.items() if k in used}


def build_features(spec: ModelSpec, zones: Zones, as_of: date) -> pd.DataFrame:
    inputs = {}
    for source in spec.inputs:
        path = zones.conformed_as_of(source, as_of)
        if path is None:
            raise MissingInputError(
                f"{spec.name}: no conformed {source} on or before {as_of}; run the ingest DAG first"
            )
        inputs[source] = path
    con = sandbox.connect(inputs)  # inputs registered, then no file/network access and a locked configuration
    try:
        sql = spec.features_sql
        return con.execute(sql, sql_parameters(sql, as_of, spec.sql_params)).df()
    finally:
        con.close()
