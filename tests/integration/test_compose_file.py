"""The production compose file's structure, checked without a Docker engine (PyYAML, as compose reads it)."""

from __future__ import annotations

import json
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
    assert project == AIRFLOW | {"mlflow", "upstream-platform", "product-api"}
    assert compose["services"]["postgres"]["image"].startswith("postgres:")
    assert compose["services"]["redis"]["image"].startswith("redis:")
    assert compose["services"]["minio"]["image"].startswith("minio/minio:")
    # minio-init runs the MinIO client (`mc`) of the MinIO image itself.
    assert compose["services"]["minio-init"]["image"] == compose["services"]["minio"]["image"]


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
    guard = "python -m datafactory.secrets"
    assert commands == {
        "airflow-init": f"{guard} bash /opt/datafactory/docker/airflow/init.sh",
        "airflow-apiserver": f"{guard} airflow api-server",
        "airflow-scheduler": f"{guard} airflow scheduler",
        "airflow-dag-processor": f"{guard} airflow dag-processor",
        "airflow-triggerer": f"{guard} airflow triggerer",
        "airflow-worker": [
            *guard.split(),
            "bash",
            "-c",
            'exec airflow celery worker --celery-hostname "celery@$${HOSTNAME}"',
        ],
    }


def test_workers_scale_out(compose):
    worker = compose["services"]["airflow-worker"]
    assert worker["deploy"]["replicas"] == "${AIRFLOW_WORKER_REPLICAS:-2}"
    assert "container_name" not in worker and "hostname" not in worker  # either would block --scale
    assert not worker.get("ports"), "a published port would clash between replicas"


def test_mlflow_runs_its_basic_auth_app_on_postgres_and_proxies_s3_artifacts(compose):
    services = compose["services"]
    command = services["mlflow"]["command"]
    assert command.startswith("python /opt/datafactory/docker/mlflow/serve.py mlflow server --app-name basic-auth")
    assert "--backend-store-uri postgresql+psycopg2://" in command
    assert "--serve-artifacts --artifacts-destination s3://${MLFLOW_BUCKET:-mlflow}/artifacts" in command
    assert "--no-serve-artifacts" not in command
    env = services["mlflow"]["environment"]
    assert env["MLFLOW_AUTH_DB_URI"].startswith("postgresql+psycopg2://")
    assert env["MLFLOW_AUTH_DB_URI"].endswith("/${MLFLOW_AUTH_DB:-mlflow_auth}")
    for user, password in (
        ("MLFLOW_AUTH_ADMIN_USERNAME", "MLFLOW_AUTH_ADMIN_PASSWORD"),
        ("MLFLOW_FACTORY_USER", "MLFLOW_FACTORY_PASSWORD"),
        ("MLFLOW_MODELLER_USER", "MLFLOW_MODELLER_PASSWORD"),
    ):
        assert env[user] and re.fullmatch(r"\$\{[A-Z_]+\}", env[password]), password  # no default password
    assert (REPO / "docker" / "mlflow" / "serve.py").is_file()
    for name in AIRFLOW | {"upstream-platform", "product-api"}:
        env = services[name]["environment"]
        assert env["MLFLOW_TRACKING_USERNAME"] == "${MLFLOW_FACTORY_USER:-datafactory}", name
        assert env["MLFLOW_TRACKING_PASSWORD"] == "${MLFLOW_FACTORY_PASSWORD}", name


# Each service's MinIO user (its AWS_* variables) and what its policy allows.
STORAGE_USERS = {
    "airflow": ("${AIRFLOW_S3_ACCESS_KEY}", "${AIRFLOW_S3_SECRET_KEY}"),
    "mlflow": ("${MLFLOW_S3_ACCESS_KEY}", "${MLFLOW_S3_SECRET_KEY}"),
    "product-api": ("${PRODUCT_API_S3_ACCESS_KEY}", "${PRODUCT_API_S3_SECRET_KEY}"),
}


def test_least_privilege_storage_each_service_its_own_minio_user_and_only_the_init_job_holds_root(compose):
    services = compose["services"]
    for name, service in services.items():
        text = json.dumps(service)
        holds_root = "MINIO_ROOT_USER" in text or "MINIO_ROOT_PASSWORD" in text
        assert holds_root == (name in {"minio", "minio-init"}), name
    user_of = {name: "airflow" for name in AIRFLOW | {"upstream-platform"}} | {
        "mlflow": "mlflow",
        "product-api": "product-api",
    }
    for name, user in user_of.items():
        env = services[name]["environment"]
        assert (env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]) == STORAGE_USERS[user], name
        assert env["MLFLOW_S3_ENDPOINT_URL"] == "http://${MINIO_HOST:-minio}:${MINIO_PORT:-9000}", name
    init = services["minio-init"]
    assert init["entrypoint"] == ["/bin/sh", "/opt/datafactory/docker/minio/init.sh"]
    assert "./docker:/opt/datafactory/docker:ro" in init["volumes"]
    for access, secret in STORAGE_USERS.values():
        assert init["environment"][access.strip("${}")] == access
        assert init["environment"][secret.strip("${}")] == secret


def _policy(name: str) -> dict[str, set[str]]:
    """What a policy allows: resource -> actions, with the buckets as minio-init fills them in."""
    text = (REPO / "docker" / "minio" / "policies" / f"{name}.json").read_text()
    text = text.replace("${MLFLOW_BUCKET}", "mlflow").replace("${PRODUCTS_BUCKET}", "products")
    allowed: dict[str, set[str]] = {}
    for statement in json.loads(text)["Statement"]:
        assert statement["Effect"] == "Allow"
        for resource in statement["Resource"]:
            allowed.setdefault(resource, set()).update(statement["Action"])
    return allowed


def test_each_minio_policy_allows_only_what_its_service_needs():
    listing = {"s3:ListBucket", "s3:GetBucketLocation"}
    assert _policy("airflow") == {
        "arn:aws:s3:::products": listing,
        "arn:aws:s3:::products/*": {"s3:GetObject", "s3:PutObject"},
    }
    assert _policy("mlflow") == {
        "arn:aws:s3:::mlflow": listing,
        "arn:aws:s3:::mlflow/*": {"s3:GetObject", "s3:PutObject", "s3:DeleteObject"},
    }
    assert _policy("product-api") == {
        "arn:aws:s3:::products": listing,
        "arn:aws:s3:::products/*": {"s3:GetObject"},
    }


def test_minio_init_creates_the_buckets_and_one_user_and_policy_per_service_with_mc():
    script = (REPO / "docker" / "minio" / "init.sh").read_text()
    assert script.startswith("#!/bin/sh\n")
    assert 'mc alias set root "${MINIO_URL:?set MINIO_URL}" "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD"' in script
    assert 'mc mb --ignore-existing "root/${MLFLOW_BUCKET:?}" "root/${PRODUCTS_BUCKET:?}"' in script
    for verb in ('mc admin policy create root "$policy"', 'mc admin user add root "$2" "$3"'):
        assert verb in script
    assert 'mc admin policy attach root "$policy" --user "$2"' in script
    grants = re.findall(r"^grant (\S+) \"\$(\w+)\" \"\$(\w+)\"$", script, re.M)
    assert {g[0]: (f"${{{g[1]}}}", f"${{{g[2]}}}") for g in grants} == STORAGE_USERS
    assert {p.stem for p in (REPO / "docker" / "minio" / "policies").glob("*.json")} == set(STORAGE_USERS)
    import subprocess

    assert subprocess.run(["sh", "-n", str(REPO / "docker" / "minio" / "init.sh")]).returncode == 0


def test_airflow_uses_the_fab_auth_manager_and_init_creates_one_user_per_role(compose):
    services = compose["services"]
    fab = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"
    for name in AIRFLOW | {"upstream-platform", "product-api"}:
        assert services[name]["environment"]["AIRFLOW__CORE__AUTH_MANAGER"] == fab, name
    assert "SimpleAuthManager" not in COMPOSE_FILE.read_text()
    init = services["airflow-init"]["environment"]
    for role in ("ADMIN", "OPERATOR", "REVIEWER"):
        assert init[f"AIRFLOW_{role}_USER"].startswith(f"${{AIRFLOW_{role}_USER:-")
        assert init[f"AIRFLOW_{role}_PASSWORD"] == f"${{AIRFLOW_{role}_PASSWORD}}"
    users = (REPO / "docker" / "airflow" / "create_users.py").read_text()
    for role, variable in (("Admin", "ADMIN"), ("Op", "OPERATOR"), ("Viewer", "REVIEWER")):
        assert f'("{role}", "AIRFLOW_{variable}_USER", "AIRFLOW_{variable}_PASSWORD")' in users
    lock = (REPO / "requirements.lock").read_text()
    assert re.search(r"^apache-airflow-providers-fab==3\.", lock, re.M)
    assert re.search(r"^flask-wtf==", lock, re.M)  # mlflow[auth]: the basic-auth app's forms


def test_every_project_service_starts_through_the_secrets_guard(compose):
    for name, service in compose["services"].items():
        if not service.get("build"):
            continue
        command = service["command"]
        words = command if isinstance(command, list) else command.split()
        guarded = words[:3] == ["python", "-m", "datafactory.secrets"]
        assert guarded or words[:2] == ["python", "/opt/datafactory/docker/mlflow/serve.py"], name
        assert service["environment"]["DATAFACTORY_ENV"] == "production", name


def test_postgres_creates_one_database_per_concern(compose):
    postgres = compose["services"]["postgres"]
    names = interpolate(postgres["environment"]["DATAFACTORY_DATABASES"], {}).split()
    assert names == ["airflow", "mlflow", "mlflow_auth", "datafactory", "exchange"]
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


SECRETS = (
    "POSTGRES_PASSWORD",
    "MINIO_ROOT_PASSWORD",
    "AIRFLOW_JWT_SECRET",
    "AIRFLOW_API_SECRET_KEY",
    "AIRFLOW_FERNET_KEY",
    "AIRFLOW_ADMIN_PASSWORD",
    "AIRFLOW_OPERATOR_PASSWORD",
    "AIRFLOW_REVIEWER_PASSWORD",
    "DATAFACTORY_PSEUDONYM_KEY",
    "DATAFACTORY_SM4_KEY",
    "DATAFACTORY_API_SECRET",
    "DATAFACTORY_SERVING_SECRET",
    "MLFLOW_ADMIN_PASSWORD",
    "MLFLOW_FACTORY_PASSWORD",
    "MLFLOW_MODELLER_PASSWORD",
    "MLFLOW_FLASK_SECRET_KEY",
    "AIRFLOW_S3_SECRET_KEY",
    "MLFLOW_S3_SECRET_KEY",
    "PRODUCT_API_S3_SECRET_KEY",
)


def test_secrets_have_no_usable_defaults_in_the_compose_file():
    text = COMPOSE_FILE.read_text()
    for secret in SECRETS:
        assert f"${{{secret}}}" in text
        assert not re.search(rf"\$\{{{secret}:?-", text), f"{secret} must come from .env, not a default"


def test_every_secret_in_env_example_is_a_placeholder_the_services_refuse(env_example):
    from datafactory.secrets import problem

    for secret in SECRETS:
        assert "change-me" in env_example[secret], secret  # never a usable value in the repository
        name = {"AIRFLOW_FERNET_KEY": "AIRFLOW__CORE__FERNET_KEY"}.get(secret, secret)
        assert problem(name, env_example[secret]), secret


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
