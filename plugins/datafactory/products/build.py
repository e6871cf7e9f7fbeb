"""Builds a product table from its spec: a model's scores or SQL aggregates, then grades and schema.

A model product scores with the champion, except when the date was published before: then it scores
with the model version recorded for that date (`model_version`), so a rerun reproduces its output."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

from datafactory import sandbox
from datafactory.modeling.features import MissingInputError, build_features
from datafactory.products.banding import apply_grades
from datafactory.settings import Settings
from datafactory.specs import ModelSpec, ProductSpec, SpecError, load_models
from datafactory.specs.product import TYPES, Reasons, model_problems
from datafactory.zones import Zones


@dataclass(frozen=True)
class Built:
    table: pd.DataFrame
    inputs: list[str]  # the conformed feeds actually read
    model: dict[str, str] | None  # name, version, uri, run_id of the model used, and why it was chosen


def model_spec(settings: Settings, definition: ProductSpec) -> ModelSpec:
    """The scenario's model spec, checked against the scenario the product is authorized for."""
    models = load_models(settings.repo)
    if definition.model not in models:
        raise SpecError(f"products/{definition.name}.yaml: model {definition.model!r} has no models/<scenario>/")
    spec = models[definition.model]
    problems = model_problems(definition, spec.scenario, spec.inputs)
    if problems:
        raise SpecError(f"products/{definition.name}.yaml: {problems[0]}")
    return spec


def run_sql(sql: str, tables: dict[str, Any], parameters: dict[str, Any]) -> pd.DataFrame:
    """DuckDB over named frames or parquet paths; only the `$parameters` the SQL uses are bound."""
    con = sandbox.connect(tables)  # frames and parquet paths registered, then no file/network access, locked
    try:
        used = set(re.findall(r"\$([A-Za-z_]\w*)", sql))
        unknown = used - set(parameters)
        if unknown:
            raise KeyError(f"product SQL uses unknown parameters: {sorted(unknown)}")
        return con.execute(sql, {k: v for k, v in parameters.items() if k in used}).df()
    finally:
        con.close()


def conform_to_schema(table: pd.DataFrame, schema: dict[str, str], product: str) -> pd.DataFrame:
    """Exactly the declared columns, in order, with the declared types (nulls kept)."""
    missing = [c for c in schema if c not in table.columns]
    if missing:
        raise SpecError(f"products/{product}.yaml: the output lacks schema columns {missing}")
    out = pd.DataFrame(index=table.index)
    for column, kind in schema.items():
        values = table[column]
        if kind == "string":
            out[column] = values.map(lambda v: None if pd.isna(v) else str(v)).astype(object)
        elif kind == "int":
            numbers = pd.to_numeric(values, errors="raise")
            out[column] = numbers.astype("int64") if numbers.notna().all() else numbers.astype("Int64")
        else:
            out[column] = values.astype(TYPES[kind])
    return out.reset_index(drop=True)


class RecordedModelMissingError(RuntimeError):
    """The model version a date was published with is no longer in the registry."""


def registered_model(name: str, version: str) -> Any:
    """A registered version by number, read through MLflow's client (as scoring reads the champion)."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    from datafactory.modeling.scoring import ChampionRef

    try:
        mv = MlflowClient().get_model_version(name, str(version))
    except MlflowException as exc:
        raise RecordedModelMissingError(
            f"{name} version {version}, which this date was published with, is not in the registry; "
            "restate the date to score it with today's champion"
        ) from exc
    return ChampionRef(name, str(mv.version), mv.run_id, f"models:/{name}/{mv.version}")


def _scored(
    settings: Settings, definition: ProductSpec, day: date, model_version: str | None = None
) -> tuple[pd.DataFrame, ModelSpec, Any]:
    from datafactory.modeling.scoring import champion, predict
    from datafactory.modeling.tracking import use_tracking

    spec = model_spec(settings, definition)
    zones = Zones(settings.home)
    use_tracking(settings, spec.name)
    ref = registered_model(spec.name, model_version) if model_version else champion(spec.name)
    features = build_features(spec, zones, day).reset_index(drop=True)
    outputs = predict(ref, features, spec, logical_date=day, zones=zones)
    scored = pd.concat([features.drop(columns=list(outputs.columns), errors="ignore"), outputs], axis=1)
    scored["model_version"] = str(ref.version)
    if definition.reasons:
        scored["reasons"] = _reasons(ref, features, definition.reasons)
    return scored, spec, ref


def _reasons(ref: Any, features: pd.DataFrame, reasons: Reasons) -> pd.Series:
    import mlflow

    from datafactory.modeling.scoring import model_input
    from datafactory.products.reasons import contributions, top_reasons

    model = mlflow.pyfunc.load_model(ref.uri)
    primary = model.unwrap_python_model().primary

    def risk(frame: pd.DataFrame):
        return pd.DataFrame(model.predict(frame))[primary].to_numpy(dtype=float)

    effects = contributions(risk, model_input(model, features), reasons.risk_is_high)
    return top_reasons(effects, reasons.labels, reasons.top)


def build_table(settings: Settings, definition: ProductSpec, day: date, model_version: str | None = None) -> Built:
    """`model_version`: score with this registered version (the one recorded for `day`), not the champion."""
    parameters = {"as_of": day.isoformat(), "k": definition.pii.k}
    if definition.is_model:
        scored, spec, ref = _scored(settings, definition, day, model_version)
        table = run_sql(definition.output, {"scored": scored}, parameters)
        inputs = spec.inputs
        model = {
            "name": ref.name,
            "version": str(ref.version),
            "uri": ref.uri,
            "run_id": ref.run_id,
            "chosen": "recorded for the date" if model_version else "champion",
        }
    else:
        zones = Zones(settings.home)
        tables = {}
        for source in definition.inputs:
            path = zones.conformed_as_of(source, day)
            if path is None:
                raise MissingInputError(f"{definition.name}: no conformed {source} on or before {day}")
            tables[source] = path
        table = run_sql(definition.output, tables, parameters)
        inputs, model = definition.inputs, None
    table = apply_grades(table, definition.grade_list)
    return Built(conform_to_schema(table, definition.schema, definition.name), list(inputs), model)
