"""Every service's command from docker-compose.yaml, run for real on this machine: Airflow on the local
PostgreSQL with CeleryExecutor and Redis, MLflow server on PostgreSQL with S3 artifacts, the bucket
initializer against an S3 server on loopback, and the Postgres database initializer."""

from __future__ import annotations

import json
import os
import subprocess
import uuid

import pytest

from bench.stack import POSTGRES_ADMIN_URL, VENV_BIN, LocalStack, load_compose, running_stack
from tests.conftest import REPO

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory):
    with running_stack(tmp_path_factory.mktemp("stack"), workers=2, redis_db=14) as running:
        yield running


def _sql(url: str, query: str) -> list[tuple]:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(query))]
    finally:
        engine.dispose()


def _db_url(stack: LocalStack, key: str) -> str:
    return f"postgresql+psycopg2://postgres@127.0.0.1:5432/{stack.values[key]}"


def test_every_long_running_service_passes_its_own_compose_health_check(stack: LocalStack):
    running = {p.name: p for p in stack.processes}
    assert set(running) == {
        "mlflow",
        "upstream-platform",
        "airflow-apiserver",
        "airflow-scheduler",
        "airflow-dag-processor",
        "airflow-triggerer",
        "airflow-worker-1",
        "airflow-worker-2",
    }
    for name, proc in running.items():
        service = "airflow-worker" if name.startswith("airflow-worker") else name
        assert proc.popen.poll() is None, f"{name} exited; log {proc.log}"
        assert stack.healthcheck(service, proc), f"{name} fails its health check; log {proc.log}"
    # The exact compose command lines ran (interpolated with the local values).
    assert stack.command("airflow-scheduler")[1:] == ["scheduler"]
    assert stack.command("airflow-worker") == [
        "bash",
        "-c",
        'exec airflow celery worker --celery-hostname "celery@${HOSTNAME}"',
    ]
    assert stack.command("mlflow")[1:3] == ["server", "--backend-store-uri"]


def test_airflow_components_register_in_the_postgres_metadata_db(stack: LocalStack):
    jobs = _sql(
        _db_url(stack, "AIRFLOW_DB"),
        "SELECT job_type, hostname FROM job WHERE state = 'running' ORDER BY job_type",
    )
    kinds = {job_type for job_type, _ in jobs}
    assert {"SchedulerJob", "DagProcessorJob", "TriggererJob"} <= kinds
    hostnames = {hostname for _, hostname in jobs}
    assert {"airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"} <= hostnames


def test_both_celery_workers_answer_on_the_redis_broker(stack: LocalStack):
    worker = next(p for p in stack.processes if p.name == "airflow-worker-1")
    done = subprocess.run(
        [
            str(VENV_BIN / "celery"),
            "--app",
            "airflow.providers.celery.executors.celery_executor.app",
            "inspect",
            "ping",
            "--json",
        ],
        env=worker.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    replies = json.loads(done.stdout.strip().splitlines()[-1])
    assert replies == {"celery@airflow-worker-1": {"ok": "pong"}, "celery@airflow-worker-2": {"ok": "pong"}}
    assert worker.env["AIRFLOW__CELERY__BROKER_URL"] == f"redis://127.0.0.1:6379/{stack.values['REDIS_BROKER_DB']}"


def test_mlflow_server_keeps_its_store_in_postgres_and_artifacts_in_s3(stack: LocalStack):
    tables = {
        name
        for (name,) in _sql(_db_url(stack, "MLFLOW_DB"), "SELECT tablename FROM pg_tables WHERE schemaname='public'")
    }
    assert {"experiments", "runs", "registered_models", "model_versions"} <= tables
    roots = _sql(_db_url(stack, "MLFLOW_DB"), "SELECT artifact_location FROM experiments")
    assert roots and all(root.startswith("s3://mlflow/artifacts") for (root,) in roots)


def test_bucket_initializer_created_the_buckets_and_is_idempotent(stack: LocalStack):
    import boto3

    proc = next(p for p in stack.processes if p.name == "mlflow")
    s3 = boto3.client(
        "s3",
        endpoint_url=proc.env["MLFLOW_S3_ENDPOINT_URL"],
        aws_access_key_id=proc.env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=proc.env["AWS_SECRET_ACCESS_KEY"],
        region_name="us-east-1",
    )
    assert {"mlflow", "datafactory-products"} <= {b["Name"] for b in s3.list_buckets()["Buckets"]}
    again = stack.run("minio-init")
    assert "created now: none" in again


def test_bucket_initializer_explains_a_missing_endpoint_in_one_line(stack: LocalStack):
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_S3_ENDPOINT_URL"}
    command = stack.command("minio-init")
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: set MLFLOW_S3_ENDPOINT_URL to the S3 endpoint (e.g. http://minio:9000)"
    ]


def test_postgres_initializer_creates_each_database_once():
    import sqlalchemy as sa

    names = [f"df_init_{uuid.uuid4().hex[:8]}", f"df_init_{uuid.uuid4().hex[:8]}"]
    postgres = load_compose()["services"]["postgres"]
    script = REPO / "docker" / "postgres" / "create-databases.sh"
    assert f"./docker/postgres/{script.name}" in " ".join(postgres["volumes"])
    assert "DATAFACTORY_DATABASES" in postgres["environment"]
    # A name listed twice is created once: the script is idempotent within a run and across runs.
    listed = f"{names[0]} {names[1]} {names[0]}"
    env = os.environ | {"POSTGRES_USER": "postgres", "PGHOST": "127.0.0.1", "DATAFACTORY_DATABASES": listed}
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        first = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=60)
        assert first.returncode == 0, first.stderr
        assert first.stdout.splitlines() == [f"created database {names[0]}", f"created database {names[1]}"]
        second = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=60)
        assert second.returncode == 0 and second.stdout == ""
        with admin.connect() as conn:
            found = conn.execute(sa.text("SELECT datname FROM pg_database WHERE datname = ANY(:n)"), {"n": names})
            assert sorted(r[0] for r in found) == sorted(names)
    finally:
        with admin.connect() as conn:
            for name in names:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
