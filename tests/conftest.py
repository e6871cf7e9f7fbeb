"""Shared fixtures. Every test must carry exactly one of the unit/integration/e2e markers."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
LEVELS = {"unit", "integration", "e2e"}
POSTGRES_ADMIN_URL = os.environ.get(
    "DATAFACTORY_TEST_POSTGRES", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
)


def pytest_configure(config: pytest.Config) -> None:
    # Airflow reads its configuration at first import: point it at a throwaway home first.
    home = Path(tempfile.mkdtemp(prefix="df-airflow-"))
    os.environ.setdefault("AIRFLOW_HOME", str(home))
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(REPO / "dags"))
    os.environ.setdefault("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", f"sqlite:///{home}/airflow.db")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    unmarked = [i.nodeid for i in items if not LEVELS & {m.name for m in i.iter_markers()}]
    if unmarked:
        raise pytest.UsageError(f"tests without a unit/integration/e2e marker: {unmarked}")


@pytest.fixture
def factory_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """An isolated embedded-default factory under tmp_path (small population)."""
    env = {
        "DATAFACTORY_HOME": str(tmp_path / "var"),
        "DATAFACTORY_ENTERPRISES": "2000",
        "DATAFACTORY_PSEUDONYM_KEY": "test-key-not-a-secret",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


@pytest.fixture
def settings(factory_env: dict[str, str]):
    from datafactory.settings import load_settings

    s = load_settings()
    s.home.mkdir(parents=True, exist_ok=True)
    return s


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh database on the local PostgreSQL, dropped afterwards."""
    import sqlalchemy as sa

    name = f"df_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        sa.create_engine(url).dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run_cli(args: list[str], env: dict[str, str], timeout: int = 2400) -> subprocess.CompletedProcess:
    """Run the installed `datafactory` command in a fresh process with its own Airflow home."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")} | env
    return subprocess.run(
        [str(VENV_BIN / "datafactory"), *args], env=full_env, capture_output=True, text=True, timeout=timeout
    )
