"""Proof, on both backends (a local directory and S3 on a loopback moto server, through real HTTP):
a crash between data and manifest leaves no version; concurrent publishers never share a version;
verify catches tampering; rollback moves `latest` back and deletes nothing; planted canaries are
caught by the output review and nothing of that product reaches the store.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import boto3
import pandas as pd
import pytest

from datafactory.domain.identifiers import make_uscc
from datafactory.products.pipeline import ProductRejectedError, ProductRun, build, publish, review, validate
from datafactory.products.store import ObjectStore, open_store
from datafactory.products.verify import MISSING, OK, TAMPERED, verify_version
from datafactory.products.versioning import (
    APPROVED,
    REJECTED,
    history,
    latest_version,
    list_versions,
    manifest_key,
    move_latest,
    publish_version,
    read_manifest,
    record_decision,
)
from datafactory.settings import load_settings
from datafactory.sources.pseudonymize import pseudonym
from datafactory.specs import ProductSpec
from tests.conftest import REPO, VENV_BIN, run_cli

pytestmark = pytest.mark.integration
PRODUCT = "demo_product"
AWS_ENV = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto's S3 in server mode, as its own process on loopback."""
    port = _free_port()
    server = subprocess.Popen(
        [str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1)
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise RuntimeError("moto_server did not start within 30 s") from None
            time.sleep(0.1)
    yield endpoint
    server.terminate()
    server.wait(timeout=10)


@dataclass(frozen=True)
class Backend:
    name: str
    url: str
    endpoint: str | None
    store: ObjectStore

    def env(self) -> dict[str, str]:
        env = {**AWS_ENV, "DATAFACTORY_STORE_URL": self.url}
        if self.endpoint:
            env["DATAFACTORY_S3_ENDPOINT_URL"] = self.endpoint
        return env


@pytest.fixture(params=["local", "s3"])
def backend(request, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Backend:
    for key, value in AWS_ENV.items():
        monkeypatch.setenv(key, value)
    if request.param == "local":
        url, endpoint = str(tmp_path / "store"), None
    else:
        endpoint = request.getfixturevalue("moto_endpoint")
        bucket = f"products-{uuid.uuid4().hex[:12]}"
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=bucket)
        url = f"s3://{bucket}/factory"
    return Backend(request.param, url, endpoint, open_store(url, endpoint))


def _publish(store: ObjectStore, payload: bytes, day: str = "2026-11-01") -> int:
    fields = {"publisher": "test", "logical_date": day, "row_count": 1}
    return publish_version(store, PRODUCT, {"data.bin": payload}, fields, {"payload": payload.hex()}).version


def _approve(store: ObjectStore, version: int) -> None:
    record_decision(store, PRODUCT, version, APPROVED, "tester")
    move_latest(store, PRODUCT, version, "approve", "tester", "test")


def _child(backend: Backend, code: str, extra_env: dict[str, str] | None = None) -> subprocess.Popen:
    """A separate publisher process on the same store."""
    env = {**os.environ, **backend.env(), **(extra_env or {})}
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_crash_between_data_and_manifest_leaves_no_version(backend: Backend):
    store = backend.store
    _approve(store, _publish(store, b"version one"))
    crash = """
        import os
        from datafactory.products.store import open_store
        from datafactory.products.versioning import publish_version

        store = open_store(os.environ["DATAFACTORY_STORE_URL"], os.environ.get("DATAFACTORY_S3_ENDPOINT_URL"))
        conditional_put = store.put_if_absent

        def crash_before_manifest(key, data):
            if key.endswith("manifest.json"):
                os._exit(3)  # the process dies after its data, before its manifest
            return conditional_put(key, data)

        store.put_if_absent = crash_before_manifest
        publish_version(store, "demo_product", {"data.bin": b"half published"}, {}, {"payload": "crash"})
    """
    child = _child(backend, crash)
    child.wait(timeout=120)
    assert child.returncode == 3, child.stderr.read()

    left_behind = store.list(f"{PRODUCT}/v2/")
    assert left_behind and not any(k.endswith("manifest.json") for k in left_behind)  # data landed, no manifest
    assert list_versions(store, PRODUCT) == [1]
    assert latest_version(store, PRODUCT) == 1
    assert verify_version(store, PRODUCT, 1).ok

    assert _publish(store, b"version two") == 2  # the number was never taken
    check = verify_version(store, PRODUCT, 2)
    assert check.ok
    assert [f.path for f in check.files] == [read_manifest(store, PRODUCT, 2)["files"][0]["path"]]
    assert len(check.unreferenced) == 1  # the crashed publisher's data: reported, never part of v2


def test_concurrent_publishers_never_share_a_version(backend: Backend):
    writers, each = 4, 3
    race = """
        import json, os, time
        from datafactory.products.store import open_store
        from datafactory.products.versioning import publish_version

        store = open_store(os.environ["DATAFACTORY_STORE_URL"], os.environ.get("DATAFACTORY_S3_ENDPOINT_URL"))
        writer = os.environ["WRITER"]
        time.sleep(max(0.0, float(os.environ["START_AT"]) - time.time()))  # all start together
        claimed = {}
        for i in range(int(os.environ["EACH"])):
            payload = f"{writer}-{i}".encode()
            published = publish_version(store, "demo_product", {"data.bin": payload}, {}, {"payload": payload.hex()})
            claimed[payload.decode()] = published.version
        print(json.dumps(claimed))
    """
    start_at = str(time.time() + 4)  # after every child has imported boto3 and pandas
    children = [
        _child(backend, race, {"WRITER": f"w{w}", "START_AT": start_at, "EACH": str(each)}) for w in range(writers)
    ]
    claimed: dict[str, int] = {}
    for child in children:
        out, err = child.communicate(timeout=300)
        assert child.returncode == 0, err[-3000:]
        claimed.update(json.loads(out.strip().splitlines()[-1]))

    store = backend.store
    assert len(claimed) == writers * each
    assert sorted(claimed.values()) == list(range(1, writers * each + 1))  # one publisher per number, no gaps
    assert list_versions(store, PRODUCT) == list(range(1, writers * each + 1))
    for payload, version in claimed.items():
        manifest = read_manifest(store, PRODUCT, version)
        (entry,) = manifest["files"]
        assert store.get(f"{PRODUCT}/v{version}/{entry['path']}") == payload.encode()
        assert verify_version(store, PRODUCT, version).ok


def test_verify_catches_a_tampered_file_a_missing_file_and_an_edited_manifest(backend: Backend, tmp_path: Path):
    store = backend.store
    for n in (1, 2, 3):
        _approve(store, _publish(store, f"payload {n}".encode()))
    v1_file = f"{PRODUCT}/v1/{read_manifest(store, PRODUCT, 1)['files'][0]['path']}"
    store.put(v1_file, b"payload 1, quietly changed")  # someone with write access to the bucket
    v2_file = f"{PRODUCT}/v2/{read_manifest(store, PRODUCT, 2)['files'][0]['path']}"
    if backend.name == "local":
        Path(backend.url, v2_file).unlink()
    else:
        bucket, prefix = backend.url.removeprefix("s3://").split("/", 1)
        boto3.client("s3", endpoint_url=backend.endpoint).delete_object(Bucket=bucket, Key=f"{prefix}/{v2_file}")
    edited = read_manifest(store, PRODUCT, 3)
    edited["row_count"] = 999
    store.put(manifest_key(PRODUCT, 3), json.dumps(edited).encode())

    assert [f.status for f in verify_version(store, PRODUCT, 1).files] == [TAMPERED]
    assert [f.status for f in verify_version(store, PRODUCT, 2).files] == [MISSING]
    assert verify_version(store, PRODUCT, 3).manifest == TAMPERED
    assert [f.status for f in verify_version(store, PRODUCT, 3).files] == [OK]

    env = {"DATAFACTORY_HOME": str(tmp_path / "var"), **backend.env()}
    result = run_cli(["products", "verify", PRODUCT], env, timeout=300)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "v1" in result.stdout and "tampered" in result.stdout and "missing" in result.stdout
    assert "3 of 3 versions failed" in result.stdout.replace("\n", " ")


def test_rollback_moves_latest_back_deletes_nothing_and_refuses_unapproved_versions(backend: Backend, tmp_path: Path):
    store = backend.store
    for n in (1, 2, 3):
        _approve(store, _publish(store, f"payload {n}".encode()))
    rejected = _publish(store, b"payload 4")
    record_decision(store, PRODUCT, rejected, REJECTED, "reviewer")
    assert latest_version(store, PRODUCT) == 3

    env = {"DATAFACTORY_HOME": str(tmp_path / "var"), **backend.env()}
    done = run_cli(["products", "rollback", PRODUCT, "2", "--reason", "v3 scores drifted"], env, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert latest_version(store, PRODUCT) == 2
    assert list_versions(store, PRODUCT) == [1, 2, 3, 4]  # nothing deleted
    assert all(verify_version(store, PRODUCT, v).ok for v in (1, 2, 3, 4))
    last = history(store, PRODUCT)[-1]
    assert (last["action"], last["from"], last["to"], last["reason"]) == ("rollback", 3, 2, "v3 scores drifted")

    refused = run_cli(["products", "rollback", PRODUCT, str(rejected)], env, timeout=300)
    assert refused.returncode == 1 and "rejected" in refused.stderr
    unknown = run_cli(["products", "rollback", PRODUCT, "9"], env, timeout=300)
    assert unknown.returncode == 1 and "no version 9" in unknown.stderr
    assert latest_version(store, PRODUCT) == 2


# --- Output review with planted canaries: a product that leaks is not published, on either backend ---

DAY = date(2026, 11, 1)
REP_NAMES = ["张伟", "李娜", "王芳", "刘洋", "陈静", "杨磊"]
CANARY_KEY = "canary-test-key"
CLEAN_SQL = """
SELECT uscc, industry, CASE WHEN uscc = (SELECT min(uscc) FROM ent_registry) THEN {canary} ELSE 'clean' END AS note,
       count(*) OVER (PARTITION BY industry) AS peers,
       CASE WHEN count(*) OVER (PARTITION BY industry) >= $k THEN 1.0 END AS peer_metric
FROM ent_registry ORDER BY uscc
"""
# Suppression forgotten: the two-firm industry's peer figure is published.
SMALL_GROUP_SQL = CLEAN_SQL.replace("CASE WHEN count(*) OVER (PARTITION BY industry) >= $k THEN 1.0 END", "1.0")


def _registry() -> pd.DataFrame:
    """A conformed registry as ingest leaves it: personal fields are keyed pseudonyms."""
    key = CANARY_KEY.encode()
    rows = []
    for i in range(12):
        rep = REP_NAMES[i % len(REP_NAMES)]
        rows.append(
            {
                "uscc": make_uscc("330281", f"{i + 1:08d}"),
                "name": f"余姚市测试{i}贸易有限公司",
                "legal_rep_id": pseudonym(f"3302811980010{i:04d}", key),
                "legal_rep_name": pseudonym(rep, key),
                "legal_rep_phone": pseudonym(f"1381234{i:04d}", key),
                "industry": "software" if i < 2 else "retail",  # a two-firm peer group
                "region_code": "330281",
                "address": f"阳明街道{i + 1}号",
            }
        )
    return pd.DataFrame(rows)


CANARIES = {  # planted value -> the review check that must catch it
    "resident_id": ("360426199101010071", "resident_id"),
    "resident_id_in_text": ("申请人 34052419800101001X 已核验", "resident_id"),
    "mobile": ("13812345678", "mobile"),
    "mobile_in_text": ("联系电话:+8613912345678", "mobile"),
    "registry_person_name": ("王芳", "person_name"),
    "personal_pseudonym": (None, "pseudonym"),  # filled with a real pseudonym from the registry
    "sm4_token": ("sm4gcm:AAECAwQFBgcICQoLDA0ODw", "encrypted"),
    "company_name": ("余姚市测试3贸易有限公司", "company_name"),
    "registry_address": ("阳明街道4号", "address"),
    "address_shape": ("梨洲街道兰江路88号", "address"),
}


@pytest.fixture
def product_settings(backend: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A factory home with a conformed registry, and a repo holding what the review reads."""
    repo = tmp_path / "repo"
    (repo / "sources").mkdir(parents=True)
    shutil.copy(REPO / "sources" / "ent_registry.yaml", repo / "sources")
    (repo / "products" / "review").mkdir(parents=True)
    shutil.copy(REPO / "products" / "review" / "dictionaries.yaml", repo / "products" / "review")
    (repo / "expectations").mkdir()
    suite = {
        "name": "product_canary",
        "expectations": [
            {
                "type": "expect_table_row_count_to_be_between",
                "kwargs": {"min_value": 1},
                "meta": {"severity": "critical"},
            },
            {
                "type": "expect_column_values_to_be_unique",
                "kwargs": {"column": "uscc"},
                "meta": {"severity": "critical"},
            },
        ],
    }
    (repo / "expectations" / "product_canary.json").write_text(json.dumps(suite))
    home = tmp_path / "var"
    conformed = home / "conformed" / "ent_registry" / f"ds={DAY.isoformat()}.parquet"
    conformed.parent.mkdir(parents=True)
    _registry().to_parquet(conformed, index=False)
    for key, value in {
        **backend.env(),
        "DATAFACTORY_REPO": str(repo),
        "DATAFACTORY_HOME": str(home),
        "DATAFACTORY_PSEUDONYM_KEY": CANARY_KEY,
    }.items():
        monkeypatch.setenv(key, value)
    return load_settings()


def _canary_product(sql: str) -> ProductSpec:
    raw = {
        "name": "canary",
        "kind": "sql_aggregate",
        "description": "a product with something planted in it",
        "owner": "tests",
        "audience": ["nobody"],
        "authorized_for": "testing",
        "inputs": ["ent_registry"],
        "refresh": "@daily",
        "key": "uscc",
        "output": sql,
        "schema": {"uscc": "string", "industry": "string", "note": "string", "peers": "int", "peer_metric": "float"},
        "pii_policy": {"k": 5, "groups": [{"size_column": "peers", "columns": ["peer_metric"]}]},
        "suite": "product_canary",
    }
    return ProductSpec.model_validate(raw)


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@pytest.mark.parametrize("canary", [*CANARIES, "small_group"])
def test_review_catches_each_planted_canary_and_nothing_is_published(backend: Backend, product_settings, canary: str):
    if canary == "small_group":
        sql, check, planted = SMALL_GROUP_SQL.format(canary="'clean'"), "small_group", None
    else:
        planted, check = CANARIES[canary]
        planted = planted or _registry()["legal_rep_id"].iloc[5]
        sql = CLEAN_SQL.format(canary=_literal(planted))
    run = ProductRun(product_settings, _canary_product(sql), DAY, f"canary-{canary}")
    build(run)
    validate(run)
    with pytest.raises(ProductRejectedError, match="not published"):
        review(run)
    with pytest.raises(ProductRejectedError, match="refusing to publish"):
        publish(run, "test")

    assert backend.store.list("canary/") == []  # no data, no manifest, no latest
    report_text = run.report_path.read_text()
    report = json.loads(report_text)
    assert report["status"] == "rejected"
    assert check in {f["check"] for f in report["review"]["findings"]}, report["review"]["findings"]
    assert report["reasons"] and all(r.startswith("review: ") for r in report["reasons"])
    if planted:
        assert planted not in report_text  # the report says where, never what


def test_a_clean_product_passes_review_and_publishes_on_both_backends(backend: Backend, product_settings):
    # An 18-digit string with the wrong check character is shaped like an ID but is not one.
    sql = CLEAN_SQL.format(canary=_literal("360426199101010072"))
    run = ProductRun(product_settings, _canary_product(sql), DAY, "clean")
    build(run)
    validate(run)
    assert review(run)["passed"] is True
    published = publish(run, "test")
    assert published["version"] == 1 and not published["reused"]
    manifest = read_manifest(backend.store, "canary", 1)
    assert manifest["review"]["passed"] is True and manifest["spec"]["pii_policy"]["k"] == 5
    table = pd.read_parquet(io.BytesIO(backend.store.get(f"canary/v1/{manifest['files'][0]['path']}")))
    assert table["peer_metric"].isna().sum() == 2  # the two-firm industry's figure is withheld
    assert verify_version(backend.store, "canary", 1).ok
    assert latest_version(backend.store, "canary") is None  # published, not yet approved
    assert json.loads(run.report_path.read_text())["status"] == "published"
