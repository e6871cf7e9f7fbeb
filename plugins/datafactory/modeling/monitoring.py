"""Population stability at scoring time: PSI of the champion's primary output, training vs today.

Logged as metric `psi` on the champion's training run (one point per logical date), tagged as a
warning on the run and the registered version when above 0.25, and written as
`quality/<date>/model_<scenario>.json` for the reviewers' quality report.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
from mlflow.tracking import MlflowClient

from datafactory.modeling.drift import Reference
from datafactory.modeling.metrics import PSI_SHIFTED
from datafactory.zones import Zones, write_json_atomic

WARNING_TAG = "psi_warning"


def drift_report_path(zones: Zones, logical_date: date, scenario: str) -> Path:
    return zones.home / "quality" / logical_date.isoformat() / f"model_{scenario}.json"


def drift_message(scenario: str, value: float, logical_date: date) -> str | None:
    if value <= PSI_SHIFTED:
        return None
    return (
        f"{scenario}: PSI {value:.3f} > {PSI_SHIFTED} on {logical_date.isoformat()}: the scoring population has "
        "shifted from the training population; review the model before trusting its scores"
    )


def record_population_stability(
    ref: Any, reference: Reference, outputs: pd.DataFrame, logical_date: date, zones: Zones
) -> dict[str, Any]:
    value = reference.psi(outputs[reference.column].to_numpy(dtype=float))
    message = drift_message(ref.name, value, logical_date)
    client = MlflowClient()
    step = int(logical_date.strftime("%Y%m%d"))
    if not any(m.step == step for m in client.get_metric_history(ref.run_id, "psi")):  # a rerun logs nothing new
        client.log_metric(ref.run_id, "psi", value, step=step)
    client.set_tag(ref.run_id, "psi_latest", f"{value:.4f} on {logical_date.isoformat()}")
    client.set_model_version_tag(ref.name, ref.version, "psi_latest", f"{value:.4f} on {logical_date.isoformat()}")
    if message:
        client.set_tag(ref.run_id, WARNING_TAG, message)
        client.set_model_version_tag(ref.name, ref.version, WARNING_TAG, message)
    report = {
        "scenario": ref.name,
        "psi": round(value, 6),
        "warning": message is not None,
        "message": message,
        "threshold": PSI_SHIFTED,
        "model_version": ref.version,
        "output": reference.column,
        "rows_scored": len(outputs),
        "logical_date": logical_date.isoformat(),
    }
    write_json_atomic(report, drift_report_path(zones, logical_date, ref.name))
    return report
