"""Feeds pulled at once under a scheduler stay within their platform's declared connection limit: each
pull task runs in its platform's Airflow pool (slots = the platform's connections) and takes as many
slots as it opens connections; airflow-init creates the pools idempotently; nonsense limits are
rejected where the specs are checked, and feeds disagreeing on one platform's limit stop the DAG."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa

from datafactory.specs import load_sources
from datafactory.specs.check import check_repo
from tests.conftest import REPO, VENV_BIN

pytestmark = pytest.mark.integration
SPEC_FOLDERS = ("sources", "expectations", "models", "products")


def _dagbag(monkeypatch: pytest.MonkeyPatch, repo: Path):
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("DATAFACTORY_REPO", str(repo))
    return DagBag(dag_folder=str(REPO / "dags"))


def _copy(tmp_path: Path) -> Path:
    for folder in SPEC_FOLDERS:
        shutil.copytree(REPO / folder, tmp_path / folder)
    return tmp_path


def _edit(repo: Path, feed: str, old: str, new: str) -> None:
    path = repo / "sources" / f"{feed}.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_each_pull_runs_in_its_platforms_pool_with_as_many_slots_as_it_opens_connections(monkeypatch):
    from datafactory.airflow.factory import INGEST_DAG, pools

    specs = load_sources(REPO)
    bag = _dagbag(monkeypatch, REPO)
    assert bag.import_errors == {}
    ingest = bag.dags[INGEST_DAG]
    for name, spec in specs.items():
        pull = ingest.get_task(f"{name}.pull")
        assert (pull.pool, pull.pool_slots) == (spec.platform.pool, spec.pull_connections), name
    api = {n: s for n, s in specs.items() if s.channel == "api"}
    assert {s.platform.pool for s in api.values()} == {"platform_sharing_platform"}
    assert (
        ingest.get_task("med_visits.pull").pool_slots == 4 and ingest.get_task("weather_monthly.pull").pool_slots == 1
    )
    declared = {s.platform.pool: s.platform.connections for s in specs.values()}
    assert {name: slots for name, (slots, _) in pools(specs).items()} == declared
    for task in ingest.tasks:  # only pulls open upstream connections
        if not task.task_id.endswith(".pull"):
            assert task.pool == "default_pool", task.task_id


def test_feeds_giving_one_platform_two_limits_stop_the_dag(monkeypatch, tmp_path):
    repo = _copy(tmp_path)
    _edit(repo, "weather_monthly", "connections: 4}", "connections: 6}")
    bag = _dagbag(monkeypatch, repo)
    assert any("platform 'sharing_platform'" in error for error in bag.import_errors.values()), bag.import_errors


@pytest.mark.parametrize(
    ("old", "new", "finding"),
    [
        ("concurrency: 4 ", "concurrency: 0 ", "greater than or equal to 1"),
        ("concurrency: 4 ", "concurrency: 5 ", "options.concurrency: 5 exceeds the 4 connection(s)"),
        ("connections: 4}", "connections: 33}", "platform.connections: Input should be less than or equal to 32"),
        ("name: sharing_platform,", "name: Sharing Platform,", "platform.name: String should match pattern"),
    ],
)
def test_check_rejects_a_nonsense_limit(tmp_path, old, new, finding):
    repo = _copy(tmp_path)
    _edit(repo, "med_visits", old, new)
    findings = check_repo(repo, expectations=False).findings
    assert any("sources/med_visits.yaml" in f and finding in f for f in findings), findings


def test_airflow_init_creates_the_pools_and_a_changed_limit_updates_them(tmp_path):
    repo = _copy(tmp_path / "repo")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "DATAFACTORY_"))}
    env |= {
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{tmp_path}/airflow.db",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "DATAFACTORY_REPO": str(repo),
        "DATAFACTORY_HOME": str(tmp_path / "var"),
    }

    def run(*command: str) -> str:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    def slots() -> dict[str, int]:
        engine = sa.create_engine(f"sqlite:///{tmp_path}/airflow.db")
        with engine.connect() as conn:
            found = dict(conn.execute(sa.text("SELECT pool, slots FROM slot_pool WHERE pool LIKE 'platform_%'")).all())
        engine.dispose()
        return found

    script = str(REPO / "docker" / "airflow" / "create_pools.py")
    run(str(VENV_BIN / "airflow"), "db", "migrate")
    assert "platform_sharing_platform: 4 slot(s)" in run(str(VENV_BIN / "python"), script)
    assert slots() == {"platform_sharing_platform": 4, "platform_exchange_db": 4, "platform_landing": 4}
    for feed in ("med_visits", "med_claims", "uw_decisions", "sup_suppliers", "weather_monthly"):
        _edit(repo, feed, "connections: 4}", "connections: 6}")
    run(str(VENV_BIN / "python"), script)
    assert slots() == {"platform_sharing_platform": 6, "platform_exchange_db": 4, "platform_landing": 4}
