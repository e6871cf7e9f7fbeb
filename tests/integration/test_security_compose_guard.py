"""A placeholder or empty secret stops every production-configured service of the compose file at start,
with one line naming the variable: the services' own command lines and environments (bench/stack.py),
run on this machine."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bench.stack import STACK_DATABASES, LocalStack, load_compose, local_values

pytestmark = pytest.mark.integration

PROJECT_SERVICES = sorted(n for n, s in load_compose()["services"].items() if s.get("build"))


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> LocalStack:
    home = tmp_path_factory.mktemp("guard")
    values = local_values(
        databases={k: f"never_created_{k.lower()}" for k in STACK_DATABASES}, home=home, s3_port=9, redis_db=0
    )
    return LocalStack(values, home)


def _start(stack: LocalStack, service: str, overrides: dict[str, str]) -> subprocess.CompletedProcess:
    env = stack.env_for(service, service, overrides)
    return subprocess.run(
        stack.command(service, overrides), env=env, capture_output=True, text=True, timeout=120, cwd=stack.home
    )


# The variable each service is given the placeholder for, and the name it has inside the service.
CASES = {
    "airflow-init": ("AIRFLOW_ADMIN_PASSWORD", "AIRFLOW_ADMIN_PASSWORD"),
    "airflow-apiserver": ("AIRFLOW_JWT_SECRET", "AIRFLOW__API_AUTH__JWT_SECRET"),
    "airflow-scheduler": ("DATAFACTORY_PSEUDONYM_KEY", "DATAFACTORY_PSEUDONYM_KEY"),
    "airflow-dag-processor": ("AIRFLOW_FERNET_KEY", "AIRFLOW__CORE__FERNET_KEY"),
    "airflow-triggerer": ("MLFLOW_FACTORY_PASSWORD", "MLFLOW_TRACKING_PASSWORD"),
    "airflow-worker": ("DATAFACTORY_SM4_KEY", "DATAFACTORY_SM4_KEY"),
    "upstream-platform": ("DATAFACTORY_API_SECRET", "DATAFACTORY_API_SECRET"),
    "product-api": ("DATAFACTORY_SERVING_SECRET", "DATAFACTORY_SERVING_SECRET"),
    "mlflow": ("MLFLOW_S3_SECRET_KEY", "AWS_SECRET_ACCESS_KEY"),
}


def test_every_project_service_has_a_case():
    assert sorted(CASES) == PROJECT_SERVICES


@pytest.mark.parametrize("service", sorted(CASES))
@pytest.mark.parametrize("value", ["change-me-secret", ""])
def test_a_placeholder_or_empty_secret_stops_the_service_at_start_with_one_line(stack, service, value):
    variable, inside = CASES[service]
    done = _start(stack, service, {variable: value})
    assert done.returncode == 78, (service, done.stdout[-500:], done.stderr[-1500:])
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: refusing to start "), lines
    assert inside in lines[0]
    assert ("is a placeholder" if value else "is empty") in lines[0]


def test_a_placeholder_postgres_password_inside_a_database_url_is_refused_too(stack):
    done = _start(stack, "airflow-scheduler", {"POSTGRES_PASSWORD": "change-me-postgres"})
    assert done.returncode == 78
    assert "embeds a placeholder secret" in done.stderr and "change-me-postgres" not in done.stderr


def test_the_example_env_file_as_shipped_starts_nothing(stack):
    from tests.integration.test_compose_file import SECRETS

    lines = (Path(__file__).resolve().parents[2] / ".env.example").read_text().splitlines()
    example = dict(line.split("=", 1) for line in lines if line.strip() and not line.startswith("#"))
    shipped = {k: example[k] for k in SECRETS}
    for service in CASES:
        done = _start(stack, service, shipped)
        assert done.returncode == 78, service
