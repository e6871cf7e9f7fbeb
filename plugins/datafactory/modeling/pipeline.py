"""Wires features, training, MLflow logging and promotion for one scenario and one date."""

from __future__ import annotations

from datetime import date
from typing import Any

from mlflow.tracking import MlflowClient

from datafactory.modeling.features import build_features
from datafactory.modeling.registry import CHAMPION, decide_promotion, register_challenger, version_with_fingerprint
from datafactory.modeling.tracking import log_binary_run, use_tracking
from datafactory.modeling.train import labelled, train_binary, training_fingerprint
from datafactory.settings import Settings
from datafactory.specs import ModelSpec
from datafactory.zones import Zones, write_parquet_atomic


def train_scenario(settings: Settings, spec: ModelSpec, logical_date: date, snapshot: dict[str, str]) -> dict[str, Any]:
    zones = Zones(settings.home)
    frame = build_features(spec, zones, logical_date)
    write_parquet_atomic(frame, zones.features(spec.name, logical_date))
    raw = spec.raw
    fingerprint = training_fingerprint(labelled(frame, raw["target"]), raw["params"])
    use_tracking(settings, spec.name)
    client = MlflowClient()
    existing = version_with_fingerprint(client, spec.name, fingerprint)
    if existing is not None:  # same data, same params: no new run, no registry churn
        version = client.get_model_version(spec.name, existing)
        return {
            "scenario": spec.name,
            "version": existing,
            "run_id": version.run_id,
            "reused": True,
            "promoted": False,
            "reason": version.tags.get("promotion") or version.tags.get("promotion_rejected", ""),
        }
    model = train_binary(frame, raw)
    run_id, model_uri = log_binary_run(
        model,
        raw,
        run_name=f"{spec.name}-{logical_date.isoformat()}",
        snapshot=snapshot,
        fingerprint=fingerprint,
        repo=settings.repo,
    )
    version = register_challenger(client, spec.name, model_uri, run_id, fingerprint)
    rule = raw["promotion"]
    decision = decide_promotion(
        client,
        spec.name,
        version,
        model.holdout_x,
        model.holdout_y,
        rule["metric"],
        float(rule.get("min_improvement", 0.0)),
        float(raw["operating_cutoff"]),
    )
    client.log_metric(run_id, f"champion_{rule['metric']}_on_holdout", decision.champion_score or 0.0)
    client.set_tag(run_id, "promotion", decision.reason)
    return {
        "scenario": spec.name,
        "version": version,
        "run_id": run_id,
        "reused": False,
        "promoted": decision.promoted,
        "reason": decision.reason,
        "metrics": model.metrics,
        "champion": version if decision.promoted else None,
        "alias": CHAMPION if decision.promoted else "challenger",
    }
