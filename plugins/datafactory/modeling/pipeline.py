"""Wires features, training, MLflow logging and promotion: for a scenario and a date (the factory),
or for a modeller's own table (`datafactory model train`)."""

from __future__ import annotations

import getpass
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from mlflow.tracking import MlflowClient

from datafactory.modeling.card import DEFAULT_TEMPLATE
from datafactory.modeling.class_order import ClassOrder, declared_order
from datafactory.modeling.columns import as_text
from datafactory.modeling.config import TrainingConfig, training_config
from datafactory.modeling.families.ordinal import found_order
from datafactory.modeling.families.regression import recipe_for_own_target
from datafactory.modeling.features import build_features
from datafactory.modeling.header import ambiguous_column
from datafactory.modeling.labels import named_label
from datafactory.modeling.packed import table_stem
from datafactory.modeling.registry import (
    CHALLENGER,
    CHAMPION,
    alias_version,
    decide_promotion,
    describe_registered_model,
    register_winner,
    version_with_fingerprint,
)
from datafactory.modeling.split import content_hashes
from datafactory.modeling.tables import read_table
from datafactory.modeling.tracking import git_commit, log_training_run, start_session_run, use_tracking
from datafactory.modeling.train import labelled, train, training_fingerprint
from datafactory.settings import Settings
from datafactory.specs import ModelSpec
from datafactory.zones import Zones, write_parquet_atomic


def card_template(spec: ModelSpec) -> str:
    path = spec.card_path
    return path.read_text() if path.exists() else DEFAULT_TEMPLATE


RUN_CONVENTIONS = (
    "One run per training session; its candidates (the scenario's algorithm, LightGBM, the linear or WoE "
    "baseline) and tuning trials are nested runs. `val_*` metrics come from cross-validation on the training "
    "side, `holdout_*` from the holdout; the run's own metrics are the winner's, and the winner is the model "
    "registered. Aliases: `champion` serves the products; `challenger` is the most recent registered version "
    "that did not win."
)


def _reused(client: MlflowClient, model_name: str, existing: str) -> dict[str, Any]:
    version = client.get_model_version(model_name, existing)
    aliases = [a for a in (CHAMPION, CHALLENGER) if alias_version(client, model_name, a) == existing]
    return {
        "run_id": version.run_id,
        "version": existing,
        "reused": True,
        "promoted": False,
        "winner": version.tags.get("candidate", ""),
        "alias": aliases[0] if aliases else "",
        "reason": version.tags.get("promotion") or version.tags.get("promotion_rejected", ""),
    }


def _train_log_register(
    settings: Settings,
    config: TrainingConfig,
    frame: pd.DataFrame,
    *,
    fingerprint: str,
    model_name: str | None,
    snapshot: dict[str, Any],
    template: str,
    data_description: str,
    source: str,
    commit: str,
    model_description: str,
    source_written: Callable[[], object] = lambda: None,
) -> dict[str, Any]:
    """Inside the session's open run: train every candidate, log the session, register the winner and
    decide its promotion. `source_written` returns once the data the run records as its source is on
    disk (it may still be being written while the candidates train)."""
    client = MlflowClient()
    trained = train(frame, config)
    timings = dict(trained.timings)
    mark = time.perf_counter()
    source_written()
    timings["source_wait_s"] = time.perf_counter() - mark
    mark = time.perf_counter()
    run_id, model_uri, card = log_training_run(
        trained,
        snapshot=snapshot,
        fingerprint=fingerprint,
        commit=commit,
        card_template=template,
        data_description=data_description,
        source=source,
    )
    timings["log_s"] = time.perf_counter() - mark
    result: dict[str, Any] = {
        "run_id": run_id,
        "reused": False,
        "winner": trained.winner.name,
        "metrics": trained.metrics,
        "val": trained.winner.val,
        "candidates": [
            {
                "name": r.name,
                "kind": r.candidate.role,
                "algorithm": r.candidate.algorithm,
                "winner": r is trained.winner,
                "val": r.val,
                "val_sd": r.val_std,
                "holdout": r.holdout,
                "noise": trained.noise.get(r.name),
            }
            for r in trained.results
        ],
        "selection": trained.selection,
        "train_rows": trained.train_rows,
        "holdout_rows": len(trained.holdout_y),
        "cv_folds": trained.folds,
        "features": trained.features,
        "excluded": trained.ignored,
        "warnings": trained.warnings,
        "split": trained.split,
        "timings": timings,
    }
    if not model_name:
        return result
    mark = time.perf_counter()
    tags = {"scenario": config.scenario, "owner": config.owner, "family": config.family}
    describe_registered_model(client, model_name, model_description, tags)
    version = register_winner(client, model_name, model_uri, run_id, fingerprint, card, trained.winner.name)
    decision = decide_promotion(client, model_name, version, trained)
    if decision.champion_score is not None:
        client.log_metric(run_id, f"champion_holdout_{config.promotion_metric}", decision.champion_score)
    client.set_tag(run_id, "promotion", decision.reason)
    client.set_tag(run_id, "registered_version", version)
    timings["register_promote_s"] = time.perf_counter() - mark
    return result | {
        "version": version,
        "promoted": decision.promoted,
        "reason": decision.reason,
        "alias": CHAMPION if decision.promoted else CHALLENGER,
    }


def _session_tags(config: TrainingConfig, commit: str) -> dict[str, str]:
    return {
        "scenario": config.scenario,
        "family": config.family,
        "owner": config.owner,
        "git_commit": commit,
        "mlflow.source.git.commit": commit,
    }


def train_scenario(settings: Settings, spec: ModelSpec, logical_date: date, snapshot: dict[str, Any]) -> dict[str, Any]:
    """The factory path: one session run per scenario and date, opened before the features are built;
    every candidate; the winner registered and promoted only if it beats the champion."""
    zones = Zones(settings.home)
    config = training_config(spec)
    tags = {"scenario": spec.name, "owner": spec.owner, "family": spec.family}
    experiment_id = use_tracking(settings, spec.name, description=f"{spec.description}\n\n{RUN_CONVENTIONS}", tags=tags)
    commit = git_commit(settings.repo)
    client = MlflowClient()
    run_name = f"{spec.name}-{logical_date.isoformat()}"
    with start_session_run(run_name, _session_tags(config, commit), experiment_id) as run:
        mark = time.perf_counter()
        frame = build_features(spec, zones, logical_date)
        path = zones.features(spec.name, logical_date)
        features_s = time.perf_counter() - mark
        mark = time.perf_counter()
        # The features parquet (the run's recorded source) is written beside the rest of the session: Arrow's
        # encoder runs mostly outside the GIL, and logging waits for it.
        with ThreadPoolExecutor(max_workers=1) as pool:
            written = pool.submit(write_parquet_atomic, frame.copy(deep=False), path)  # its own block manager
            fingerprint = training_fingerprint(labelled(frame, config.target), config.session_identity())
            fingerprint_s = time.perf_counter() - mark
            existing = version_with_fingerprint(client, spec.name, fingerprint)
            if existing is None:
                description = (
                    f"Features from `models/{spec.name}/{spec.features}` (DuckDB SQL) over the "
                    f"conformed tables {', '.join(spec.inputs)} as of {logical_date.isoformat()}: {len(frame)} "
                    f"rows, {int(frame[config.target].notna().sum())} labelled."
                )
                result = _train_log_register(
                    settings,
                    config,
                    frame,
                    fingerprint=fingerprint,
                    model_name=spec.name,
                    snapshot=snapshot,
                    template=card_template(spec),
                    data_description=description,
                    source=str(Path(path).resolve()),
                    commit=commit,
                    model_description=f"{spec.description}\n\n{RUN_CONVENTIONS}",
                    source_written=written.result,
                )
                result["timings"] = {"features_s": features_s, "fingerprint_s": fingerprint_s, **result["timings"]}
            written.result()  # a failed write fails the session, reused or not
    if existing is not None:  # same data, same recipe: no new run, no registry churn
        client.delete_run(run.info.run_id)
        result = _reused(client, spec.name, existing)
    return {"scenario": spec.name, "features_s": features_s, **result}


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in some containers
        return "modeller"


def own_data_description(path: Path, frame: pd.DataFrame, config: TrainingConfig) -> str:
    """What an own-data card says about the data: the modeller's table and target, not the scenario's text."""
    target = frame[config.target]
    labelled_rows = int(target.notna().sum())
    if config.family in ("binary", "scorecard", "ordinal"):
        counts = target.value_counts()
        shown = ", ".join(f"`{k}` {v}" for k, v in counts.head(8).items())
        about = f"its values: {shown}"
    else:
        about = f"from {target.min():.4g} to {target.max():.4g}, mean {target.mean():.4g}"
    positive = getattr(config.options, "positive", None)
    bad = f"; `{positive}` is the positive (bad) label" if positive is not None else ""
    return (
        f"Predicts `{config.target}` in the modeller's table `{path.name}` ({len(frame)} rows, "
        f"{len(frame.columns)} columns, {labelled_rows} labelled; {about}{bad}), with the {config.family} "
        f"family of the `{config.scenario}` scenario (its algorithm, LightGBM and its baseline compared)."
    )


def ordinal_order(target: pd.Series, typed: str | None) -> ClassOrder:
    """An own table's ordinal classes, least to most risky: as `--classes` lists them, else as found."""
    if typed is not None:
        return declared_order(typed, set(as_text(target.dropna())))
    return found_order(target)


def train_table(
    settings: Settings,
    spec: ModelSpec,
    path: Path,
    target: str,
    *,
    frame: pd.DataFrame | None = None,
    id_column: str | None = None,
    group_column: str | None = None,
    positive: str | None = None,
    classes: str | None = None,
    register_as: str | None = None,
    owner: str | None = None,
) -> dict[str, Any]:
    """The modeller's path: the scenario's family on any table, one session run in `<scenario>/<file stem>`."""
    keep = {c for c in (id_column, group_column) if c}
    if spec.family != "regression":  # labels are read as written; an amount to predict may be written as text
        keep.add(target)
    frame, read_as_numbers = read_table(path, keep, target) if frame is None else (frame, {})
    for flag, column in (("--target", target), ("--id", id_column), ("--group", group_column)):
        if column and column not in frame.columns:
            raise ValueError(f"{path.name}: no column '{column}' (columns: {', '.join(frame.columns)})")
        if column and (ambiguous := ambiguous_column(path.name, flag, column, frame.attrs.get("repeats", {}))):
            raise ValueError(ambiguous)
    if target in (id_column, group_column):  # the split must never read the label
        raise ValueError(f"'{target}' is the target; the id and the group name the entity, not the outcome")
    config = training_config(spec).with_data(target, id_column, group_column)
    if positive is not None:  # as the table spells it ('TRUE' typed, True read), so the card names it right
        config = config.with_positive(named_label(positive, set(as_text(frame[target].dropna()))) or positive)
    target_note = None
    if config.family == "regression":
        config, target_note = recipe_for_own_target(frame[target], config)
    order = None
    if config.family == "ordinal" or classes is not None:
        order = ordinal_order(frame[target], classes)
        config = config.with_classes(order.classes)
    description = own_data_description(path, frame, config)
    if order is not None:
        description += f" Classes, least to most risky: {order.describe()}."
    if target_note is not None:
        description += f" Target {target_note}."
    layout = list(frame.attrs.get("layout", []))  # a workbook's other sheets, titles above the header
    unlabelled = int(frame[target].isna().sum())
    if unlabelled:  # never dropped silently: the modeller may have expected them in the holdout
        layout.append(f"{unlabelled} of {len(frame)} rows have no '{target}' value: left out of training and holdout")
    if layout:
        description += f" Read from `{path.name}`: {'; '.join(layout)}."
    if read_as_numbers:
        shown = "; ".join(f"`{c}` ({why})" for c, why in read_as_numbers.items())
        description += f" Read as numbers from text: {shown}."
    config = config.described(f"{table_stem(path)} ({target})", description, owner or _user())
    experiment = f"{spec.name}/{table_stem(path)}"
    tags = {"scenario": spec.name, "owner": config.owner, "family": config.family, "data": path.name}
    experiment_id = use_tracking(settings, experiment, description=f"{description}\n\n{RUN_CONVENTIONS}", tags=tags)
    client = MlflowClient()
    rows = labelled(frame, config.target)
    rows = rows.iloc[np.argsort(content_hashes(rows), kind="stable")]  # re-exported in another order: the same data
    fingerprint = training_fingerprint(rows, config.session_identity())
    existing = version_with_fingerprint(client, register_as, fingerprint) if register_as else None
    if existing is not None:  # rerunning the same --register: nothing new, say which run it was
        result = _reused(client, register_as, existing)  # type: ignore[arg-type]
    else:
        commit = git_commit(settings.repo)
        session_tags = {**_session_tags(config, commit), "data": path.name}
        with start_session_run(f"{table_stem(path)}-{target}", session_tags, experiment_id):
            result = _train_log_register(
                settings,
                config,
                frame,
                fingerprint=fingerprint,
                model_name=register_as,
                snapshot={path.name: f"rows={len(frame)};columns={len(frame.columns)}"},
                template=DEFAULT_TEMPLATE,
                data_description=f"Modeller-supplied table `{path.name}` ({path.resolve()}).",
                source=str(path.resolve()),
                commit=commit,
                model_description=f"{description}\n\n{RUN_CONVENTIONS}",
            )
    return {
        "scenario": spec.name,
        "family": config.family,
        "experiment": experiment,
        "registered": register_as,
        "read_as_numbers": read_as_numbers,
        "layout": layout,
        "class_order": order.describe() if order is not None else None,
        "target_note": target_note,
        "metric": config.promotion_metric,
        **result,
    }
