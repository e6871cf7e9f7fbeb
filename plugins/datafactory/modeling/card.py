"""Model cards: the scenario's markdown template (purpose, limits) filled with the run's facts. Pure."""

from __future__ import annotations

import math
from string import Template
from typing import TYPE_CHECKING, Any

import pandas as pd

from datafactory.modeling.metrics import LOWER_IS_BETTER

if TYPE_CHECKING:
    from datafactory.modeling.train import TrainedModel

# Used for modellers' own tables and for scenarios without a `card.md`.
DEFAULT_TEMPLATE = """# Model card: $scenario ($role, $algorithm)

$description

## Training run
$run

## Data
$data

## Features
$features

## Metrics on the holdout
$metrics

## Tuning
$tuning

## Fairness by region
$fairness

## Promotion rule
$promotion

## Limits
Trained on a modeller-supplied table: the limits are those of that data. Check the fairness table
before using the model for decisions about people or firms.
"""


def markdown_table(frame: pd.DataFrame, digits: int = 4) -> str:
    if frame.empty:
        return "_none_"

    def cell(v: Any) -> str:
        if isinstance(v, float):
            return "" if math.isnan(v) else f"{v:.{digits}f}"
        return str(v)

    header = "| " + " | ".join(map(str, frame.columns)) + " |\n|" + "---|" * len(frame.columns) + "\n"
    return header + "".join("| " + " | ".join(cell(v) for v in row) + " |\n" for row in frame.itertuples(False))


def _bullets(items: dict[str, Any]) -> str:
    return "\n".join(f"- {k}: {v}" for k, v in items.items()) or "_none_"


def card_fields(
    trained: TrainedModel, *, run_name: str, git_commit: str, snapshot: dict[str, str], data_description: str
) -> dict[str, str]:
    """Every `$name` a card template may use."""
    config = trained.config
    metrics = pd.DataFrame({"metric": list(trained.metrics), "model": list(trained.metrics.values())})
    if trained.baseline_metrics:
        metrics[f"baseline ({config.baseline})"] = [trained.baseline_metrics.get(m, math.nan) for m in trained.metrics]
    trials = pd.DataFrame([{**t.params, **t.metrics} for t in trained.trials])
    tuning = (
        f"{len(trained.trials)} nested runs, chosen by `{config.tuning.metric}` on a validation part of the "
        f"training side (the holdout is never used):\n\n{markdown_table(trials)}"
        if config.tuning
        else "No tuning declared; parameters as in model.yaml."
    )
    if trained.fairness.empty:
        fairness = (
            "No region column (`group_column`) in this data: fairness by region cannot be assessed here."
            if not config.group_column
            else f"Column `{config.group_column}` is not in the data: fairness by region cannot be assessed."
        )
    else:
        fairness = (
            f"Holdout metrics per `{config.group_column}` (groups under 30 rows show a count only). A large gap "
            f"between regions means the model serves some places worse; review before publishing.\n\n"
            + markdown_table(trained.fairness)
        )
    direction = "lower" if config.promotion_metric in LOWER_IS_BETTER else "higher"
    ignored = "; ".join(f"`{k}` ({v})" for k, v in trained.ignored.items()) or "none"
    return {
        "scenario": config.scenario,
        "description": config.description,
        "role": trained.candidate.role,
        "algorithm": trained.candidate.algorithm,
        "family": config.family,
        "run": _bullets(
            {"run name": run_name, "git commit": f"`{git_commit}`", "family": config.family, "params": trained.params}
        ),
        "data": (
            f"{data_description}\n\n"
            f"- target: `{config.target}`; id: `{config.id_column}`; holdout: {config.holdout_share:.0%} by hash of "
            f"`{config.hash_column or 'row content'}` (champion and challenger are scored on the same rows)\n"
            f"- rows: {trained.train_rows} train, {len(trained.holdout_y)} holdout\n"
            f"- columns not used: {ignored}\n\n"
            + markdown_table(pd.DataFrame({"input": list(snapshot), "snapshot": list(snapshot.values())}))
        ),
        "features": ", ".join(f"`{f}`" for f in trained.features),
        "metrics": markdown_table(metrics),
        "tuning": tuning,
        "fairness": fairness,
        "promotion": (
            f"Becomes `champion` only if `{config.promotion_metric}` on the same holdout is {direction} than the "
            f"champion's by more than {config.min_improvement}; otherwise it stays `challenger` and the reason is "
            f"tagged on the version (`promotion_rejected`)."
        ),
    }


def render_card(template: str, fields: dict[str, str]) -> str:
    """Fill the template; a `$name` the engine does not know is an error naming it."""
    try:
        return Template(template).substitute(fields)
    except KeyError as exc:
        raise ValueError(f"model card template uses ${exc.args[0]}, which is not one of {sorted(fields)}") from exc
