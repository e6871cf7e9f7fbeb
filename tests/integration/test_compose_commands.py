"""Every service's command from docker-compose.yaml, run for real on this machine: Airflow on the local
PostgreSQL with CeleryExecutor and Redis and the FAB auth manager, MLflow's basic-auth server on
PostgreSQL with proxied S3 artifacts, the product API, the bucket initializer against an S3 server on
loopback, and the Postgres database initializer. Authentication is on: without credentials, Airflow,
the quality reports, MLflow and the product API each answer 401."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import urllib.error
import urllib.request
import uuid
from pathlib import Path

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
        "product-api",
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
    assert stack.command("airflow-scheduler")[1:] == ["-m", "datafactory.secrets", "airflow", "scheduler"]
    assert stack.command("airflow-worker")[1:] == [
        "-m",
        "datafactory.secrets",
        "bash",
        "-c",
        'exec airflow celery worker --celery-hostname "celery@${HOSTNAME}"',
    ]
    assert stack.command("mlflow")[2:6] == ["mlflow", "server", "--app-name", "basic-auth"]


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


def _call(url: str, *, method: str = "GET", body: dict | None = None, headers: dict | None = None) -> tuple[int, bytes]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data, {"Content-Type": "application/json", **(headers or {})}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_without_credentials_airflow_the_reports_mlflow_and_the_product_api_answer_401(stack: LocalStack):
    v = stack.values
    airflow, mlflow = f"http://127.0.0.1:{v['AIRFLOW_API_PORT']}", f"http://127.0.0.1:{v['MLFLOW_PORT']}"
    product_api = f"http://127.0.0.1:{v['PRODUCT_API_PORT']}"
    for url in (
        f"{airflow}/api/v2/dags",
        f"{airflow}/datafactory-reports/index.html",
        f"{airflow}/datafactory-reports/runs/ingest_returned_data/any-run",
        f"{mlflow}/api/2.0/mlflow/experiments/search?max_results=1",
        f"{product_api}/v1/products/anti_fraud_admission",
    ):
        status, _ = _call(url)
        assert status == 401, url
    # A wrong password is no better than none.
    status, _ = _call(f"{mlflow}/api/2.0/mlflow/experiments/search?max_results=1", headers=_basic("admin", "wrong"))
    assert status == 401


def test_airflow_roles_viewer_reads_runs_and_reports_op_triggers_and_viewer_cannot(stack: LocalStack):
    v = stack.values
    airflow = f"http://127.0.0.1:{v['AIRFLOW_API_PORT']}"
    reviewer = stack.airflow_token(v["AIRFLOW_REVIEWER_USER"], v["AIRFLOW_REVIEWER_PASSWORD"])
    operator = stack.airflow_token(v["AIRFLOW_OPERATOR_USER"], v["AIRFLOW_OPERATOR_PASSWORD"])
    assert _call(f"{airflow}/api/v2/dags", headers=_bearer(reviewer))[0] == 200
    # The reports pass the same check: a reviewer (bearer token or the UI's cookie) reads them.
    reports = Path(v["DATAFACTORY_HOME"]) / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    (reports / "index.html").write_text("<h1>security check page</h1>")
    for headers in (_bearer(reviewer), {"Cookie": f"_token={reviewer}"}):
        status, page = _call(f"{airflow}/datafactory-reports/index.html", headers=headers)
        assert (status, b"security check page" in page) == (200, True)
    assert _call(f"{airflow}/datafactory-reports/index.html", headers=_bearer("not-a-jwt"))[0] in {401, 403}
    trigger = f"{airflow}/api/v2/dags/ingest_returned_data/dagRuns"
    body = {"logical_date": None, "conf": {}}
    assert _call(trigger, method="POST", body=body, headers=_bearer(reviewer))[0] == 403
    assert _call(trigger, method="POST", body=body, headers=_bearer(operator))[0] in {200, 404}  # 404: not parsed yet
    status, _ = _call(f"{airflow}/auth/token", method="POST", body={"username": "admin", "password": "wrong"})
    assert status == 401


def test_mlflow_basic_auth_factory_user_writes_and_the_modeller_only_reads(stack: LocalStack):
    v = stack.values
    api = f"http://127.0.0.1:{v['MLFLOW_PORT']}/api/2.0/mlflow"
    factory = _basic(v["MLFLOW_FACTORY_USER"], v["MLFLOW_FACTORY_PASSWORD"])
    modeller = _basic(v["MLFLOW_MODELLER_USER"], v["MLFLOW_MODELLER_PASSWORD"])
    name = f"security-{uuid.uuid4().hex[:8]}"
    status, body = _call(f"{api}/experiments/create", method="POST", body={"name": name}, headers=factory)
    assert status == 200, body
    experiment = json.loads(body)["experiment_id"]
    assert _call(f"{api}/experiments/get?experiment_id={experiment}", headers=modeller)[0] == 200
    tag = {"experiment_id": experiment, "key": "tampered", "value": "yes"}
    assert _call(f"{api}/experiments/set-experiment-tag", method="POST", body=tag, headers=modeller)[0] == 403
    assert _call(f"{api}/experiments/set-experiment-tag", method="POST", body=tag, headers=factory)[0] == 200


def test_mlflow_server_keeps_its_store_in_postgres_and_proxies_artifacts_to_s3(stack: LocalStack):
    tables = {
        name
        for (name,) in _sql(_db_url(stack, "MLFLOW_DB"), "SELECT tablename FROM pg_tables WHERE schemaname='public'")
    }
    assert {"experiments", "runs", "registered_models", "model_versions"} <= tables
    auth_tables = {
        name
        for (name,) in _sql(
            _db_url(stack, "MLFLOW_AUTH_DB"), "SELECT tablename FROM pg_tables WHERE schemaname='public'"
        )
    }
    assert {"users", "experiment_permissions", "registered_model_permissions"} <= auth_tables
    users = {u for (u,) in _sql(_db_url(stack, "MLFLOW_AUTH_DB"), "SELECT username FROM users")}
    assert users == {"admin", "datafactory", "modeller"}
    roots = _sql(_db_url(stack, "MLFLOW_DB"), "SELECT artifact_location FROM experiments")
    assert roots and all(root.startswith("mlflow-artifacts:") for (root,) in roots)  # served by the proxy
    command = " ".join(stack.command("mlflow"))
    assert "--serve-artifacts --artifacts-destination s3://mlflow/artifacts" in command


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
    assert proc.env["AWS_ACCESS_KEY_ID"] == stack.values["MLFLOW_S3_ACCESS_KEY"]  # its own user, not root
    assert {"mlflow", "datafactory-products"} <= {b["Name"] for b in s3.list_buckets()["Buckets"]}
    again = stack.init_storage()
    assert "created now: none" in again


def test_bucket_initializer_explains_a_missing_endpoint_in_one_line(stack: LocalStack):
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_S3_ENDPOINT_URL"}
    command = [str(VENV_BIN / "python"), str(REPO / "docker" / "minio" / "create_buckets.py"), "mlflow"]
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
