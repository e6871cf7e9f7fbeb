"""Logs a trained candidate to MLflow the way modellers expect: one run per candidate with nested
tuning and baseline runs, batch-logged params and metrics, data snapshot, git commit, feature list,
artifacts, a model card, and the model with its signature and input example."""

from __future__ import annotations

import json
import logging
import subprocess
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import mlflow
import numpy as np
import pandas as pd

from datafactory.modeling.card import card_fields, render_card
from datafactory.modeling.train import TrainedModel
from datafactory.settings import Settings
from datafactory.specs.model import BinaryOptions

MODEL_ARTIFACT = "model"
CARD_ARTIFACT = "model_card.md"
RUN_KIND = "run_kind"  # "training" on a session's run; its candidates and trials are nested under it
SCHEMA_SAMPLE = 2_000  # rows MLflow's dataset record infers its schema from (every row costs seconds at 1M)
_TAG_LIMIT = 5000  # MLflow caps tag values; the full lists are artifacts
DEFAULT_EXPERIMENT, DEFAULT_EXPERIMENT_ID = "Default", "0"  # what MLflow creates in every store


def use_tracking(
    settings: Settings, experiment: str, *, description: str | None = None, tags: dict[str, str] | None = None
) -> str:
    """Point MLflow at the configured server and make sure the experiment exists (never MLflow's
    Default): created with its artifacts under the factory's artifact root, described and tagged."""
    if experiment == DEFAULT_EXPERIMENT:
        raise ValueError(f"'{DEFAULT_EXPERIMENT}' is MLflow's catch-all experiment; the factory never logs to it")
    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    local = "://" not in settings.mlflow_artifact_root  # embedded default: a local artifact folder under var/
    if local and _database(settings.mlflow_tracking_uri):  # a server places Default itself (its artifact root)
        keep_default_inside(settings)
    found = mlflow.get_experiment_by_name(experiment)
    if found is None:
        location = Path(settings.mlflow_artifact_root, experiment).resolve().as_uri() if local else None
        experiment_id = mlflow.create_experiment(experiment, artifact_location=location)
    else:
        experiment_id = found.experiment_id
    if description is not None or tags:
        client = mlflow.MlflowClient()
        wanted = {**(tags or {}), **({"mlflow.note.content": description} if description is not None else {})}
        current = {} if found is None else found.tags
        for key, value in wanted.items():
            if current.get(key) != value:
                client.set_experiment_tag(experiment_id, key, value)
    mlflow.set_experiment(experiment_id=experiment_id)
    return experiment_id


def keep_default_inside(settings: Settings) -> None:
    """MLflow creates its Default experiment (id 0) the first time a process opens a store, with its
    artifacts under that process's default root: for a SQL store opened by a client, `./mlruns` of
    whatever folder the command ran in. The factory never logs to it, so while it holds no run its
    artifact location is moved under the factory's artifact root, like every other experiment's."""
    root = Path(settings.mlflow_artifact_root).resolve()
    default = mlflow.MlflowClient().get_experiment(DEFAULT_EXPERIMENT_ID)
    if default is None or _inside(default.artifact_location, root):
        return
    from mlflow.entities import ViewType
    from mlflow.store.tracking.dbmodels.models import SqlExperiment
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    store = SqlAlchemyStore(settings.mlflow_tracking_uri, root.as_uri())
    if store.search_runs([DEFAULT_EXPERIMENT_ID], None, ViewType.ALL, max_results=1):
        return  # runs someone logged there keep their artifacts where they are
    # MLflow has no API to move an experiment's artifact location: one row of its own schema, via its ORM.
    with store.ManagedSessionMaker() as session:
        session.query(SqlExperiment).filter(SqlExperiment.experiment_id == int(DEFAULT_EXPERIMENT_ID)).update(
            {SqlExperiment.artifact_location: Path(root, DEFAULT_EXPERIMENT).as_uri()}
        )


def _database(uri: str) -> bool:
    from mlflow.store.db.db_types import DATABASE_ENGINES

    return urlparse(uri).scheme.split("+")[0] in DATABASE_ENGINES


def _inside(location: str, root: Path) -> bool:
    from mlflow.utils.file_utils import local_file_uri_to_path
    from mlflow.utils.uri import is_local_uri

    if not is_local_uri(location):
        return False
    return Path(local_file_uri_to_path(location)).resolve().is_relative_to(root)


def start_session_run(run_name: str, tags: dict[str, str], experiment_id: str) -> mlflow.ActiveRun:
    """The session's run, opened before the features are built so its duration is the real one, in the
    experiment `use_tracking` returned (named explicitly: never the Default a bare start_run falls back to)."""
    return mlflow.start_run(run_name=run_name, experiment_id=experiment_id, tags={RUN_KIND: "training", **tags})


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


_MODEL_PACKAGES = {"lightgbm": "lightgbm", "scikit-learn": "sklearn", "pandas": "pandas"}  # distribution: module


def _pip_requirements() -> list[str]:
    from importlib.metadata import version

    return [f"{package}=={version(package)}" for package in _MODEL_PACKAGES]


@contextmanager
def _requirements_map_for_our_packages() -> Iterator[None]:
    """While a model is logged, MLflow's module -> distribution map names only the packages we pin.

    The requirements are given, so MLflow infers nothing; it only checks them against the installed
    versions (`importlib_metadata.version` per package). Building its full map first reads every
    installed distribution's metadata: 1.2 s on the first model a process logs. The map is put back
    afterwards, so anything that does infer requirements later builds the full one."""
    from mlflow.utils import requirements_utils

    if getattr(requirements_utils, "_MODULES_TO_PACKAGES", ()) is not None:  # built already, or MLflow changed
        yield
        return
    requirements_utils._MODULES_TO_PACKAGES = {module: [package] for package, module in _MODEL_PACKAGES.items()}
    try:
        yield
    finally:
        requirements_utils._MODULES_TO_PACKAGES = None


# MLflow's notes on choices the factory makes on purpose, which tell a modeller nothing: the model is a
# Python object (our own class, loaded only from our own store); pip is absent from a uv-built venv (the
# requirements are pinned explicitly); the input example is checked against the signature (it always is);
# integer columns (counts in a dataset record, grade ranks in an output) are integers by design.
_KNOWN_NOTES = {
    "mlflow.pyfunc": ("Passing a Python object as `python_model`", "Validating input example against model"),
    "mlflow.utils.environment": ("Failed to resolve installed pip version",),
}
_INTEGER_OUTPUT_HINT = "Hint: Inferred schema contains integer column"


class _DropNotes(logging.Filter):
    def __init__(self, prefixes: tuple[str, ...]):
        super().__init__()
        self.prefixes = prefixes

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(self.prefixes)


@contextmanager
def _without_known_notes() -> Iterator[None]:
    """MLflow's log lines and warnings about the choices above are dropped while a model is logged;
    anything else it says still shows."""
    filters = [(logging.getLogger(name), _DropNotes(prefixes)) for name, prefixes in _KNOWN_NOTES.items()]
    for logger, note_filter in filters:
        logger.addFilter(note_filter)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=_INTEGER_OUTPUT_HINT, category=UserWarning)
            yield
    finally:
        for logger, note_filter in filters:
            logger.removeFilter(note_filter)


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
            "winner": trained.winner.name,
            "candidates": ",".join(r.name for r in trained.results),
            "target": config.target,
            "train_rows": trained.train_rows,
            "holdout_rows": len(trained.holdout_y),
            "holdout_share": config.holdout_share,
            "cv_folds": trained.folds,
            "cv_rows": trained.cv_rows,
            "feature_count": len(trained.features),
            "promotion_metric": config.promotion_metric,
        }
    )
    if isinstance(config.options, BinaryOptions):
        params["operating_cutoff"] = config.options.operating_cutoff
    return params


def prefixed(metrics: dict[str, float], prefix: str) -> dict[str, float]:
    return {f"{prefix}_{k}": float(v) for k, v in metrics.items() if v == v}  # NaN is not logged


def dataset(frame: pd.DataFrame, source: str, target: str, name: str, digest: str):
    """An MLflow dataset record of a frame: its schema from a sample, its digest from the fingerprint."""
    from mlflow.data.sources import LocalArtifactDatasetSource
    from mlflow.types.utils import _infer_schema

    resolved = LocalArtifactDatasetSource(source) if "://" not in source else source
    with _without_known_notes():
        record = mlflow.data.from_pandas(frame, source=resolved, targets=target, name=name, digest=digest)
        record.__dict__["schema"] = _infer_schema(frame.head(SCHEMA_SAMPLE))  # the cached property, computed cheaply
    return record


def log_training_run(
    trained: TrainedModel,
    *,
    snapshot: dict[str, Any],
    fingerprint: str,
    commit: str,
    card_template: str,
    data_description: str,
    source: str,
    extra_tags: dict[str, str] | None = None,
) -> tuple[str, str, str]:
    """Logs the session into the active run: the winner's params and metrics (`val_*` from
    cross-validation, `holdout_*` from the holdout), a nested run per candidate (and per grid point),
    the train and holdout datasets, artifacts, the model card, and the winner's model under its
    candidate's name. Returns (run_id, logged model URI, model card markdown)."""
    from mlflow.models import infer_signature

    run = mlflow.active_run()
    assert run is not None, "open the session's run first (start_session_run)"
    config = trained.config
    winner = trained.winner
    tags = {
        "scenario": config.scenario,
        "family": config.family,
        "owner": config.owner,
        "winner": winner.name,
        "candidate": winner.candidate.role,
        "training_fingerprint": fingerprint,
        "features": ",".join(trained.features)[:_TAG_LIMIT],
        "excluded_columns": "; ".join(f"{k}: {v}" for k, v in trained.ignored.items())[:_TAG_LIMIT] or "none",
        **snapshot_tags(snapshot),
        **(extra_tags or {}),
    }
    if trained.warnings:
        tags["warnings"] = " | ".join(trained.warnings)[:_TAG_LIMIT]
    mlflow.set_tags(tags)
    metrics = {**prefixed(winner.val, "val"), **prefixed(winner.holdout, "holdout")}
    if config.promotion_metric in winner.val_std:
        metrics[f"val_{config.promotion_metric}_sd"] = winner.val_std[config.promotion_metric]
    gap = _fairness_gap(trained)
    if gap is not None:
        metrics[f"holdout_{config.promotion_metric}_region_gap"] = gap
    name = config.title or config.scenario
    train_set = dataset(trained.train_frame, source, config.target, f"{name}-train", f"{fingerprint[:8]}tr")
    holdout_set = dataset(trained.holdout_frame, source, config.target, f"{name}-holdout", f"{fingerprint[:8]}ho")
    inputs = {f"snapshot.{k}": v[:_TAG_LIMIT] for k, v in snapshot_values(snapshot).items()}
    mlflow.log_input(train_set, context="training", tags={**inputs, "rows": str(trained.train_rows)})
    mlflow.log_input(holdout_set, context="holdout", tags={**inputs, "rows": str(len(trained.holdout_y))})
    mlflow.log_params(_params(trained))
    mlflow.log_metrics(metrics)
    for result in trained.results:
        _log_candidate(result, result is winner)
    for path, content in trained.artifacts.items():
        _log_artifact(path, content)
    if not trained.fairness.empty:
        mlflow.log_text(trained.fairness.to_csv(index=False), "fairness_by_region.csv")
    mlflow.log_dict({"features": trained.features, "ignored": trained.ignored}, "features.json")
    mlflow.log_text(json.dumps(snapshot, indent=2, default=str), "data_snapshot.json")
    fields = card_fields(
        trained,
        run_name=run.info.run_name or "",
        git_commit=commit,
        snapshot=snapshot_values(snapshot),
        data_description=data_description,
    )
    card = render_card(card_template, fields)
    mlflow.log_text(card, CARD_ARTIFACT)
    example = trained.holdout_x.head(5)
    with _requirements_map_for_our_packages(), _without_known_notes():
        info = mlflow.pyfunc.log_model(
            name=winner.name,
            python_model=trained.model,
            signature=infer_signature(example, trained.model.predict(None, example)),
            input_example=example,
            pip_requirements=_pip_requirements(),
            tags={"scenario": config.scenario, "candidate": winner.name, "family": config.family},
        )
    mlflow.log_metrics(prefixed(winner.holdout, "holdout"), model_id=info.model_id, dataset=holdout_set)
    return run.info.run_id, info.model_uri, card


def _log_candidate(result: Any, won: bool) -> None:
    """A nested run per candidate: what it is, its `val_*` (with spreads) and `holdout_*`; a nested run
    per grid point under it with that point's `val_*`."""
    tags = {"candidate": result.name, "candidate_kind": result.candidate.role, "winner": str(won).lower()}
    with mlflow.start_run(run_name=result.name, nested=True, tags=tags):
        mlflow.log_params(
            {"algorithm": result.candidate.algorithm, **{f"param.{k}": v for k, v in result.params.items()}}
        )
        mlflow.log_metrics(
            {
                **prefixed(result.val, "val"),
                **{f"val_{k}_sd": float(v) for k, v in result.val_std.items()},
                **prefixed(result.holdout, "holdout"),
            }
        )
        for i, trial in enumerate(result.trials):
            trial_tags = {"candidate": result.name, "candidate_kind": "tuning_trial"}
            with mlflow.start_run(run_name=f"{result.name}-trial-{i:02d}", nested=True, tags=trial_tags):
                mlflow.log_params({f"param.{k}": v for k, v in trial.params.items()})
                mlflow.log_metrics(prefixed(trial.metrics, "val"))


def snapshot_values(snapshot: dict[str, Any]) -> dict[str, str]:
    return {k.removeprefix("snapshot."): v for k, v in snapshot_tags(snapshot).items()}


def _fairness_gap(trained: TrainedModel) -> float | None:
    metric = trained.config.promotion_metric
    if trained.fairness.empty or metric not in trained.fairness.columns:
        return None
    values = trained.fairness[metric].dropna().to_numpy(dtype=float)
    return float(np.max(values) - np.min(values)) if len(values) > 1 else None
