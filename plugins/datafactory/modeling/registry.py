"""Registry with aliases: register as challenger, promote to champion only on a win. Idempotent."""

from __future__ import annotations

from dataclasses import dataclass

import mlflow
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from datafactory.modeling.metrics import binary_metrics

CHAMPION, CHALLENGER = "champion", "challenger"


@dataclass(frozen=True)
class PromotionDecision:
    version: str
    promoted: bool
    reason: str
    challenger_score: float
    champion_score: float | None


def version_with_fingerprint(client: MlflowClient, name: str, fingerprint: str) -> str | None:
    try:
        versions = client.search_model_versions(f"name='{name}' and tag.training_fingerprint='{fingerprint}'")
    except MlflowException:
        return None
    return versions[0].version if versions else None


def register_challenger(client: MlflowClient, name: str, model_uri: str, run_id: str, fingerprint: str) -> str:
    version = mlflow.register_model(model_uri, name, tags={"training_fingerprint": fingerprint, "run_id": run_id})
    client.set_registered_model_alias(name, CHALLENGER, version.version)
    return str(version.version)


def champion_version(client: MlflowClient, name: str) -> str | None:
    try:
        return str(client.get_model_version_by_alias(name, CHAMPION).version)
    except MlflowException:
        return None


def decide_promotion(
    client: MlflowClient,
    name: str,
    version: str,
    holdout_x: pd.DataFrame,
    holdout_y: np.ndarray,
    metric: str,
    min_improvement: float,
    cutoff: float,
) -> PromotionDecision:
    """Score challenger and champion on the same holdout; move `champion` only if the challenger wins."""
    challenger = _holdout_score(name, version, holdout_x, holdout_y, metric, cutoff)
    current = champion_version(client, name)
    if current == version:
        return PromotionDecision(version, False, "already champion", challenger, challenger)
    if current is None:
        decision = PromotionDecision(version, True, "no champion yet", challenger, None)
    else:
        incumbent = _holdout_score(name, current, holdout_x, holdout_y, metric, cutoff)
        wins = challenger > incumbent + min_improvement
        reason = (
            f"{metric} {challenger:.4f} vs champion v{current} {incumbent:.4f} on the same holdout"
            f" ({'wins' if wins else 'does not beat it'} by more than {min_improvement})"
        )
        decision = PromotionDecision(version, wins, reason, challenger, incumbent)
    if decision.promoted:
        client.set_registered_model_alias(name, CHAMPION, version)
        client.delete_registered_model_alias(name, CHALLENGER)
        client.set_model_version_tag(name, version, "promotion", decision.reason)
    else:
        client.set_model_version_tag(name, version, "promotion_rejected", decision.reason)
    return decision


def _holdout_score(name, version, x, y, metric, cutoff) -> float:
    model = mlflow.pyfunc.load_model(f"models:/{name}/{version}")
    return binary_metrics(y, np.asarray(model.predict(x), dtype=float), cutoff)[metric]
