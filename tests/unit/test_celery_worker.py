"""The Celery workers' config: the scheduler loads it and imports nothing heavy; a worker's start
imports the conform tasks' libraries once, so each forked task process inherits them."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.unit

HEAVY = ["pandas", "pyarrow", "great_expectations", "datafactory.quality.conform"]


def _modules_after(code: str) -> dict[str, bool]:
    script = (
        "import json, sys\n"
        "from datafactory.airflow.celery_worker import CELERY_CONFIG\n"
        f"{code}\n"
        f"print(json.dumps({{m: m in sys.modules for m in {HEAVY!r}}}))"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=REPO)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_loading_the_config_imports_nothing_heavy_and_keeps_airflows_defaults():
    from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG

    from datafactory.airflow.celery_worker import CELERY_CONFIG

    assert CELERY_CONFIG == DEFAULT_CELERY_CONFIG
    assert _modules_after("pass") == dict.fromkeys(HEAVY, False)


def test_a_worker_start_imports_the_conform_tasks_libraries():
    assert _modules_after("from celery.signals import worker_init; worker_init.send(sender=None)") == dict.fromkeys(
        HEAVY, True
    )


def test_compose_points_the_workers_at_it():
    compose = (REPO / "docker-compose.yaml").read_text()
    assert "AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS: datafactory.airflow.celery_worker.CELERY_CONFIG" in compose
