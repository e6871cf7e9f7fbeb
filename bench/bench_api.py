"""Product API throughput and latency on loopback, with auth + metering on and off in the same run.

Builds a throwaway factory home with one product version (10,000 enterprises) written through the
store, issues a consumer key, then starts two servers as their own processes: `datafactory serve`
(keys, licenses, rate and quota, usage ledger) and the same app with auth and metering off. A small
asyncio HTTP/1.1 client drives a bounded load over a few keep-alive connections against each.

    .venv/bin/python bench/bench_api.py [--lookups 20000] [--connections 4]

Goal: >= 2,000 lookups/s and p99 < 25 ms with auth and metering on, and on/off <= 1.3x.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
import yaml

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
PRODUCT = "bench_scores"
SPEC = {
    "name": PRODUCT,
    "kind": "sql_aggregate",
    "description": "Scores for the API benchmark.",
    "owner": "bench@datafactory",
    "audience": ["bench"],
    "authorized_for": "anti_fraud_admission",
    "inputs": ["ent_registry"],
    "refresh": "@daily",
    "key": "uscc",
    "output": "SELECT uscc, score, risk_band, model_version FROM ent_registry",
    "schema": {"uscc": "string", "score": "int", "risk_band": "string", "model_version": "string"},
    "pii_policy": {"k": 2},
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def build_home(root: Path, rows: int) -> tuple[dict[str, str], list[str]]:
    from datafactory.domain.identifiers import make_uscc
    from datafactory.products.store import LocalStore
    from datafactory.products.versioning import APPROVED, move_latest, publish_version, record_decision

    repo, home = root / "repo", root / "var"
    (repo / "products").mkdir(parents=True)
    (repo / "products" / f"{PRODUCT}.yaml").write_text(yaml.safe_dump(SPEC))
    keys = [make_uscc("370100", f"{i:08d}") for i in range(1, rows + 1)]
    rng = random.Random(7)
    scores = [rng.randrange(1000) for _ in keys]
    bands = ["low" if s < 200 else "medium" if s < 500 else "high" if s < 800 else "very_high" for s in scores]
    frame = pd.DataFrame({"uscc": keys, "score": scores, "risk_band": bands, "model_version": "3"})
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    store = LocalStore(home / "products")
    fields = {"row_count": len(frame), "schema": {c: str(t) for c, t in frame.dtypes.items()}}
    version = publish_version(store, PRODUCT, {f"{PRODUCT}.parquet": buf.getvalue()}, fields, {"bench": 1}).version
    record_decision(store, PRODUCT, version, APPROVED, "bench")
    move_latest(store, PRODUCT, version, "approve", "bench", "bench")
    env = {
        "DATAFACTORY_HOME": str(home),
        "DATAFACTORY_REPO": str(repo),
        "DATAFACTORY_SERVING_SECRET": "bench-secret",
        "DATAFACTORY_PSEUDONYM_KEY": "bench-key",
    }
    return env, keys


def issue_key(env: dict[str, str]) -> str:
    from datafactory.serving.consumers import LicenseTerms, add_consumer

    engine = sa.create_engine(f"sqlite:///{env['DATAFACTORY_HOME']}/state.db")
    terms = LicenseTerms(
        products=(PRODUCT,),
        scenario="anti_fraud_admission",
        purpose="benchmark",
        expires=date.today() + timedelta(days=1),
        quota_per_day=10**9,
        rate_per_s=10**6,
    )
    key = add_consumer(engine, "bench-bank", terms)[1]
    engine.dispose()
    return key


def start(env: dict[str, str], auth: bool) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    full = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")} | env
    if auth:
        cmd = [str(VENV_BIN / "datafactory"), "serve", "--port", str(port)]
    else:
        cmd = [sys.executable, __file__, "--baseline-server", str(port)]
    proc = subprocess.Popen(cmd, env=full, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/health", timeout=1)
            return proc, port
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("the server did not start")


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)


async def _worker(port: int, requests: list[bytes], latencies: list[float]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for request in requests:
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if head[9:12] != b"200":
                raise RuntimeError(f"unexpected response: {head[:40]!r}")
    finally:
        writer.close()


def load(port: int, keys: list[str], lookups: int, connections: int, key: str | None, seed: int) -> tuple[list, float]:
    """Latencies (s) of `lookups` random single-key lookups, and the elapsed wall time."""
    rng = random.Random(seed)
    auth = f"Authorization: Bearer {key}\r\n" if key else ""
    paths = [f"/v1/products/{PRODUCT}/records/{rng.choice(keys)}" for _ in range(lookups)]
    requests = [f"GET {p} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}\r\n".encode() for p in paths]
    latencies: list[float] = []
    share = [requests[i::connections] for i in range(connections)]

    async def run() -> None:
        await asyncio.gather(*(_worker(port, part, latencies) for part in share))

    started = time.perf_counter()
    asyncio.run(run())
    return latencies, time.perf_counter() - started


def figures(latencies: list[float], elapsed: float) -> dict[str, float]:
    ordered = sorted(latencies)
    return {
        "per_s": len(ordered) / elapsed,
        "p50_ms": ordered[len(ordered) // 2] * 1000,
        "p99_ms": ordered[int(len(ordered) * 0.99)] * 1000,
    }


def baseline_server(port: int) -> None:
    from datafactory.serving.app import ServingConfig
    from datafactory.serving.server import serve
    from datafactory.settings import load_settings

    serve(load_settings(), "127.0.0.1", port, ServingConfig(auth=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lookups", type=int, default=20_000)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds per mode (lookups split evenly)")
    parser.add_argument("--baseline-server", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline_server:
        baseline_server(args.baseline_server)
        return
    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
        env, keys = build_home(Path(tmp), args.rows)
        per_round = args.lookups // args.rounds
        key = issue_key(env)
        modes = {"auth+metering off": None, "auth+metering on": key}
        servers = {label: start(env, k is not None) for label, k in modes.items()}
        collected: dict[str, tuple[list[float], float]] = {label: ([], 0.0) for label in modes}
        try:
            for label, k in modes.items():  # warm: the version's index, the key's verification
                load(servers[label][1], keys, 1000, args.connections, k, seed=1)
            for round_ in range(args.rounds):  # alternate, so background load on the machine hits both
                for label, k in modes.items():
                    latencies, elapsed = load(servers[label][1], keys, per_round, args.connections, k, seed=2 + round_)
                    collected[label] = (collected[label][0] + latencies, collected[label][1] + elapsed)
        finally:
            for proc, _ in servers.values():
                stop(proc)
        results = {label: figures(*got) for label, got in collected.items()}
        engine = sa.create_engine(f"sqlite:///{env['DATAFACTORY_HOME']}/state.db")
        with engine.connect() as conn:
            ledger = conn.execute(sa.text("SELECT count(*) FROM api_usage WHERE status = 200")).scalar_one()
        engine.dispose()
    print(
        f"{per_round * args.rounds} single-key lookups per mode over {args.connections} keep-alive connections "
        f"({args.rounds} alternating rounds), {args.rows} rows, {os.cpu_count()} CPUs"
    )
    for label, r in results.items():
        print(f"  {label:18s} {r['per_s']:8.0f} lookups/s   p50 {r['p50_ms']:6.2f} ms   p99 {r['p99_ms']:6.2f} ms")
    on, off = results["auth+metering on"], results["auth+metering off"]
    print(
        f"  on/off: time per lookup {off['per_s'] / on['per_s']:.2f}x, p50 {on['p50_ms'] / off['p50_ms']:.2f}x, "
        f"p99 {on['p99_ms'] / off['p99_ms']:.2f}x"
    )
    expected = per_round * args.rounds + 1000
    print(f"  ledger rows with status 200: {ledger} (expected {expected}: warm-up + measured, auth on)")


if __name__ == "__main__":
    main()
