"""Celery settings for the Airflow workers (`[celery] celery_config_options`): Airflow's defaults, plus
the conform tasks' heavy imports done once in the worker's main process, before it forks its pool.

Airflow's supervisor runs each task in a process forked from a pool process, so a task starts with
pandas, pyarrow and GE already imported instead of importing them again (seconds a task, paid by each
of the ~150 mapped conform tasks of a day). Training's libraries are left out: LightGBM's OpenMP runtime
is not safe to use in a child forked after it started."""

from __future__ import annotations

import importlib
from typing import Any

from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG
from celery.signals import worker_init

CELERY_CONFIG: dict[str, Any] = dict(DEFAULT_CELERY_CONFIG)

PRELOADED = (
    "pandas",
    "pyarrow.parquet",
    "great_expectations",
    "datafactory.airflow.factory",
    "datafactory.airflow.tasks",
    "datafactory.quality.conform",
    "datafactory.quality.runner",
    "datafactory.partitioning.regions",
    "datafactory.sources",
)


@worker_init.connect
def preload_task_imports(**_: Any) -> None:
    """Runs in the worker's main process only (the scheduler loads this module too, and imports nothing)."""
    for name in PRELOADED:
        importlib.import_module(name)
