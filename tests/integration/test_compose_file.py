"""The production compose file's structure, checked without a Docker engine (PyYAML, as compose reads it)."""

from __future__ import annotations

import re

import pytest

from bench.stack import COMPOSE_FILE, interpolate, load_compose, referenced_variables
from tests.conftest import REPO

pytestmark = pytest.mark.integration

LONG_RUNNING = {
    "postgres",
    "redis",
    "minio",
    "mlflow",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
    "upstream-platform",
    "product-api",
}
ONE_SHOTS = {"minio-init", "airflow-init"}
AIRFLOW = {s for s in LONG_RUNNING | ONE_SHOTS if s.startswith("airflow-")}
SPEC_FOLDERS = ("dags", "plugins", "sources", "expectations", "models", "products")


@pytest.fixture(scope="module")
def compose() -> dict:
    return load_compose()


@pytest.fixture(scope="module")
def env_example() -> dict[str, str]:
    lines = (REPO / ".env.example").read_text().splitlines()
    pairs = [line.split("=", 1) for line in lines if line.strip() and not line.lstrip().startswith("#")]
    return {k.strip(): v for k, v in pairs}


def test_every_service_of_the_production_shape_is_there(compose):
    assert set(compose["services"]) == LONG_RUNNING | ONE_SHOTS


def test_every_service_has_an_image(compose):
    for name, service in compose["services"].items():
        assert service.get("image"), name
    project = {n for n, s in compose["services"].items() if s.get("build")}
    assert project == AIRFLOW | {"mlflow", "minio-init", "upstream-platform", "product-api"}
    assert compose["services"]["postgres"]["image"].startswith("postgres:")
    assert compose["services"]["redis"]["image"].startswith("redis:")
    assert compose["services"]["minio"]["image"].startswith("minio/minio:")


def test_long_running_services_have_health_checks_and_one_shots_are_awaited_to_completion(compose):
    for name in LONG_RUNNING:
        check = compose["services"][name].get("healthcheck")
        assert check and check["test"][0] in {"CMD", "CMD-SHELL"} and len(check["test"]) > 1, name
        assert {"interval", "timeout", "retries"} <= set(check), name
    for name in ONE_SHOTS:
        assert compose["services"][name]["restart"] == "no", name
    for name, service in compose["services"].items():
        for dependency, rule in (service.get("depends_on") or {}).items():
            assert dependency in compose["services"], f"{name} depends on unknown {dependency}"
            expected = "service_completed_successfully" if dependency in ONE_SHOTS else "service_healthy"
            assert rule["condition"] == expected, f"{name} -> {dependency}"


def test_start_order_follows_the_data_path(compose):
    services = compose["services"]
    for name in AIRFLOW - {"airflow-init"}:
        assert {"postgres", "redis", "airflow-init"} <= set(services[name]["depends_on"]), name
    assert {"postgres", "minio-init"} <= set(services["mlflow"]["depends_on"])
    assert "minio" in services["minio-init"]["depends_on"]
    assert {"airflow-apiserver", "mlflow", "upstream-platform"} <= set(services["airflow-worker"]["depends_on"])


def test_airflow_runs_celery_on_postgres_and_redis_with_a_shared_jwt_secret(compose):
    for name in AIRFLOW:
        env = compose["services"][name]["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://"), name
        assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://"), name
        assert env["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql+psycopg2://"), name
        assert env["AIRFLOW__API_AUTH__JWT_SECRET"] == "${AIRFLOW_JWT_SECRET}", name
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"].endswith("/execution/"), name
        assert "${AIRFLOW_API_HOST:-airflow-apiserver}" in env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"], name
        assert env["MLFLOW_TRACKING_URI"].startswith("http://"), name
    commands = {name: compose["services"][name]["command"] for name in AIRFLOW}
    assert commands == {
        "airflow-init": "airflow db migrate",
        "airflow-apiserver": "airflow api-server",
        "airflow-scheduler": "airflow scheduler",
        "airflow-dag-processor": "airflow dag-processor",
        "airflow-triggerer": "airflow triggerer",
        "airflow-worker": ["bash", "-c", 'exec airflow celery worker --celery-hostname "celery@$${HOSTNAME}"'],
    }


def test_workers_scale_out(compose):
    worker = compose["services"]["airflow-worker"]
    assert worker["deploy"]["replicas"] == "${AIRFLOW_WORKER_REPLICAS:-2}"
    assert "container_name" not in worker and "hostname" not in worker  # either would block --scale
    assert not worker.get("ports"), "a published port would clash between replicas"


def test_mlflow_uses_postgres_and_s3_and_clients_get_the_endpoint_and_credentials(compose):
    services = compose["services"]
    command = services["mlflow"]["command"]
    assert command.startswith("mlflow server")
    assert "--backend-store-uri postgresql+psycopg2://" in command
    assert "--default-artifact-root s3://${MLFLOW_BUCKET:-mlflow}/" in command
    assert "--no-serve-artifacts" in command  # clients write artifacts to S3 themselves
    for name in AIRFLOW | {"mlflow", "minio-init"}:
        env = services[name]["environment"]
        assert env["MLFLOW_S3_ENDPOINT_URL"] == "http://${MINIO_HOST:-minio}:${MINIO_PORT:-9000}", name
        assert env["AWS_ACCESS_KEY_ID"] == "${MINIO_ROOT_USER}", name
        assert env["AWS_SECRET_ACCESS_KEY"] == "${MINIO_ROOT_PASSWORD}", name
    init = services["minio-init"]["command"]
    assert "create_buckets.py ${MLFLOW_BUCKET:-mlflow} ${PRODUCTS_BUCKET:-datafactory-products}" in init


def test_postgres_creates_one_database_per_concern(compose):
    postgres = compose["services"]["postgres"]
    names = interpolate(postgres["environment"]["DATAFACTORY_DATABASES"], {}).split()
    assert names == ["airflow", "mlflow", "datafactory", "exchange"]
    mounts = {m.split(":")[1]: m.split(":")[0] for m in postgres["volumes"]}
    script = mounts["/docker-entrypoint-initdb.d/10-create-databases.sh"]
    assert (REPO / script).is_file()


def test_the_project_is_mounted_into_every_airflow_service(compose):
    for name in AIRFLOW:
        volumes = compose["services"][name]["volumes"]
        targets = {v.split(":")[1]: v.split(":")[0] for v in volumes}
        for folder in SPEC_FOLDERS:
            assert targets[f"/opt/datafactory/{folder}"] == f"./{folder}", (name, folder)
            assert (REPO / folder).is_dir()
        assert "/var/lib/datafactory" in targets, name  # the shared zones volume
        env = compose["services"][name]["environment"]
        assert env["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/datafactory/dags"
        assert env["DATAFACTORY_REPO"] == "/opt/datafactory"
    assert set(compose["volumes"]) >= {"postgres-data", "minio-data", "datafactory-var", "airflow-logs"}


def test_every_variable_the_compose_file_reads_is_in_env_example(env_example):
    used = referenced_variables(COMPOSE_FILE.read_text())
    assert used, "the compose file reads no variables?"
    assert used - set(env_example) == set()
    unused = set(env_example) - used
    assert unused == set(), f".env.example lists variables compose never reads: {unused}"


def test_secrets_have_no_usable_defaults_in_the_compose_file():
    text = COMPOSE_FILE.read_text()
    secrets = ("POSTGRES_PASSWORD", "MINIO_ROOT_PASSWORD", "AIRFLOW_JWT_SECRET", "DATAFACTORY_PSEUDONYM_KEY")
    for secret in (*secrets, "DATAFACTORY_API_SECRET", "DATAFACTORY_SERVING_SECRET"):
        assert f"${{{secret}}}" in text
        assert not re.search(rf"\$\{{{secret}:?-", text), f"{secret} must come from .env, not a default"


def test_the_image_installs_the_lock_file_on_the_locked_airflow_version():
    dockerfile = (REPO / "docker" / "airflow" / "Dockerfile").read_text()
    lock = (REPO / "requirements.lock").read_text()
    airflow = re.search(r"^apache-airflow==(\S+)$", lock, re.M).group(1)
    python = re.search(r"^FROM apache/airflow:(\S+)-python(\S+)$", dockerfile, re.M)
    assert python and python.group(1) == airflow
    assert python.group(2) == "3.11"
    assert "pip install --no-cache-dir -r /opt/datafactory/requirements.lock" in dockerfile
    ignore = (REPO / "docker" / "airflow" / "Dockerfile.dockerignore").read_text().splitlines()
    assert ignore[ignore.index("*") + 1 :], "the build context must re-include what the image copies"
    assert "!requirements.lock" in ignore
