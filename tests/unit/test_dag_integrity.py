"""Every DAG imports cleanly, is documented and owned, retries, and parses without heavy imports."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.unit

HEAVY = ["pandas", "numpy", "pyarrow", "great_expectations", "mlflow", "lightgbm", "sklearn", "duckdb", "boto3"]


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(REPO / "dags"))


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert {"ingest_returned_data", "train_anti_fraud_admission", "publish_anti_fraud_admission"} <= set(dagbag.dag_ids)


def test_every_dag_has_tags_owner_retries_and_docs(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, dag_id
        assert dag.doc_md and len(dag.doc_md) > 40, dag_id
        for t in dag.tasks:
            assert t.owner and t.owner != "airflow", f"{dag_id}.{t.task_id} has no owner"
            assert t.retries >= 2, f"{dag_id}.{t.task_id} retries {t.retries}"


def test_downstream_dags_are_scheduled_on_assets(dagbag):
    train = dagbag.dags["train_anti_fraud_admission"]
    ingest = dagbag.dags["ingest_returned_data"]
    produced = {o.uri for t in ingest.tasks for o in t.outlets}
    consumed = {asset.uri for asset in train.timetable.asset_condition.objects}
    assert consumed and consumed <= produced


def test_parsing_the_dag_file_imports_nothing_heavy():
    code = (
        "import runpy, sys, json;"
        f"runpy.run_path({str(REPO / 'dags' / 'datafactory_dags.py')!r});"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_every_dag_says_why_it_is_paused_on_the_embedded_default(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert "no scheduler runs" in dag.doc_md and "datafactory run" in dag.doc_md, dag_id


def test_only_the_report_task_carries_an_extra_link(dagbag):
    linked = {f"{d}.{t.task_id}" for d, dag in dagbag.dags.items() for t in dag.tasks if t.operator_extra_links}
    assert linked == {"ingest_returned_data.quality_report"}


def test_every_task_pushes_one_xcom_not_one_per_key(dagbag):
    """A `-> dict` TaskFlow task infers multiple_outputs and pushes each key as an XCom of its own: one
    execution-API request per key, on each of the ~170 tasks of a run. Nothing reads the keys alone."""
    tasks = [(dag_id, t) for dag_id, dag in dagbag.dags.items() for t in dag.tasks]
    decorated = [(dag_id, t) for dag_id, t in tasks if hasattr(t, "multiple_outputs")]
    assert len(decorated) > len(dagbag.dags)  # every DAG has TaskFlow tasks
    assert [f"{d}.{t.task_id}" for d, t in decorated if t.multiple_outputs] == []


def test_the_timed_schedules_end_on_the_declared_day_and_asset_triggers_do_not(monkeypatch):
    from datetime import UTC, datetime

    from airflow.dag_processing.dagbag import DagBag
    from airflow.serialization.serialized_objects import DagSerialization
    from airflow.timetables.base import DataInterval, TimeRestriction

    monkeypatch.setenv("DATAFACTORY_SCHEDULE_END", "2026-12-06")
    dags = DagBag(dag_folder=str(REPO / "dags")).dags
    end = datetime(2026, 12, 6, tzinfo=UTC)
    for dag_id in ("ingest_returned_data", "publish_anti_fraud_admission"):
        dag = DagSerialization.from_dict(DagSerialization.to_dict(dags[dag_id]))  # as the scheduler reads it
        assert dag.end_date == end, dag_id
        restriction = TimeRestriction(earliest=dag.start_date, latest=dag.end_date, catchup=False)
        last = DataInterval.exact(end)  # the end day's run exists: no later day gets one
        assert dag.timetable.next_dagrun_info(last_automated_data_interval=last, restriction=restriction) is None
        before = DataInterval.exact(datetime(2026, 12, 5, tzinfo=UTC))
        catching_up = TimeRestriction(earliest=dag.start_date, latest=dag.end_date, catchup=True)
        following = dag.timetable.next_dagrun_info(last_automated_data_interval=before, restriction=catching_up)
        assert following is not None and following.run_after == end, dag_id
    assert dags["train_anti_fraud_admission"].end_date is None  # asset-triggered only
