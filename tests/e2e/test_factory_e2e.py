"""The whole anti-fraud chain through real Airflow DAG runs, twice, plus a rerun of day one."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from datafactory.domain.identifiers import is_mobile, is_valid_resident_id

pytestmark = pytest.mark.e2e
PRODUCT = "anti_fraud_admission"


@pytest.fixture(scope="module")
def factory(demo) -> dict:
    return demo


def _manifest(home: Path, version: int) -> dict:
    return json.loads((home / "products" / PRODUCT / f"v{version}" / "manifest.json").read_text())


def test_each_run_succeeds_and_prints_where_to_look(factory):
    for run in factory["runs"]:
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    first, second, _ = (r.stdout for r in factory["runs"])
    assert "Quality report:" in first and "datafactory ui" in first
    assert f"Product {PRODUCT}: latest v1" in first and f"Product {PRODUCT}: latest v2" in second


def test_two_days_publish_two_versions_and_a_rerun_publishes_nothing(factory):
    state = factory["after_rerun"][PRODUCT]  # as the three runs left it (a later module restates day one)
    assert sorted(state["manifests"]) == [1, 2]
    assert state["latest"] == 2
    assert [_manifest(factory["home"], v)["logical_date"] for v in (1, 2)] == ["2026-11-01", "2026-11-02"]


def test_manifest_is_complete_and_hashes_match(factory):
    home = factory["home"]
    manifest = _manifest(home, 2)
    for key in ("version", "created_at", "row_count", "schema", "files", "inputs", "quality", "model", "review"):
        assert key in manifest, key
    assert manifest["model"]["uri"].startswith("models:/anti_fraud_admission/")
    assert manifest["inputs"]["ent_registry"]["partitions"] == ["2026-11-01", "2026-11-02"]
    assert manifest["review"]["passed"] is True
    (entry,) = manifest["files"]
    data = (home / "products" / PRODUCT / "v2" / entry["path"]).read_bytes()
    assert hashlib.sha256(data).hexdigest() == entry["sha256"]
    table = pd.read_parquet(home / "products" / PRODUCT / "v2" / entry["path"])
    assert len(table) == manifest["row_count"]
    assert list(table.columns) == ["uscc", "score", "risk_band", "model_version"]


def test_nothing_personal_is_published(factory):
    for path in (factory["home"] / "products").rglob("*.parquet"):
        table = pd.read_parquet(path)
        for column in table.columns:
            values = table[column].astype(str)
            assert not values.map(is_valid_resident_id).any(), (path, column)
            assert not values.map(is_mobile).any(), (path, column)


def test_row_accounting_holds_for_every_feed_and_run(factory):
    from datafactory.specs import load_sources
    from tests.conftest import REPO

    feeds = set(load_sources(REPO))
    paths = [p for p in (factory["home"] / "quality").glob("*/*.json") if p.stem in feeds]
    results = [json.loads(p.read_text()) for p in paths]
    assert len(results) == 2 * len(feeds)  # every feed on both days
    for r in results:
        assert r["rows_in"] == r["rows_conformed"] + r["rows_quarantined"], r["source"]
    assert sum(r["rows_quarantined"] for r in results) > 0  # the simulator injects defects


def test_quarantined_rows_say_why_and_which_run(factory):
    frames = [pd.read_parquet(p) for p in (factory["home"] / "quarantine").rglob("*.parquet")]
    rows = pd.concat([f for f in frames if len(f)], ignore_index=True)
    assert len(rows) > 0
    assert rows["_failed_expectations"].str.startswith("expect_").all()
    assert rows["_run_id"].notna().all()


def test_no_duplicate_rows_in_any_zone(factory):
    from datafactory.specs import load_sources
    from tests.conftest import REPO

    home = factory["home"]
    for name, spec in load_sources(REPO).items():
        snapshots = sorted((home / "conformed" / name).glob("ds=*.parquet"))
        assert [p.name for p in snapshots] == ["ds=2026-11-01.parquet", "ds=2026-11-02.parquet"], name
        for snapshot in snapshots:
            assert not pd.read_parquet(snapshot).duplicated(subset=spec.keys).any(), snapshot
        partitions = sorted(p.name for p in (home / "raw" / name).iterdir())
        assert partitions == ["ds=2026-11-01", "ds=2026-11-02"], name


def test_rerun_adds_no_pull_and_no_registry_churn(factory):
    home = factory["home"]
    state = sa.create_engine(f"sqlite:///{home}/state.db")
    with state.connect() as conn:
        pulls = conn.execute(sa.text("select source, logical_date, count(*) from pulls group by 1, 2")).fetchall()
    assert pulls and all(count == 1 for _, _, count in pulls)
    mlflow_db = sa.create_engine(f"sqlite:///{home}/mlflow.db")
    with mlflow_db.connect() as conn:
        versions = conn.execute(sa.text("select count(*) from model_versions where name = :n"), {"n": PRODUCT}).scalar()
        champion = conn.execute(
            sa.text("select version from registered_model_aliases where name = :n and alias = 'champion'"),
            {"n": PRODUCT},
        ).scalar()
    assert versions <= 2  # at most one per distinct training set; the rerun registered nothing
    assert champion is not None
