"""Scale-out on this machine: the compose stack's scheduler, dag-processor, api-server, two Celery workers
and the MLflow server on the local PostgreSQL and Redis run the factory's DAGs end to end through the
scheduler. Ingest is triggered with `airflow dags trigger`; asset events then start training and
publishing. Large feeds are conformed per region by dynamically mapped tasks, spread over both workers."""

from __future__ import annotations

import json
import subprocess
import time
from datetime import UTC, datetime

import pytest

from bench.stack import VENV_BIN, LocalStack, running_stack

pytestmark = pytest.mark.integration

INGEST = "ingest_returned_data"
TRAIN = "train_anti_fraud_admission"
PUBLISH = "publish_anti_fraud_admission"
DEADLINE_S = 2700  # bound for the whole chain; minutes on a quiet machine, much longer on a shared one


def _sql(stack: LocalStack, query: str, **params) -> list[tuple]:
    import sqlalchemy as sa

    engine = sa.create_engine(f"postgresql+psycopg2://postgres@127.0.0.1:5432/{stack.values['AIRFLOW_DB']}")
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(query), params)]
    finally:
        engine.dispose()


def _cli(stack: LocalStack, *args: str, timeout: float = 300) -> str:
    """A command in a worker's environment (as `docker compose exec airflow-worker ...` would run it)."""
    env = next(p.env for p in stack.processes if p.name == "airflow-worker-1")
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout, cwd=stack.home)
    assert done.returncode == 0, f"{args} failed: {done.stderr[-3000:]}"
    return done.stdout


def _wait_for(stack: LocalStack, what: str, predicate, deadline: float, pause: float = 5.0):
    while time.monotonic() < deadline:
        for proc in stack.processes:
            assert proc.popen.poll() is None, f"{proc.name} died; log {proc.log}:\n{stack.tail(proc)}"
        found = predicate()
        if found:
            return found
        time.sleep(pause)
    raise AssertionError(f"timed out waiting for {what}; logs in {stack.home / 'logs'}")


def _answered(stack: LocalStack, command: list[str]) -> bool:
    """True once the command answered a waiting approval; it says no (exit 1) while none is waiting."""
    env = next(p.env for p in stack.processes if p.name == "airflow-worker-1")
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, cwd=stack.home)
    if done.returncode not in (0, 1):
        raise AssertionError(f"{command} failed: {done.stderr[-3000:]}")
    return done.returncode == 0 and "approve" in done.stdout.lower()


def _run_state(stack: LocalStack, dag_id: str, run_types: tuple[str, ...]) -> str | None:
    rows = _sql(
        stack,
        "SELECT state FROM dag_run WHERE dag_id = :d AND run_type = ANY(:t) ORDER BY id DESC LIMIT 1",
        d=dag_id,
        t=list(run_types),
    )
    return rows[0][0] if rows else None


def _finished(stack: LocalStack, dag_id: str, run_types: tuple[str, ...]):
    def check():
        state = _run_state(stack, dag_id, run_types)
        if state == "failed":
            failed = _sql(
                stack,
                "SELECT task_id, map_index, hostname FROM task_instance WHERE dag_id = :d AND state = 'failed'",
                d=dag_id,
            )
            raise AssertionError(f"{dag_id} failed; failed tasks {failed}; logs in {stack.home}")
        return state == "success"

    return check


@pytest.fixture(scope="module")
def factory_run(tmp_path_factory: pytest.TempPathFactory):
    """Brings the stack up, triggers ingest for today's date and waits for ingest, train and publish."""
    today = datetime.now(UTC).date()
    # A run that crosses midnight UTC would get the next day's scheduled ingest and publish runs (for a
    # day nobody simulated), whose asset events start a second training run: the schedules end today.
    overrides = {
        "AIRFLOW_DAGS_PAUSED_AT_CREATION": "true",
        "DATAFACTORY_FIRST_DATE": today.isoformat(),
        "DATAFACTORY_SCHEDULE_END": today.isoformat(),
        # One region per conform task (a real deployment's regions hold far more rows than the default
        # batch): the per-region mapping is what this test spreads over the two workers.
        "DATAFACTORY_CONFORM_BATCH_ROWS": "1",
    }
    home = tmp_path_factory.mktemp("scale-out")
    with running_stack(home, workers=2, redis_db=15, enterprises=1500, overrides=overrides) as stack:
        deadline = time.monotonic() + DEADLINE_S
        parsed = lambda: len(_sql(stack, "SELECT dag_id FROM dag WHERE dag_id = ANY(:d)", d=[INGEST, TRAIN, PUBLISH]))  # noqa: E731
        _wait_for(stack, "the dag-processor to parse the DAGs", lambda: parsed() == 3, deadline)
        delivered = _cli(stack, str(VENV_BIN / "datafactory"), "simulate", "--date", today.isoformat())
        # Today's midnight is also the daily schedule's latest tick: this run takes that slot, so
        # unpausing creates no second, scheduled run for the same date.
        _cli(
            stack,
            str(VENV_BIN / "airflow"),
            "dags",
            "trigger",
            INGEST,
            "--logical-date",
            f"{today.isoformat()}T00:00:00+00:00",
            "--conf",
            json.dumps({"logical_date": today.isoformat()}),
        )
        for dag_id in (INGEST, TRAIN, PUBLISH):
            _cli(stack, str(VENV_BIN / "airflow"), "dags", "unpause", dag_id)
        _wait_for(stack, f"{INGEST} to succeed", _finished(stack, INGEST, ("manual",)), deadline)
        _wait_for(stack, f"{TRAIN} to succeed", _finished(stack, TRAIN, ("asset_triggered",)), deadline)
        # The product's reviewer approves the new version (human in the loop), as an operator would.
        approve = [
            str(VENV_BIN / "datafactory"),
            "products",
            "approve",
            "anti_fraud_admission",
            "--by",
            "scale-out-test",
        ]
        _wait_for(stack, "the approval request", lambda: _answered(stack, approve), deadline, pause=10)
        _wait_for(stack, f"{PUBLISH} to succeed", _finished(stack, PUBLISH, ("asset_triggered",)), deadline)
        yield stack, today, delivered


def test_ingest_ran_through_the_scheduler_and_assets_triggered_train_and_publish(factory_run):
    stack, _, delivered = factory_run
    assert "delivered" in delivered and "(already delivered)" not in delivered
    runs = _sql(
        stack,
        "SELECT dag_id, run_type, state FROM dag_run WHERE dag_id = ANY(:d) AND state = 'success'",
        d=[INGEST, TRAIN, PUBLISH],
    )
    assert (INGEST, "manual", "success") in runs
    assert (TRAIN, "asset_triggered", "success") in runs
    assert (PUBLISH, "asset_triggered", "success") in runs
    executors = _sql(stack, "SELECT DISTINCT executor FROM task_instance WHERE executor IS NOT NULL")
    assert _sql(stack, "SELECT run_type FROM dag_run WHERE dag_id = :d", d=INGEST) == [("manual",)]
    ran = "SELECT DISTINCT queued_by_job_id IS NOT NULL FROM task_instance WHERE dag_id = :d AND state != 'skipped'"
    assert _sql(stack, ran, d=INGEST) == [(True,)]  # every task that ran was queued by the scheduler
    gate = "SELECT state FROM task_instance WHERE dag_id = :d AND task_id = 'feeds_gate'"
    assert _sql(stack, gate, d=INGEST) == [("skipped",)]  # no feed failed, so the gate did not fail the run
    trained = "SELECT run_type FROM dag_run WHERE dag_id = :d AND run_type != 'manual'"
    assert _sql(stack, trained, d=TRAIN) == [("asset_triggered",)]  # one ingest run, so one training run
    # Today's tick of the publish schedule came before the first champion: skipped, not failed.
    ticks = "SELECT r.state, t.state FROM dag_run r JOIN task_instance t USING (dag_id, run_id) "
    ticks += "WHERE r.dag_id = :d AND r.run_type = 'scheduled' AND t.task_id = 'build'"
    assert _sql(stack, ticks, d=PUBLISH) == [("success", "skipped")]
    assert executors in ([], [("CeleryExecutor",)])


def test_per_region_conform_ran_as_mapped_tasks_on_both_workers(factory_run):
    stack, _, _ = factory_run
    mapped = _sql(
        stack,
        "SELECT task_id, map_index, rendered_map_index, hostname, state FROM task_instance "
        "WHERE dag_id = :d AND task_id LIKE '%.conform_region'",
        d=INGEST,
    )
    assert mapped, "no per-region conform tasks ran"
    assert all(state == "success" for *_, state in mapped)
    regions = {}
    for task_id, map_index, label, _, _ in mapped:
        assert map_index >= 0
        regions.setdefault(task_id, set()).add(label)
    registry = regions["ent_registry.conform_region"]
    assert len(registry) >= 3 and all(label.isdigit() and len(label) == 6 for label in registry - {"unknown"})
    hosts = {host for *_, host, _ in mapped}
    everywhere = {h for (h,) in _sql(stack, "SELECT DISTINCT hostname FROM task_instance WHERE hostname <> ''")}
    assert everywhere == {"airflow-worker-1", "airflow-worker-2"}, everywhere
    assert hosts <= everywhere and len(hosts) == 2, f"mapped tasks ran on {hosts} only"


def test_the_feed_level_results_add_up_from_the_regions(factory_run):
    stack, today, _ = factory_run
    from pathlib import Path

    home = Path(stack.values["DATAFACTORY_HOME"])
    result = json.loads((home / "quality" / today.isoformat() / "ent_tax_monthly.json").read_text())
    partitions = result["partitions"]
    assert len(partitions) >= 3
    assert result["rows_in"] == sum(p["rows_in"] for p in partitions.values()) > 0
    assert result["rows_in"] == result["rows_conformed"] + result["rows_quarantined"]
    import pandas as pd

    snapshot = pd.read_parquet(home / "conformed" / "ent_tax_monthly" / f"ds={today.isoformat()}.parquet")
    assert len(snapshot) == result["rows_conformed"]
    assert not snapshot.duplicated(["uscc", "period"]).any()
    quarantined = pd.read_parquet(home / "quarantine" / "ent_tax_monthly" / f"ds={today.isoformat()}")
    assert len(quarantined) == result["rows_quarantined"]


def test_mlflow_artifacts_and_the_product_landed_in_s3(factory_run):
    import boto3

    stack, _, _ = factory_run
    env = next(p.env for p in stack.processes if p.name == "airflow-worker-1")
    s3 = boto3.client(
        "s3",
        endpoint_url=env["MLFLOW_S3_ENDPOINT_URL"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name="us-east-1",
    )
    artifacts = s3.list_objects_v2(Bucket="mlflow", Prefix="artifacts/").get("Contents", [])
    assert any(o["Key"].endswith("MLmodel") for o in artifacts)
    products = s3.list_objects_v2(Bucket="datafactory-products", Prefix="products/anti_fraud_admission/")
    keys = [o["Key"] for o in products.get("Contents", [])]
    assert any(k.endswith("manifest.json") for k in keys), keys
