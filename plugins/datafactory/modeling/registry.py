"""Registry with aliases: register as challenger, promote to champion only on a win. Idempotent."""

from __future__ import annotations

from dataclasses import dataclass

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from datafactory.modeling.metrics import better
from datafactory.modeling.train import TrainedModel

CHAMPION, CHALLENGER = "champion", "challenger"
_DESCRIPTION_LIMIT = 5000


class IncomparableChampionError(RuntimeError):
    """The champion cannot score the current holdout (its inputs or outputs no longer match)."""


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
    return str(versions[0].version) if versions else None


def register_challenger(
    client: MlflowClient, name: str, model_uri: str, run_id: str, fingerprint: str, card: str, candidate: str
) -> str:
    version = mlflow.register_model(
        model_uri, name, tags={"training_fingerprint": fingerprint, "run_id": run_id, "candidate": candidate}
    )
    client.update_model_version(name, version.version, description=card[:_DESCRIPTION_LIMIT])
    client.set_registered_model_alias(name, CHALLENGER, version.version)
    return str(version.version)


def champion_version(client: MlflowClient, name: str) -> str | None:
    try:
        return str(client.get_model_version_by_alias(name, CHAMPION).version)
    except MlflowException:
        return None


def holdout_score(name: str, version: str, trained: TrainedModel) -> float:
    """The registered version's promotion metric on the challenger's holdout rows."""
    model = mlflow.pyfunc.load_model(f"models:/{name}/{version}")
    names = model.metadata.get_input_schema().input_names()
    missing = [c for c in names if c not in trained.holdout_x.columns]
    if missing:
        raise IncomparableChampionError(f"needs columns the features no longer have: {', '.join(missing)}")
    try:
        outputs = model.predict(trained.holdout_x[names])
        metrics = trained.family.evaluate(trained.holdout_y, outputs, trained.config)
    except (MlflowException, KeyError, ValueError) as exc:
        raise IncomparableChampionError(str(exc).splitlines()[0]) from exc
    return metrics[trained.config.promotion_metric]


def decide_promotion(client: MlflowClient, name: str, version: str, trained: TrainedModel) -> PromotionDecision:
    """Compare challenger and champion on the same holdout; move `champion` only if the challenger wins."""
    metric, margin = trained.config.promotion_metric, trained.config.min_improvement
    challenger = trained.metrics[metric]
    current = champion_version(client, name)
    if current == version:
        return PromotionDecision(version, False, "already champion", challenger, challenger)
    if current is None:
        decision = PromotionDecision(version, True, "no champion yet", challenger, None)
    else:
        try:
            incumbent = holdout_score(name, current, trained)
        except IncomparableChampionError as exc:
            # A champion that cannot score today's features cannot serve the products either.
            reason = f"champion v{current} cannot score the current holdout ({exc}); replaced"
            decision = PromotionDecision(version, True, reason, challenger, None)
        else:
            wins = better(metric, challenger, incumbent, margin)
            reason = (
                f"{metric} {challenger:.4f} vs champion v{current} {incumbent:.4f} on the same holdout"
                f" ({'wins' if wins else 'does not beat it'} by more than {margin})"
            )
            decision = PromotionDecision(version, wins, reason, challenger, incumbent)
    if decision.promoted:
        client.set_registered_model_alias(name, CHAMPION, version)
        client.delete_registered_model_alias(name, CHALLENGER)
        client.set_model_version_tag(name, version, "promotion", decision.reason)
    else:
        client.set_model_version_tag(name, version, "promotion_rejected", decision.reason)
    return decision
