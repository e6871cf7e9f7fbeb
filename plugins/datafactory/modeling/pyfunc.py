"""The one MLflow model class every family is registered as: prepare the input, predict named outputs."""

from __future__ import annotations

from typing import Any

import mlflow
import pandas as pd

from datafactory.modeling.columns import FeatureSchema
from datafactory.modeling.drift import Reference


class ScenarioModel(mlflow.pyfunc.PythonModel):
    """Input: the signature's columns (numbers as float64, categories as text). Output: a frame whose
    columns depend on the family (`probability`; `grade`, `grade_rank`; `points`; `prediction`)."""

    def __init__(self, family: str, schema: FeatureSchema, estimator: Any, primary: str, reference: Reference):
        self.family = family
        self.schema = schema
        self.estimator = estimator
        self.primary = primary
        self.reference = reference

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        return self.estimator.predict_outputs(self.schema.matrix(model_input)).reset_index(drop=True)
