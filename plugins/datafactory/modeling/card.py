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
DEFAULT_TEMPLATE = """# Model card: $title ($algorithm)

$description

## Training run
$run

## Data
$data

## Features
$features

## Metrics on the holdout
$metrics

## Candidates compared
$candidates

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


def _candidates(trained: TrainedModel) -> str:
    config = trained.config
    metric = config.promotion_metric
    table = trained.comparison()
    noise = [trained.noise.get(name, math.nan) for name in table["candidate"]]
    table[f"holdout_{metric} noise (2 SE vs winner)"] = noise
    table["winner"] = ["yes" if w else "" for w in table["winner"]]
    kinds = {c.label: c.role for c in config.candidates}
    table.insert(1, "kind", [kinds.get(name, "") for name in table["candidate"]])
    return (
        "Every session fits the scenario's algorithm, LightGBM and the family's linear (or WoE) baseline on the same "
        f"training rows and picks the winner by cross-validation on the training side; the holdout only reports.\n\n"
        f"{trained.selection}\n\n{markdown_table(table)}\n\n"
        "`val_*`: mean over the validation folds; `holdout_*`: each candidate refitted on the whole training side "
        "and scored on the holdout. The noise column is twice the paired-bootstrap standard error of the "
        "difference to the winner on the holdout: gaps smaller than that are not evidence."
    )


def card_fields(
    trained: TrainedModel, *, run_name: str, git_commit: str, snapshot: dict[str, str], data_description: str
) -> dict[str, str]:
    """Every `$name` a card template may use."""
    config = trained.config
    metrics = pd.DataFrame({"metric": list(trained.metrics)})
    for r in trained.results:
        label = f"{r.name} (winner)" if r is trained.winner else r.name
        metrics[label] = [r.holdout.get(m, math.nan) for m in trained.metrics]
    trials = pd.DataFrame([{**t.params, **{f"val_{k}": v for k, v in t.metrics.items()}} for t in trained.trials])
    tuning = (
        f"{len(trained.trials)} grid points of `{trained.winner.name}`, each a nested run, chosen by the mean "
        f"`val_{config.tuning.metric}` over the validation folds of the training side (the holdout is never "
        f"used):\n\n{markdown_table(trials)}"
        if config.tuning and trained.trials
        else "No tuning grid for the winner; parameters as in model.yaml."
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
    ignored = "".join(f"\n  - `{k}`: {v}" for k, v in trained.ignored.items()) or " none"
    warnings = "".join(f"\n  - {w}" for w in trained.warnings) or " none"
    return {
        "scenario": config.scenario,
        "title": config.title or config.scenario,
        "description": config.description,
        "role": "winner",
        "algorithm": trained.winner.name,
        "family": config.family,
        "run": _bullets(
            {"run name": run_name, "git commit": f"`{git_commit}`", "family": config.family, "params": trained.params}
        ),
        "data": (
            f"{data_description}\n\n"
            f"- target: `{config.target}`; id: {f'`{config.id_column}`' if config.id_column else 'none'}\n"
            f"- split: {trained.split}\n"
            f"- rows: {trained.train_rows} train, {len(trained.holdout_y)} holdout; cross-validation: "
            f"{trained.folds} folds{f' drawn {trained.repeats} times' if trained.repeats > 1 else ''} over "
            f"{trained.cv_rows} training rows\n"
            f"- columns not used:{ignored}\n"
            f"- label checks:{warnings}\n\n"
            + markdown_table(pd.DataFrame({"input": list(snapshot), "snapshot": list(snapshot.values())}))
        ),
        "features": ", ".join(f"`{f}`" for f in trained.features),
        "metrics": markdown_table(metrics),
        "candidates": _candidates(trained),
        "tuning": tuning,
        "fairness": fairness,
        "promotion": (
            f"The session's winner is registered; it becomes `champion` only if `{config.promotion_metric}` on the "
            f"same holdout is {direction} than the champion's by more than {config.min_improvement}. Otherwise it "
            "becomes `challenger` (the most recent registered version that did not win) and the reason is tagged "
            "on the version (`promotion_rejected`)."
        ),
    }


def render_card(template: str, fields: dict[str, str]) -> str:
    """Fill the template; a `$name` the engine does not know is an error naming it."""
    try:
        return Template(template).substitute(fields)
    except KeyError as exc:
        raise ValueError(f"model card template uses ${exc.args[0]}, which is not one of {sorted(fields)}") from exc
