"""Logs a trained candidate to MLflow the way modellers expect: one run per candidate with nested
tuning and baseline runs, batch-logged params and metrics, data snapshot, git commit, feature list,
artifacts, a model card, and the model with its signature and input example."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd

from datafactory.modeling.card import card_fields, render_card
from datafactory.modeling.train import TrainedModel
from datafactory.settings import Settings
from datafactory.specs.model import BinaryOptions

MODEL_ARTIFACT = "model"
CARD_ARTIFACT = "model_card.md"
_TAG_LIMIT = 5000  # MLflow caps tag values; the full lists are artifacts


def use_tracking(settings: Settings, experiment: str) -> str:
    """Point MLflow at the configured server and make sure the scenario's experiment exists."""
    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    found = mlflow.get_experiment_by_name(experiment)
    if found is None:
        location = None
        if "://" not in settings.mlflow_artifact_root:  # embedded default: local artifact folder
            location = Path(settings.mlflow_artifact_root, experiment).resolve().as_uri()
        experiment_id = mlflow.create_experiment(experiment, artifact_location=location)
    else:
        experiment_id = found.experiment_id
    mlflow.set_experiment(experiment_id=experiment_id)
    return experiment_id


def git_commit(repo: Path) -> str:
    try:
        out = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
    except OSError:
        return "unknown"
    return out.stdout.strip() or "unknown"


def snapshot_tags(snapshot: dict[str, Any]) -> dict[str, str]:
    """One tag per input: raw partitions (first..last, count) and the watermark the run saw."""
    tags = {}
    for source, seen in snapshot.items():
        if isinstance(seen, dict):
            parts = list(seen.get("partitions") or [])
            span = f"{parts[0]}..{parts[-1]} ({len(parts)})" if parts else "none"
            tags[f"snapshot.{source}"] = f"partitions={span};watermark={seen.get('watermark')}"
        else:
            tags[f"snapshot.{source}"] = str(seen)
    return tags


def _pip_requirements() -> list[str]:
    import lightgbm
    import sklearn

    return [f"lightgbm=={lightgbm.__version__}", f"scikit-learn=={sklearn.__version__}", f"pandas=={pd.__version__}"]


def _log_artifact(path: str, content: str | dict[str, Any]) -> None:
    if isinstance(content, dict):
        mlflow.log_dict(content, path)
    else:
        mlflow.log_text(content, path)


def _params(trained: TrainedModel) -> dict[str, Any]:
    config = trained.config
    params: dict[str, Any] = {f"param.{k}": v for k, v in trained.params.items()}
    params.update(
        {
            "family": config.family,
            "algorithm": trained.candidate.algorithm,
            "candidate": trained.candidate.role,
            "target": config.target,
            "train_rows": trained.train_rows,
            "holdout_rows": len(trained.holdout_y),
            "holdout_share": config.holdout_share,
            "feature_count": len(trained.features),
            "promotion_metric": config.promotion_metric,
        }
    )
    if isinstance(config.options, BinaryOptions):
        params["operating_cutoff"] = config.options.operating_cutoff
    return params


def log_training_run(
    trained: TrainedModel,
    *,
    run_name: str,
    snapshot: dict[str, Any],
    fingerprint: str,
    repo: Path,
    card_template: str,
    data_description: str,
    extra_tags: dict[str, str] | None = None,
) -> tuple[str, str, str]:
    """Returns (run_id, logged model URI, model card markdown)."""
    from mlflow.models import infer_signature

    config = trained.config
    commit = git_commit(repo)
    tags = {
        "scenario": config.scenario,
        "family": config.family,
        "candidate": trained.candidate.role,
        "git_commit": commit,
        "mlflow.source.git.commit": commit,
        "training_fingerprint": fingerprint,
        "features": ",".join(trained.features)[:_TAG_LIMIT],
        **snapshot_tags(snapshot),
        **(extra_tags or {}),
    }
    metrics = dict(trained.metrics)
    metrics.update({f"baseline_{k}": v for k, v in trained.baseline_metrics.items()})
    gap = _fairness_gap(trained)
    if gap is not None:
        metrics[f"{config.promotion_metric}_region_gap"] = gap
    example = trained.holdout_x.head(5)
    with mlflow.start_run(run_name=run_name, tags=tags) as run:
        mlflow.log_params(_params(trained))
        mlflow.log_metrics(metrics)
        for i, trial in enumerate(trained.trials):
            with mlflow.start_run(run_name=f"trial-{i:02d}", nested=True, tags={"candidate": "tuning_trial"}):
                mlflow.log_params({f"param.{k}": v for k, v in trial.params.items()})
                mlflow.log_metrics(trial.metrics)
        if trained.baseline_metrics:
            with mlflow.start_run(run_name=f"{config.baseline}_baseline", nested=True, tags={"candidate": "baseline"}):
                mlflow.log_params({"algorithm": config.baseline})
                mlflow.log_metrics(trained.baseline_metrics)
        for path, content in trained.artifacts.items():
            _log_artifact(path, content)
        if not trained.fairness.empty:
            mlflow.log_text(trained.fairness.to_csv(index=False), "fairness_by_region.csv")
        mlflow.log_dict({"features": trained.features, "ignored": trained.ignored}, "features.json")
        mlflow.log_text(json.dumps(snapshot, indent=2, default=str), "data_snapshot.json")
        fields = card_fields(
            trained,
            run_name=run_name,
            git_commit=commit,
            snapshot=snapshot_values(snapshot),
            data_description=data_description,
        )
        card = render_card(card_template, fields)
        mlflow.log_text(card, CARD_ARTIFACT)
        info = mlflow.pyfunc.log_model(
            name=MODEL_ARTIFACT,
            python_model=trained.model,
            signature=infer_signature(example, trained.model.predict(None, example)),
            input_example=example,
            pip_requirements=_pip_requirements(),
        )
    return run.info.run_id, info.model_uri, card


def snapshot_values(snapshot: dict[str, Any]) -> dict[str, str]:
    return {k.removeprefix("snapshot."): v for k, v in snapshot_tags(snapshot).items()}


def _fairness_gap(trained: TrainedModel) -> float | None:
    metric = trained.config.promotion_metric
    if trained.fairness.empty or metric not in trained.fairness.columns:
        return None
    values = trained.fairness[metric].dropna().to_numpy(dtype=float)
    return float(np.max(values) - np.min(values)) if len(values) > 1 else None
