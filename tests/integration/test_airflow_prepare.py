"""`prepare_airflow` migrates Airflow's metadata DB (`airflow db migrate`, a process of its own) only when
it must: on a new home, when the DB was replaced or lost, and after Airflow itself changed; a daily
`datafactory run` on a migrated home skips it. The stamp file is rewritten only by a migrate, so its
modification time says whether one ran."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

_PREPARE = """
from datafactory.airflow.runs import prepare_airflow
from datafactory.settings import load_settings

prepare_airflow(load_settings())
"""


def _prepare(home: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "DATAFACTORY_"))}
    env |= {"DATAFACTORY_HOME": str(home), "DATAFACTORY_PSEUDONYM_KEY": "prepare-test-key"}
    done = subprocess.run([sys.executable, "-c", _PREPARE], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]


def _revision(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]


def test_migrate_runs_only_when_the_db_or_airflow_changed(tmp_path):
    home = tmp_path / "var"
    db, stamp = home / "airflow" / "airflow.db", home / "airflow" / "datafactory-migrated.json"

    _prepare(home)  # a new home: migrated
    first = stamp.stat().st_mtime_ns
    recorded = json.loads(stamp.read_text())
    assert recorded["revision"] == _revision(db) and recorded["airflow"]

    _prepare(home)  # nothing changed: skipped
    assert stamp.stat().st_mtime_ns == first

    db.unlink()  # the DB lost: migrated again
    _prepare(home)
    assert stamp.stat().st_mtime_ns != first and _revision(db) == recorded["revision"]

    stamp.write_text(json.dumps(recorded | {"airflow": "3.0.0"}))  # another Airflow migrated it last
    before = stamp.stat().st_mtime_ns
    _prepare(home)
    assert stamp.stat().st_mtime_ns != before and json.loads(stamp.read_text()) == recorded
