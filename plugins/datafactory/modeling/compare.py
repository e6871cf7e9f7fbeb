"""Recent training sessions of one experiment side by side: MLflow's compare view as rows of text."""

from __future__ import annotations

from datetime import UTC, datetime

from datafactory.modeling.tracking import RUN_KIND
from datafactory.settings import Settings


def recent_runs(settings: Settings, experiment: str, last: int) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """(one column title per run, newest first; rows of (what, value per run))."""
    import mlflow
    from mlflow.tracking import MlflowClient

    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    client = MlflowClient()
    found = client.get_experiment_by_name(experiment)
    if found is None:
        raise LookupError(f"no MLflow experiment '{experiment}' yet: train it first (no runs to compare)")
    runs = client.search_runs(
        [found.experiment_id], f"tags.{RUN_KIND} = 'training'", order_by=["attribute.start_time DESC"], max_results=last
    )
    if not runs:
        raise LookupError(f"experiment '{experiment}' has no training runs yet")
    columns = [r.info.run_name or r.info.run_id[:8] for r in runs]

    def row(name: str, values: list[str]) -> tuple[str, list[str]]:
        return name, values

    def when(ms: int | None) -> str:
        return "" if ms is None else datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")

    def duration(r) -> str:
        end = r.info.end_time
        return "" if end is None else f"{(end - r.info.start_time) / 1000:.1f}s"

    rows = [
        row("run id", [r.info.run_id for r in runs]),
        row("started (UTC)", [when(r.info.start_time) for r in runs]),
        row("duration", [duration(r) for r in runs]),
        row("status", [r.info.status for r in runs]),
        row("winner", [r.data.tags.get("winner", "") for r in runs]),
        row("registered version", [r.data.tags.get("registered_version", "") for r in runs]),
        row("promotion", [r.data.tags.get("promotion", "") for r in runs]),
        row("git commit", [r.data.tags.get("git_commit", "")[:12] for r in runs]),
    ]
    metrics = sorted({m for r in runs for m in r.data.metrics}, key=lambda m: (not m.startswith("holdout_"), m))
    for metric in metrics:
        rows.append(row(metric, [_number(r.data.metrics.get(metric)) for r in runs]))
    snapshots = sorted({t for r in runs for t in r.data.tags if t.startswith("snapshot.")})
    for tag in snapshots:
        rows.append(row(tag, [r.data.tags.get(tag, "") for r in runs]))
    rows.append(row("excluded columns", [r.data.tags.get("excluded_columns", "") for r in runs]))
    rows.append(row("warnings", [r.data.tags.get("warnings", "") for r in runs]))
    return columns, rows


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"
