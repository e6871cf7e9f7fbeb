"""Scores a feature table with the scenario's champion model from the registry."""

from __future__ import annotations

from dataclasses import dataclass

import mlflow
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from datafactory.modeling.registry import CHAMPION


class NoChampionError(RuntimeError):
    """The scenario has no champion model to score with."""


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


def score(ref: ChampionRef, features: pd.DataFrame) -> np.ndarray:
    """Predict with the columns the model's signature names, in its order."""
    model = mlflow.pyfunc.load_model(ref.uri)
    names = model.metadata.get_input_schema().input_names()
    return np.asarray(model.predict(features[names].astype("float64")), dtype=float)
