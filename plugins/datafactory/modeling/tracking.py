"""Logs a trained scenario model to MLflow: params, metrics, plots, signature, input example."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd

from datafactory.modeling.train import TrainedBinaryModel
from datafactory.settings import Settings

MODEL_ARTIFACT = "model"


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


def _roc_figure(model: TrainedBinaryModel):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import roc_curve

    fig, ax = plt.subplots(figsize=(5, 5))
    for label, scores in (
        ("LightGBM", model.booster.predict(model.holdout_x)),
        ("logistic baseline", model.baseline.predict_proba(model.holdout_x)[:, 1]),
    ):
        fpr, tpr, _ = roc_curve(model.holdout_y, scores)
        ax.plot(fpr, tpr, label=label)
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC on holdout")
    ax.legend()
    return fig


def log_binary_run(
    model: TrainedBinaryModel,
    raw_spec: dict[str, Any],
    *,
    run_name: str,
    snapshot: dict[str, str],
    fingerprint: str,
    repo: Path,
) -> tuple[str, str]:
    """Returns (run_id, logged model URI)."""
    import lightgbm
    from mlflow.models import infer_signature

    params = {f"param.{k}": v for k, v in raw_spec["params"].items()}
    params.update(
        {
            "algorithm": raw_spec["algorithm"],
            "operating_cutoff": raw_spec["operating_cutoff"],
            "train_rows": model.train_rows,
            "holdout_rows": len(model.holdout_y),
        }
    )
    tags = {
        "scenario": raw_spec["scenario"],
        "git_commit": git_commit(repo),
        "training_fingerprint": fingerprint,
        "features": ",".join(model.features),
        **{f"snapshot.{k}": v for k, v in snapshot.items()},
    }
    example = model.holdout_x.head(5)
    with mlflow.start_run(run_name=run_name, tags=tags) as run:
        mlflow.log_params(params)
        mlflow.log_metrics(model.metrics)
        mlflow.log_metrics({f"baseline_{k}": v for k, v in model.baseline_metrics.items()})
        mlflow.log_figure(_roc_figure(model), "plots/roc.png")
        importance = pd.DataFrame(
            {"feature": model.features, "gain": model.booster.feature_importance("gain")}
        ).sort_values("gain", ascending=False)
        mlflow.log_text(importance.to_csv(index=False), "feature_importance.csv")
        mlflow.log_dict({"features": model.features}, "features.json")
        with mlflow.start_run(run_name="logistic_regression_baseline", nested=True):
            mlflow.log_metrics(model.baseline_metrics)
            mlflow.log_params({"algorithm": "logistic_regression"})
        info = mlflow.lightgbm.log_model(
            model.booster,
            name=MODEL_ARTIFACT,
            signature=infer_signature(example, model.booster.predict(example)),
            input_example=example,
            pip_requirements=[f"lightgbm=={lightgbm.__version__}"],
        )
        mlflow.log_text(json.dumps(snapshot, indent=2), "data_snapshot.json")
    return run.info.run_id, info.model_uri
