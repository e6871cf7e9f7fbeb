"""The product API against a real uvicorn server (its own process, `datafactory serve`) on loopback,
over a factory home whose product versions are written through the store's public functions.

Proves: the authorization matrix with exact statuses; lookups, batch, metadata with ETag/304 and
signed bulk links; no column outside the schema and no echo in error bodies; N parallel clients
leave exactly one ledger row per call; a graceful restart mid-load loses none; and the statement's
totals reconcile with the ledger.
"""

from __future__ import annotations

import csv
import hashlib
import http.client
import io
import os
import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import httpx
import pandas as pd
import pytest
import sqlalchemy as sa
import yaml

from datafactory.domain.identifiers import make_uscc
from datafactory.products.store import LocalStore
from datafactory.products.versioning import APPROVED, move_latest, publish_version, read_manifest, record_decision
from datafactory.serving.clock import china_day
from datafactory.serving.consumers import LicenseTerms, add_consumer, revoke, rotate
from datafactory.serving.tables import USAGE
from tests.conftest import VENV_BIN, run_cli

pytestmark = pytest.mark.integration

PRODUCT, OTHER, UNPUBLISHED = "demo_scores", "demo_grades", "demo_profile"
SCENARIO, OTHER_SCENARIO = "anti_fraud_admission", "medical_underwriting"
PII = "legal_rep_name"  # planted in v1's table, outside the schema: must never be served
PRICES = {
    "product": PRODUCT,
    "base_data_value": {"per_record_fen": 7},
    "processing": {"per_call_fen": 3, "per_record_fen": 2, "per_bulk_download_fen": 500},
    "free_tier": {"public_interest": True, "records_per_month": 5},
    "monthly_cap_fen": 100_000,
}


def _spec(name: str, scenario: str, key: str, schema: dict[str, str]) -> dict:
    return {
        "name": name,
        "kind": "sql_aggregate",
        "description": f"{name} for the product API tests.",
        "owner": "tests@datafactory",
        "audience": ["tests"],
        "authorized_for": scenario,
        "inputs": ["ent_registry"],
        "refresh": "@daily",
        "key": key,
        "output": f"SELECT {', '.join(schema)} FROM ent_registry",
        "schema": schema,
        "pii_policy": {"k": 2},
    }


def _uscc(i: int) -> str:
    return make_uscc("370100", f"{i:08d}")


def _publish(store: LocalStore, name: str, frame: pd.DataFrame, day: str, approve: bool = True) -> int:
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    fields = {"row_count": len(frame), "schema": {c: str(t) for c, t in frame.dtypes.items()}, "logical_date": day}
    version = publish_version(store, name, {f"{name}.parquet": buf.getvalue()}, fields, {"logical_date": day}).version
    if approve:
        record_decision(store, name, version, APPROVED, "tests")
        move_latest(store, name, version, "approve", "tests", "approved")
    return version


@dataclass
class Factory:
    env: dict[str, str]
    home: Path
    repo: Path
    engine: sa.Engine
    frame: pd.DataFrame  # latest (v2) of PRODUCT
    v1: int
    v2: int


@pytest.fixture(scope="module")
def factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Factory]:
    root = tmp_path_factory.mktemp("api")
    repo, home = root / "repo", root / "var"
    (repo / "products" / "pricing").mkdir(parents=True)
    specs = [
        _spec(PRODUCT, SCENARIO, "uscc", {"uscc": "string", "score": "int", "band": "string"}),
        _spec(OTHER, OTHER_SCENARIO, "uscc", {"uscc": "string", "grade": "string"}),
        _spec(UNPUBLISHED, SCENARIO, "uscc", {"uscc": "string", "peers": "int"}),
    ]
    for spec in specs:
        (repo / "products" / f"{spec['name']}.yaml").write_text(yaml.safe_dump(spec))
    (repo / "products" / "pricing" / f"{PRODUCT}.yaml").write_text(yaml.safe_dump(PRICES))
    store = LocalStore(home / "products")
    keys = [_uscc(i) for i in range(1, 201)]
    v1_frame = pd.DataFrame(
        {"uscc": keys, "score": [i % 1000 for i in range(200)], "band": ["low"] * 200, PII: ["张三"] * 200}
    )
    v1 = _publish(store, PRODUCT, v1_frame, "2026-11-01")
    frame = pd.DataFrame({"uscc": keys, "score": [(7 * i) % 1000 for i in range(200)], "band": ["low", "high"] * 100})
    v2 = _publish(store, PRODUCT, frame, "2026-11-02")
    _publish(store, PRODUCT, frame.assign(score=0), "2026-11-03", approve=False)  # v3: awaiting approval
    _publish(store, OTHER, pd.DataFrame({"uscc": keys[:10], "grade": ["A"] * 10}), "2026-11-02")
    env = {
        "DATAFACTORY_HOME": str(home),
        "DATAFACTORY_REPO": str(repo),
        "DATAFACTORY_SERVING_SECRET": "test-serving-secret",
        "DATAFACTORY_PSEUDONYM_KEY": "test-key-not-a-secret",
    }
    engine = sa.create_engine(f"sqlite:///{home}/state.db")
    from datafactory.serving.tables import create_tables

    create_tables(engine)
    yield Factory(env, home, repo, engine, frame, v1, v2)
    engine.dispose()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`datafactory serve` as a process; `stop` is a graceful SIGTERM (in-flight calls finish, ledger flushed)."""

    def __init__(self, env: dict[str, str], port: int | None = None) -> None:
        self.env = env
        self.port = port or _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> Server:
        full = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")} | self.env
        self.proc = subprocess.Popen(
            [str(VENV_BIN / "datafactory"), "serve", "--port", str(self.port)],
            env=full,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"serve exited: {self.proc.stderr.read().decode()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/v1/health", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.05)
        self.proc.kill()
        raise RuntimeError("serve did not answer /v1/health within 60 s")

    def stop(self) -> int:
        """0 when the server shut down cleanly (uvicorn re-raises the SIGTERM it handled, after shutdown)."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=60)
            return 0 if code in (0, -signal.SIGTERM) else code
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise


@pytest.fixture(scope="module")
def server(factory: Factory) -> Iterator[Server]:
    srv = Server(factory.env).start()
    yield srv
    assert srv.stop() == 0


def _terms(**changes) -> LicenseTerms:
    base = {
        "products": (PRODUCT,),
        "scenario": SCENARIO,
        "purpose": "SME loan admission",
        "expires": date.today() + timedelta(days=30),
        "quota_per_day": 1_000_000,
        "rate_per_s": 100_000.0,
        "bulk": False,
    }
    return LicenseTerms(**(base | changes))


_count = Counter()


def _consumer(factory: Factory, prefix: str, **changes) -> tuple[str, str]:
    _count[prefix] += 1
    name = f"{prefix}-{_count[prefix]}"
    return name, add_consumer(factory.engine, name, _terms(**changes))[1]


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _ledger(engine: sa.Engine, consumer: str | None = None) -> list[dict]:
    query = sa.select(USAGE).order_by(USAGE.c.id)
    if consumer is not None:
        query = query.where(USAGE.c.consumer == consumer)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def _wait_for_rows(engine: sa.Engine, consumer: str, n: int, deadline_s: float = 30) -> list[dict]:
    deadline = time.monotonic() + deadline_s
    while True:
        rows = _ledger(engine, consumer)
        if len(rows) >= n or time.monotonic() > deadline:
            return rows
        time.sleep(0.05)


def _raw_get(port: int, path: str, headers: dict[str, str]) -> tuple[int, str]:
    """A GET whose path goes out exactly as written (httpx would resolve the dot segments first)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


def _no_echo(response: httpx.Response, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in response.text, "an error body echoed what was sent or stored"


# --- lookups


def test_single_lookup_serves_latest_approved_version_with_schema_columns_only(factory, server):
    _, key = _consumer(factory, "bank")
    wanted = factory.frame.iloc[17]
    r = httpx.get(f"{server.url}/v1/products/{PRODUCT}/records/{wanted['uscc']}", headers=_auth(key))
    assert r.status_code == 200
    body = r.json()
    assert body["version"] == factory.v2  # v3 is not approved: latest stays v2
    assert body["record"] == {"uscc": wanted["uscc"], "score": int(wanted["score"]), "band": wanted["band"]}

    url = f"{server.url}/v1/products/{PRODUCT}/records/{wanted['uscc']}"
    pinned = httpx.get(url, params={"version": factory.v1}, headers=_auth(key))
    assert pinned.status_code == 200 and pinned.json()["version"] == factory.v1
    assert set(pinned.json()["record"]) == {"uscc", "score", "band"}  # the planted column stays behind
    assert PII not in pinned.text and "张三" not in pinned.text

    unapproved = httpx.get(url, params={"version": 3}, headers=_auth(key))
    assert unapproved.status_code == 404


def test_batch_lookup_returns_found_records_and_counts_missing(factory, server):
    _, key = _consumer(factory, "bank")
    asked = [*factory.frame["uscc"].iloc[:5], _uscc(99_999), factory.frame["uscc"].iloc[0]]
    r = httpx.post(f"{server.url}/v1/products/{PRODUCT}/records", json={"keys": asked}, headers=_auth(key))
    assert r.status_code == 200
    body = r.json()
    assert [rec["uscc"] for rec in body["records"]] == list(factory.frame["uscc"].iloc[:5])
    assert body["missing"] == 1

    too_many = [_uscc(i) for i in range(1001)]
    r = httpx.post(f"{server.url}/v1/products/{PRODUCT}/records", json={"keys": too_many}, headers=_auth(key))
    assert r.status_code == 413
    r = httpx.post(f"{server.url}/v1/products/{PRODUCT}/records", json={"nope": 1}, headers=_auth(key))
    assert r.status_code == 422


def test_metadata_has_no_internal_paths_and_answers_304_to_its_etag(factory, server):
    _, key = _consumer(factory, "bank")
    r = httpx.get(f"{server.url}/v1/products/{PRODUCT}", headers=_auth(key))
    assert r.status_code == 200 and r.headers["etag"]
    meta = r.json()
    assert meta["version"] == factory.v2 and meta["key"] == "uscc" and meta["row_count"] == len(factory.frame)
    assert str(factory.home) not in r.text and "publish_id" not in meta
    assert all(set(f) == {"name", "sha256", "bytes"} for f in meta["files"])
    again = httpx.get(f"{server.url}/v1/products/{PRODUCT}", headers=_auth(key) | {"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304
    v1 = httpx.get(f"{server.url}/v1/products/{PRODUCT}/versions/{factory.v1}", headers=_auth(key))
    assert v1.status_code == 200 and PII not in v1.json()["schema"]


def test_bulk_links_are_signed_time_limited_and_only_for_bulk_licenses(factory, server):
    _, key = _consumer(factory, "bulk", bulk=True)
    r = httpx.post(f"{server.url}/v1/products/{PRODUCT}/bulk", headers=_auth(key))
    assert r.status_code == 200
    link = r.json()["files"][0]["url"]
    data = httpx.get(link)
    assert data.status_code == 200
    manifest = read_manifest(LocalStore(factory.home / "products"), PRODUCT, factory.v2)
    assert hashlib.sha256(data.content).hexdigest() == manifest["files"][0]["sha256"]
    assert httpx.get(link.replace("sig=", "sig=0")).status_code == 403
    expired = link.replace(f"expires={r.json()['expires_at']}", f"expires={r.json()['expires_at'] - 10_000}")
    assert httpx.get(expired).status_code == 403
    # v1 carries a column outside the schema: no bulk copy of it
    r1 = httpx.post(f"{server.url}/v1/products/{PRODUCT}/bulk", params={"version": factory.v1}, headers=_auth(key))
    assert r1.status_code == 409

    _, plain = _consumer(factory, "bank")
    assert httpx.post(f"{server.url}/v1/products/{PRODUCT}/bulk", headers=_auth(plain)).status_code == 403


# --- the authorization matrix


def test_authorization_matrix(factory, server):
    uscc = factory.frame["uscc"].iloc[3]
    url = f"{server.url}/v1/products/{PRODUCT}/records/{uscc}"
    name, key = _consumer(factory, "matrix")
    stored = factory.frame.iloc[3]

    assert httpx.get(url, headers=_auth(key)).status_code == 200
    no_key = httpx.get(url)
    assert no_key.status_code == 401 and no_key.headers["www-authenticate"] == "Bearer"

    wrong = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    r = httpx.get(url, headers=_auth(wrong))
    assert r.status_code == 401
    _no_echo(r, wrong, uscc)

    malformed = httpx.get(url, headers=_auth("let-me-in"))
    assert malformed.status_code == 422 and "\n" not in malformed.json()["detail"]
    _no_echo(malformed, "let-me-in")

    _, expired_key = _consumer(factory, "expired", expires=date.today() - timedelta(days=2))
    r = httpx.get(url, headers=_auth(expired_key))
    assert r.status_code == 403 and "expired" in r.json()["detail"]

    r = httpx.get(f"{server.url}/v1/products/{OTHER}/records/{uscc}", headers=_auth(key))
    assert r.status_code == 403 and "does not cover" in r.json()["detail"]

    # a license whose scenario is not the product's (issued around the CLI's check, or a spec that moved)
    _, scenario_key = _consumer(factory, "scenario", products=(OTHER,))
    r = httpx.get(f"{server.url}/v1/products/{OTHER}/records/{uscc}", headers=_auth(scenario_key))
    assert r.status_code == 403 and "scenario" in r.json()["detail"]
    _no_echo(r, uscc)

    _, quota_key = _consumer(factory, "quota", quota_per_day=3)
    statuses = [httpx.get(url, headers=_auth(quota_key)).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    over = httpx.get(url, headers=_auth(quota_key))
    assert over.status_code == 429 and int(over.headers["retry-after"]) >= 1

    _, rate_key = _consumer(factory, "rate", rate_per_s=0.01)  # one call per 100 s
    assert httpx.get(url, headers=_auth(rate_key)).status_code == 200
    r = httpx.get(url, headers=_auth(rate_key))
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1

    r = httpx.get(f"{server.url}/v1/products/{PRODUCT}/records/{_uscc(99_998)}", headers=_auth(key))
    assert r.status_code == 404
    _no_echo(r, _uscc(99_998))
    _, wide_key = _consumer(factory, "wide", products=(PRODUCT, UNPUBLISHED))
    r = httpx.get(f"{server.url}/v1/products/{UNPUBLISHED}/records/{uscc}", headers=_auth(wide_key))
    assert r.status_code == 404 and "no approved version" in r.json()["detail"]
    for path in (f"x/../{PRODUCT}", f"x%2F..%2F{PRODUCT}", "..%2Fsecrets", "Demo-Scores", "..", "%2E%2E"):
        status, text = _raw_get(server.port, f"/v1/products/{path}/records/{uscc}", _auth(key))
        assert status in (404, 422), path
        assert f'"score":{int(stored["score"])}' not in text

    revoke(factory.engine, name)
    deadline = time.monotonic() + 10
    while httpx.get(url, headers=_auth(key)).status_code == 200 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert httpx.get(url, headers=_auth(key)).status_code == 401


def test_rotation_retires_the_old_key(factory, server):
    name, old = _consumer(factory, "rotate")
    url = f"{server.url}/v1/products/{PRODUCT}/records/{factory.frame['uscc'].iloc[0]}"
    assert httpx.get(url, headers=_auth(old)).status_code == 200
    new = rotate(factory.engine, name)
    deadline = time.monotonic() + 10
    while httpx.get(url, headers=_auth(old)).status_code == 200 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert httpx.get(url, headers=_auth(old)).status_code == 401
    assert httpx.get(url, headers=_auth(new)).status_code == 200


def test_every_refused_call_is_on_the_ledger_with_its_status(factory, server):
    name, key = _consumer(factory, "ledger", quota_per_day=2)
    url = f"{server.url}/v1/products/{PRODUCT}/records/{factory.frame['uscc'].iloc[0]}"
    got = [httpx.get(url, headers=_auth(key)).status_code for _ in range(3)]
    got.append(httpx.get(f"{server.url}/v1/products/{OTHER}/records/{_uscc(1)}", headers=_auth(key)).status_code)
    rows = _wait_for_rows(factory.engine, name, len(got))
    assert [r["status"] for r in rows] == got == [200, 200, 429, 403]
    assert all(r["purpose"] == "SME loan admission" and r["license_id"] for r in rows[:3])
    assert rows[3]["license_id"] is None and rows[3]["consumer"] == name  # no license covers that product
    assert rows[0]["keys_count"] == 1 and rows[0]["rows"] == 1 and len(rows[0]["keys_hash"]) == 64
    assert all(factory.frame["uscc"].iloc[0] not in str(r.values()) for r in rows)  # the key itself is not kept


# --- load: parallel clients and a restart


def _client(url: str, key: str, keys: list[str], calls: int, outcome: Counter, lock: threading.Lock) -> None:
    seen: Counter = Counter()
    with httpx.Client(headers=_auth(key), timeout=30) as client:
        for i in range(calls):
            try:
                status = client.get(f"{url}/v1/products/{PRODUCT}/records/{keys[i % len(keys)]}").status_code
            except httpx.TransportError:
                status = "no response"
            seen[status] += 1
    with lock:
        outcome.update(seen)


def test_parallel_clients_leave_exactly_one_ledger_row_per_call(factory, server):
    name, key = _consumer(factory, "parallel")
    keys = [*factory.frame["uscc"].iloc[:40], _uscc(88_888)]  # one key in 41 is not found: a 404
    outcome, lock = Counter(), threading.Lock()
    threads = [threading.Thread(target=_client, args=(server.url, key, keys, 150, outcome, lock)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert "no response" not in outcome and sum(outcome.values()) == 8 * 150
    rows = _wait_for_rows(factory.engine, name, 8 * 150)
    assert len(rows) == 8 * 150
    assert Counter(r["status"] for r in rows) == outcome
    assert sum(1 for r in rows if r["status"] == 200) == outcome[200] > 0
    assert len({r["request_id"] for r in rows}) == len(rows)


def test_a_graceful_restart_mid_load_loses_no_usage_row(factory):
    name, key = _consumer(factory, "restart")
    keys = list(factory.frame["uscc"].iloc[:20])
    srv = Server(factory.env).start()
    outcome, lock = Counter(), threading.Lock()
    progress = Counter()

    def client() -> None:
        """200 answered calls each; calls that reach no server (while it restarts) are retried, boundedly."""
        seen: Counter = Counter()
        with httpx.Client(headers=_auth(key), timeout=30) as http:
            for i in range(5000):
                if seen.total() - seen["no response"] >= 200:
                    break
                try:
                    seen[http.get(f"{srv.url}/v1/products/{PRODUCT}/records/{keys[i % 20]}").status_code] += 1
                except httpx.TransportError:
                    seen["no response"] += 1
                    time.sleep(0.02)
                with lock:
                    progress["calls"] += 1
        with lock:
            outcome.update(seen)

    threads = [threading.Thread(target=client) for _ in range(4)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60
    while progress["calls"] < 200 and time.monotonic() < deadline:  # a quarter of the load is done
        time.sleep(0.01)
    assert srv.stop() == 0  # graceful: in-flight calls finish and the ledger is flushed
    stopped_rows = len(_ledger(factory.engine, name))
    srv.start()  # the same port; clients that failed meanwhile carry on
    try:
        for t in threads:
            t.join()
    finally:
        assert srv.stop() == 0
    answered = sum(n for status, n in outcome.items() if status != "no response")
    rows = _ledger(factory.engine, name)
    assert 0 < stopped_rows < answered == 4 * 200  # the restart really happened mid-load
    assert len(rows) == answered
    assert Counter(r["status"] for r in rows) == Counter({s: n for s, n in outcome.items() if s != "no response"})


# --- billing


def test_statement_reconciles_with_the_ledger(factory, server, tmp_path):
    name, key = _consumer(factory, "billed", bulk=True)
    base = f"{server.url}/v1/products/{PRODUCT}"
    uscc = list(factory.frame["uscc"])
    for k in uscc[:4]:
        assert httpx.get(f"{base}/records/{k}", headers=_auth(key)).status_code == 200
    assert httpx.get(f"{base}/records/{_uscc(77_777)}", headers=_auth(key)).status_code == 404
    batch = httpx.post(f"{base}/records", json={"keys": [*uscc[10:19], _uscc(77_776)]}, headers=_auth(key))
    assert batch.status_code == 200
    assert httpx.post(f"{base}/bulk", headers=_auth(key)).status_code == 200
    assert httpx.get(base, headers=_auth(key)).status_code == 200
    rows = _wait_for_rows(factory.engine, name, 8)
    assert len(rows) == 8
    month = china_day(rows[0]["at"]).strftime("%Y-%m")
    result = run_cli(
        ["billing", "statement", "--consumer", name, "--month", month, "--out", str(tmp_path)], factory.env
    )
    assert result.returncode == 0, result.stderr
    lines = list(csv.DictReader((tmp_path / f"statement-{name}-{month}.csv").open(encoding="utf-8")))
    line, total = lines[0], lines[-1]

    lookups = [r for r in rows if r["status"] == 200 and r["endpoint"] in ("record", "batch")]
    bulks = [r for r in rows if r["status"] == 200 and r["endpoint"] == "bulk"]
    records = sum(r["rows"] for r in lookups)
    free = min(records, PRICES["free_tier"]["records_per_month"])
    per_record = PRICES["base_data_value"]["per_record_fen"] + PRICES["processing"]["per_record_fen"]
    expected = (
        len(lookups) * PRICES["processing"]["per_call_fen"]
        + (records - free) * per_record
        + len(bulks) * PRICES["processing"]["per_bulk_download_fen"]
    )
    assert (int(line["calls"]), int(line["records"]), int(line["bulk_downloads"])) == (len(lookups), records, 1)
    assert int(line["amount_fen"]) == int(total["amount_fen"]) == expected
    assert total["product"] == "TOTAL" and len(lines) == 2
    html = (tmp_path / f"statement-{name}-{month}.html").read_text(encoding="utf-8")
    assert f"<td>{len(rows)}</td>" in html  # the reconciliation section counts every ledger row
