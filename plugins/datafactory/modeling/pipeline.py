"""Wires features, training, MLflow logging and promotion: for a scenario and a date (the factory),
or for a modeller's own table (`datafactory model train`)."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
from mlflow.tracking import MlflowClient

from datafactory.modeling.card import DEFAULT_TEMPLATE
from datafactory.modeling.config import Candidate, TrainingConfig, training_config
from datafactory.modeling.features import build_features
from datafactory.modeling.registry import CHAMPION, decide_promotion, register_challenger, version_with_fingerprint
from datafactory.modeling.tracking import log_training_run, use_tracking
from datafactory.modeling.train import labelled, train_candidate, training_fingerprint
from datafactory.settings import Settings
from datafactory.specs import ModelSpec
from datafactory.zones import Zones, write_parquet_atomic


def card_template(spec: ModelSpec) -> str:
    path = spec.card_path
    return path.read_text() if path.exists() else DEFAULT_TEMPLATE


def train_and_register(
    settings: Settings,
    config: TrainingConfig,
    frame: pd.DataFrame,
    candidate: Candidate,
    *,
    model_name: str | None,
    run_name: str,
    snapshot: dict[str, Any],
    template: str,
    data_description: str,
) -> dict[str, Any]:
    """Train one candidate, log its run, and (with a model name) register it and decide promotion."""
    client = MlflowClient()
    mark = time.perf_counter()
    fingerprint = training_fingerprint(labelled(frame, config.target), config.identity(candidate))
    fingerprint_s = time.perf_counter() - mark
    existing = version_with_fingerprint(client, model_name, fingerprint) if model_name else None
    if existing is not None:  # same data, same recipe: no new run, no registry churn
        version = client.get_model_version(model_name, existing)
        return {
            "candidate": candidate.role,
            "algorithm": candidate.algorithm,
            "version": existing,
            "run_id": version.run_id,
            "reused": True,
            "promoted": False,
            "reason": version.tags.get("promotion") or version.tags.get("promotion_rejected", ""),
        }
    trained = train_candidate(frame, config, candidate)
    timings = {"fingerprint_s": fingerprint_s, **trained.timings}
    mark = time.perf_counter()
    run_id, model_uri, card = log_training_run(
        trained,
        run_name=run_name,
        snapshot=snapshot,
        fingerprint=fingerprint,
        repo=settings.repo,
        card_template=template,
        data_description=data_description,
    )
    result: dict[str, Any] = {
        "candidate": candidate.role,
        "algorithm": candidate.algorithm,
        "run_id": run_id,
        "reused": False,
        "metrics": trained.metrics,
        "train_rows": trained.train_rows,
        "holdout_rows": len(trained.holdout_y),
        "features": trained.features,
        "ignored": trained.ignored,
        "timings": timings,
    }
    timings["log_s"] = time.perf_counter() - mark
    if not model_name:
        return result
    mark = time.perf_counter()
    version = register_challenger(client, model_name, model_uri, run_id, fingerprint, card, candidate.role)
    decision = decide_promotion(client, model_name, version, trained)
    if decision.champion_score is not None:
        client.log_metric(run_id, f"champion_{config.promotion_metric}_on_holdout", decision.champion_score)
    client.set_tag(run_id, "promotion", decision.reason)
    timings["register_promote_s"] = time.perf_counter() - mark
    return result | {
        "version": version,
        "promoted": decision.promoted,
        "reason": decision.reason,
        "alias": CHAMPION if decision.promoted else "challenger",
    }


def train_scenario(settings: Settings, spec: ModelSpec, logical_date: date, snapshot: dict[str, Any]) -> dict[str, Any]:
    """The factory path: features from the conformed zone, every declared candidate, registry and promotion."""
    zones = Zones(settings.home)
    config = training_config(spec)
    mark = time.perf_counter()
    frame = build_features(spec, zones, logical_date)
    write_parquet_atomic(frame, zones.features(spec.name, logical_date))
    features_s = time.perf_counter() - mark
    use_tracking(settings, spec.name)
    description = (
        f"Features from `models/{spec.name}/{spec.features}` (DuckDB SQL) over the "
        f"conformed tables {', '.join(spec.inputs)} as of {logical_date.isoformat()}: {len(frame)} rows, "
        f"{int(frame[config.target].notna().sum())} labelled."
    )
    results = [
        train_and_register(
            settings,
            config,
            frame,
            candidate,
            model_name=spec.name,
            run_name=f"{spec.name}-{logical_date.isoformat()}-{candidate.algorithm}",
            snapshot=snapshot,
            template=card_template(spec),
            data_description=description,
        )
        for candidate in config.candidates
    ]
    primary = results[0]
    return {
        "scenario": spec.name,
        "version": primary.get("version"),
        "run_id": primary["run_id"],
        "reused": all(r["reused"] for r in results),
        "promoted": any(r.get("promoted") for r in results),
        "reason": "; ".join(f"{r['algorithm']}: {r.get('reason', '')}" for r in results),
        "features_s": features_s,
        "candidates": [{k: v for k, v in r.items() if k not in ("features", "ignored")} for r in results],
    }


def read_table(path: Path) -> pd.DataFrame:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return pd.read_csv(path)
    if suffix in (".parquet", ".pq"):
        return pd.read_parquet(path)
    raise ValueError(f"{path}: unsupported file type '{suffix}'; give a .csv or .parquet file")


def train_table(
    settings: Settings,
    spec: ModelSpec,
    path: Path,
    target: str,
    *,
    id_column: str | None = None,
    group_column: str | None = None,
    positive: str | None = None,
    register_as: str | None = None,
) -> dict[str, Any]:
    """The modeller's path: the scenario's algorithm family on any table, logged to `<scenario>/<file stem>`."""
    frame = read_table(path)
    for column in (target, id_column, group_column):
        if column and column not in frame.columns:
            raise ValueError(f"{path.name}: no column '{column}' (columns: {', '.join(frame.columns)})")
    config = training_config(spec).with_data(target, id_column, group_column)
    if positive is not None:
        config = config.with_positive(positive)
    experiment = f"{spec.name}/{path.stem}"
    use_tracking(settings, experiment)
    description = f"Modeller-supplied table `{path.name}`: {len(frame)} rows, {len(frame.columns)} columns."
    snapshot = {path.name: f"rows={len(frame)};columns={len(frame.columns)}"}
    results = [
        train_and_register(
            settings,
            config,
            frame,
            candidate,
            model_name=register_as,
            run_name=f"{path.stem}-{candidate.algorithm}",
            snapshot=snapshot,
            template=DEFAULT_TEMPLATE,
            data_description=description,
        )
        for candidate in config.candidates
    ]
    return {"scenario": spec.name, "family": config.family, "experiment": experiment, "candidates": results}
