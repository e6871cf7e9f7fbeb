"""Scores a feature table with the scenario's champion model from the registry.

`score` returns the family's primary output as numbers (fraud probability, scorecard points, grade
rank, expected energy); `predict` returns every named output, plus what the spec declares on top
(K, efficiency grade, CO2). Given a logical date and the zones, both record population stability.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from datafactory.modeling.columns import as_text
from datafactory.modeling.efficiency import declared_outputs
from datafactory.modeling.errors import NoChampionError
from datafactory.modeling.registry import CHAMPION
from datafactory.specs.model import ModelSpec
from datafactory.zones import Zones


@dataclass(frozen=True)
class ChampionRef:
    name: str
    version: str
    run_id: str
    uri: str


def champion(name: str) -> ChampionRef:
    try:
        mv = MlflowClient().get_model_version_by_alias(name, CHAMPION)
    except MlflowException as exc:
        raise NoChampionError(f"{name}: no model has the '{CHAMPION}' alias yet; run the training DAG") from exc
    return ChampionRef(name, str(mv.version), mv.run_id, f"models:/{name}/{mv.version}")


def model_input(model: Any, features: pd.DataFrame) -> pd.DataFrame:
    """The signature's columns in its order: numbers as float64, text as text."""
    schema = model.metadata.get_input_schema()
    missing = [c for c in schema.input_names() if c not in features.columns]
    if missing:
        raise KeyError(f"features lack the model's inputs: {', '.join(missing)}")
    columns = {}
    for spec in schema.inputs:
        column = features[spec.name]
        if str(spec.type).lower().endswith("string"):
            columns[spec.name] = as_text(column)
        else:
            columns[spec.name] = pd.to_numeric(column, errors="coerce").astype("float64")
    return pd.DataFrame(columns).reset_index(drop=True)


def _outputs(ref: ChampionRef, features: pd.DataFrame) -> tuple[pd.DataFrame, Any]:
    model = mlflow.pyfunc.load_model(ref.uri)
    outputs = model.predict(model_input(model, features))
    return pd.DataFrame(outputs).reset_index(drop=True), model.unwrap_python_model()


def predict(
    ref: ChampionRef,
    features: pd.DataFrame,
    spec: ModelSpec | None = None,
    *,
    logical_date: date | None = None,
    zones: Zones | None = None,
) -> pd.DataFrame:
    outputs, scenario_model = _outputs(ref, features)
    if logical_date is not None and zones is not None:
        _monitor(ref, scenario_model, outputs, logical_date, zones)
    return declared_outputs(outputs, features, spec) if spec is not None else outputs


def score(
    ref: ChampionRef, features: pd.DataFrame, *, logical_date: date | None = None, zones: Zones | None = None
) -> np.ndarray:
    """The primary output per row, in the features' row order."""
    outputs, scenario_model = _outputs(ref, features)
    if logical_date is not None and zones is not None:
        _monitor(ref, scenario_model, outputs, logical_date, zones)
    return outputs[scenario_model.primary].to_numpy(dtype=float)


def _monitor(ref: ChampionRef, scenario_model: Any, outputs: pd.DataFrame, logical_date: date, zones: Zones) -> None:
    from datafactory.modeling.monitoring import record_population_stability

    record_population_stability(ref, scenario_model.reference, outputs, logical_date, zones)
