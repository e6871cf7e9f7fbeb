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


def describe_registered_model(client: MlflowClient, name: str, description: str, tags: dict[str, str]) -> None:
    """Create the registered model if needed, with a description and tags (scenario, owner, family)."""
    try:
        current = client.get_registered_model(name)
    except MlflowException:
        client.create_registered_model(name, tags=tags, description=description[:_DESCRIPTION_LIMIT])
        return
    if (current.description or "") != description[:_DESCRIPTION_LIMIT]:
        client.update_registered_model(name, description=description[:_DESCRIPTION_LIMIT])
    for key, value in tags.items():
        if current.tags.get(key) != value:
            client.set_registered_model_tag(name, key, value)


def register_winner(
    client: MlflowClient, name: str, model_uri: str, run_id: str, fingerprint: str, card: str, candidate: str
) -> str:
    """A new version for the session's winner, linked to its logged model and run, with the card as its
    description; aliases move only in `decide_promotion`. (The client call, not `mlflow.register_model`,
    which prints that the model "already exists" on its first version: the model was described first.)"""
    version = client.create_model_version(
        name,
        source=model_uri,
        run_id=run_id,
        tags={"training_fingerprint": fingerprint, "run_id": run_id, "candidate": candidate},
        description=card[:_DESCRIPTION_LIMIT],
        model_id=model_uri.removeprefix("models:/") if model_uri.startswith("models:/") else None,
    )
    return str(version.version)


def alias_version(client: MlflowClient, name: str, alias: str) -> str | None:
    try:
        return str(client.get_model_version_by_alias(name, alias).version)
    except MlflowException:
        return None


def champion_version(client: MlflowClient, name: str) -> str | None:
    return alias_version(client, name, CHAMPION)


def holdout_score(name: str, version: str, trained: TrainedModel) -> float:
    """The registered version's promotion metric on the new version's holdout rows. It reads its own
    inputs from every column of those rows, so a champion with other features is still comparable."""
    from datafactory.modeling.scoring import model_input

    model = mlflow.pyfunc.load_model(f"models:/{name}/{version}")
    try:
        inputs = model_input(model, trained.holdout_table)
    except KeyError as exc:
        raise IncomparableChampionError(str(exc.args[0])) from exc
    try:
        outputs = model.predict(inputs)
        metrics = trained.family.evaluate(trained.holdout_y, outputs, trained.config)
    except (MlflowException, KeyError, ValueError) as exc:
        raise IncomparableChampionError(str(exc).splitlines()[0]) from exc
    return metrics[trained.config.promotion_metric]


def decide_promotion(client: MlflowClient, name: str, version: str, trained: TrainedModel) -> PromotionDecision:
    """Compare the new version and the champion on the same holdout. A win moves `champion` to it; a loss
    moves `challenger` to it: `challenger` is always the most recent registered version that did not win."""
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
        if alias_version(client, name, CHALLENGER) == version:  # a champion is no longer a loser
            client.delete_registered_model_alias(name, CHALLENGER)
        client.set_model_version_tag(name, version, "promotion", decision.reason)
    else:
        client.set_registered_model_alias(name, CHALLENGER, version)
        client.set_model_version_tag(name, version, "promotion_rejected", decision.reason)
    return decision
