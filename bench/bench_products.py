"""Publish, verify and review a product version of N rows on both store backends; print the figures.

    .venv/bin/python bench/bench_products.py [--rows 200000] [--versions 5]

The table has the shape of the supplier rating report (USCC, points, grade, reasons text, model
version). For each backend (a local directory, and S3 on a loopback moto server through real HTTP)
it publishes `--versions` versions (data first, manifest last with a conditional create), then
re-hashes every one with verify, and prints times and the S3 / local ratio (the local directory is
the default backend, hence the baseline). The output review runs once on the same table, against
dictionaries of the size a 3,000-enterprise registry gives.
"""

from __future__ import annotations

import argparse
import io
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from datafactory.domain.identifiers import make_uscc

REASONS = np.array(["-platform incidents", "-late deliveries", "+firm age", "+insured staff", "-tax credit grade"])


def table(rows: int, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(REASONS), (rows, 3))
    return pd.DataFrame(
        {
            "uscc": [make_uscc("532901", f"{i:08d}") for i in range(rows)],
            "score": rng.normal(600, 40, rows).round().astype("int64"),
            "grade": rng.choice(np.array(["AAA", "AA", "A", "B", "C"]), rows).astype(object),
            "main_reasons": ["; ".join(REASONS[p]) for p in picks],
            "model_version": "3",
        }
    )


def moto() -> tuple[subprocess.Popen, str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1)
            return server, endpoint
        except OSError:
            if time.monotonic() > deadline:
                server.kill()
                raise RuntimeError("moto_server did not start") from None
            time.sleep(0.1)


def run_backend(store, data: bytes, versions: int) -> dict[str, float]:
    from datafactory.products.verify import verify_version
    from datafactory.products.versioning import publish_version

    start = time.perf_counter()
    for n in range(versions):
        publish_version(store, "bench", {"bench.parquet": data}, {"row_count": n}, {"n": n})
    published = time.perf_counter() - start
    start = time.perf_counter()
    assert all(verify_version(store, "bench", v).ok for v in range(1, versions + 1))
    verified = time.perf_counter() - start
    return {"publish_s": published / versions, "verify_s": verified / versions}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--versions", type=int, default=5)
    args = parser.parse_args()

    from datafactory.products.review import Dictionaries, Policy, review_table
    from datafactory.products.s3_store import S3Store
    from datafactory.products.store import LocalStore
    from datafactory.sources.pseudonymize import pseudonym

    frame = table(args.rows)
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    data = buffer.getvalue()
    print(f"table: {args.rows:,} rows, {len(data) / 1e6:.1f} MB parquet; {args.versions} versions per backend")

    key = b"bench-key"
    dicts = Dictionaries(
        personal_pseudonyms=frozenset(pseudonym(f"person-{i}", key) for i in range(9_000)),
        pseudonymize=partial(pseudonym, key=key),
        company_names=frozenset(f"余姚市测试{i}贸易有限公司" for i in range(3_000)),
        addresses=frozenset(f"阳明街道{i}号" for i in range(3_000)),
    )
    start = time.perf_counter()
    result = review_table(frame, Policy(list(frame.columns)), dicts)
    review_s = time.perf_counter() - start
    assert result.passed, result.reasons()
    print(f"output review: {review_s:.2f} s ({args.rows / review_s:,.0f} rows/s)")

    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        figures["local"] = run_backend(LocalStore(Path(tmp) / "store"), data, args.versions)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    server, endpoint = moto()
    try:
        bucket = f"bench-{uuid.uuid4().hex[:8]}"
        store = S3Store.from_url(f"s3://{bucket}/products", endpoint)
        store.client.create_bucket(Bucket=bucket)
        figures["s3"] = run_backend(store, data, args.versions)
    finally:
        server.terminate()
        server.wait(timeout=10)

    for name, f in figures.items():
        print(
            f"{name:>5}: publish {f['publish_s'] * 1000:8.1f} ms/version, verify {f['verify_s'] * 1000:8.1f} ms/version"
        )
    ratio = {k: figures["s3"][k] / figures["local"][k] for k in ("publish_s", "verify_s")}
    print(f"S3 (moto, loopback HTTP) / local: publish {ratio['publish_s']:.1f}x, verify {ratio['verify_s']:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
