"""A new deployment: the publish DAG's daily tick comes before the first training run. Its build is
skipped with the reason (nothing is published, nothing fails); Airflow does not retry it three times
and mark the run failed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

pytestmark = pytest.mark.integration


def test_a_scheduled_build_before_any_champion_is_skipped_with_its_reason(tmp_path, monkeypatch):
    from airflow.sdk.exceptions import AirflowSkipException

    from datafactory.airflow.tasks import publish

    monkeypatch.setenv("DATAFACTORY_HOME", str(tmp_path / "var"))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/mlflow.db")
    context = {"dag_run": None, "logical_date": datetime(2026, 11, 1, tzinfo=UTC), "run_id": "scheduled__2026-11-01"}
    with pytest.raises(AirflowSkipException, match="no model has the 'champion' alias yet"):
        publish("anti_fraud_admission", "build", context)
    assert not (tmp_path / "var" / "products").exists() or not any((tmp_path / "var" / "products").rglob("*.parquet"))
