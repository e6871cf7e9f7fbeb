"""Ingest throughput per channel, against reading the same data directly and against the honest limit, in one run.

    .venv/bin/python bench/bench_ingest.py --rows 1000000

For each channel the same rows (simulated hospital visits: 10 columns, two personal) are delivered
upstream, then timed: `ingest` (window query or listing, paging, parsing, drift check, transport
dedupe, ID checks, HMAC-SM3 pseudonyms, raw parquet, ledger); a direct read of the same data
(SQLAlchemy for the databases, pyarrow for CSV, openpyxl via pandas for XLSX); and the honest limit:
that direct read, plus the same HMAC-SM3 pseudonyms of the same personal columns done as fast as
Python allows (one HMAC per distinct value, a C-level keyed-state copy per value, mapped back to the
rows by Arrow kernels, no per-row Python object), plus the parquet write. `x read` is ingest / direct
read, `x limit` is ingest / limit (the issue's goal: 2x or less). XLSX is measured at --xlsx-rows
(openpyxl is slow to write 1M rows).

The API is measured in the same run with pages one at a time and with pages in parallel at the
concurrency med_visits declares (or --concurrency), alternating, --repeat times each; the fastest of
each is reported (on a shared machine the least disturbed run). `in flight` is the most record
requests the simulated platform answered at once during that pull. The platform serves from a child
process (--platform process, as the compose stack's upstream-platform or a real platform on another
machine) or from a thread of this process (--platform thread, as under `datafactory run`, where it
shares this process's GIL); --latency makes it answer each request that much later, as a platform
across a network does (loopback answers at once). --channels picks which channels to measure.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import sqlalchemy as sa
from cryptography.hazmat.primitives import hashes, hmac

from datafactory.settings import REPO_ROOT
from datafactory.sources.channels.api import ApiChannel
from datafactory.sources.ingest import ingest
from datafactory.sources.landing import LocalLanding
from datafactory.sources.ledger import Ledger
from datafactory.sources.simulator.api_server import ApiFaults, PlatformApi
from datafactory.sources.simulator.deliver import write_tables
from datafactory.sources.simulator.files import render_csv, render_xlsx
from datafactory.sources.simulator.medical import medical_delivery
from datafactory.sources.upstream import Upstream
from datafactory.specs import load_sources
from datafactory.zones import Zones

DAY = date(2026, 11, 1)
FEED = "med_visits"
VISITS_PER_PERSON = 2.4


def visits(rows: int) -> pd.DataFrame:
    """At least `rows` simulated visits (all dated on DAY), cut to exactly `rows`."""
    persons = max(100, int(rows / VISITS_PER_PERSON * 1.1))
    frame = medical_delivery(7, persons, DAY, 0)[FEED]
    while len(frame) < rows:
        persons = int(persons * 1.3)
        frame = medical_delivery(7, persons, DAY, 0)[FEED]
    return frame.iloc[:rows].reset_index(drop=True)


def timed(call):
    start = time.perf_counter()
    value = call()
    return time.perf_counter() - start, value


def run_ingest(home: Path, spec, upstream: Upstream) -> tuple[float, int, float]:
    """Seconds, rows landed, and MB received from upstream."""
    run = uuid.uuid4().hex  # each measurement its own ledger and zones: none reuses an earlier pull
    ledger = Ledger(sa.create_engine(f"sqlite:///{home}/state-{spec.channel}-{run}.db"))
    zones = Zones(home / f"zones-{spec.channel}-{run}")
    seconds, result = timed(
        lambda: ingest(spec, DAY, "bench", upstream=upstream, ledger=ledger, zones=zones, pseudonym_key=b"bench-key")
    )
    return seconds, result.rows, ledger.history(limit=1)[0].bytes / 1e6


def sql_frame(url: str, table: str) -> pd.DataFrame:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        frame = pd.read_sql(sa.select(sa.Table(table, sa.MetaData(), autoload_with=engine)), conn)
    engine.dispose()
    return frame


def pseudonymized(table: pa.Table, columns: list[str], key: bytes) -> pa.Table:
    """HMAC-SM3 pseudonyms of `columns` as fast as Python allows: one keyed-state copy, update and
    finalize (C calls) per distinct value; Arrow maps the distinct pseudonyms back onto the rows."""
    keyed = hmac.HMAC(key, hashes.SM3())
    for name in columns:
        column = table.column(name)
        distinct = pc.unique(column).drop_null()
        macs = []
        for value in distinct.to_pylist():
            mac = keyed.copy()
            mac.update(value.encode("utf-8"))
            macs.append("p_" + mac.finalize()[:16].hex())
        mapped = pc.take(pa.array(macs, type=pa.string()), pc.index_in(column, value_set=distinct))
        table = table.set_column(table.column_names.index(name), name, mapped)
    return table


def limit(read, personal: list[str], target: Path) -> tuple[float, float]:
    """Seconds of (the direct read alone, the honest limit: read + pseudonyms + parquet write)."""
    start = time.perf_counter()
    table = read()
    read_s = time.perf_counter() - start
    if isinstance(table, pd.DataFrame):
        table = pa.Table.from_pandas(table, preserve_index=False)
    pq.write_table(pseudonymized(table, personal, b"bench-key"), target)
    return read_s, time.perf_counter() - start


PLATFORM_CHILD = """
import json, sys
from datafactory.sources.simulator.api_server import ApiFaults, PlatformApi
faults = ApiFaults(slow_rate=1.0, slow_s=float(sys.argv[2]))
with PlatformApi(sys.argv[1], "bench", "secret", faults=faults, rate_per_s=1e6, burst=10**6) as api:
    print(api.url, flush=True)
    sys.stdin.read()  # serves until the bench closes this pipe
    print(json.dumps({"max_in_flight": api.stats.max_in_flight}), flush=True)
"""


@contextlib.contextmanager
def platform(db_url: str, where: str, latency_s: float = 0.0) -> Iterator[tuple[str, dict]]:
    """The simulated platform serving the store, in a thread or a child process, answering each request
    `latency_s` late: its URL, and a dict that holds its stats once it has stopped."""
    stats: dict = {}
    if where == "thread":
        faults = ApiFaults(slow_rate=1.0, slow_s=latency_s)
        with PlatformApi(db_url, "bench", "secret", faults=faults, rate_per_s=1e6, burst=10**6) as api:
            yield api.url, stats
            stats["max_in_flight"] = api.stats.max_in_flight
        return
    child = subprocess.Popen(
        [sys.executable, "-c", PLATFORM_CHILD, db_url, str(latency_s)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        yield child.stdout.readline().strip(), stats
        child.stdin.close()
        stats.update(json.loads(child.stdout.readline()))
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()


def report(rows: list[tuple[str, int, float, float, float, float, int | None]]) -> None:
    head = f"{'channel':<32}{'rows':>10}{'MB in':>9}{'ingest s':>10}{'rows/s':>11}{'read s':>9}{'limit s':>9}"
    print(head + f"{'x read':>8}{'x limit':>9}{'in flight':>11}")
    for name, n, mb, ingest_s, read_s, limit_s, flight in rows:
        rate = n / ingest_s
        print(
            f"{name:<32}{n:>10}{mb:>9.1f}{ingest_s:>10.2f}{rate:>11.0f}{read_s:>9.2f}{limit_s:>9.2f}"
            f"{ingest_s / read_s:>8.1f}{ingest_s / limit_s:>9.2f}{flight if flight is not None else '-':>11}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--xlsx-rows", type=int, default=100_000)
    parser.add_argument("--page-size", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, help="API pages in flight (default: what the feed declares)")
    parser.add_argument("--channels", default="exchange_db,api,files", help="comma-separated: exchange_db,api,files")
    parser.add_argument("--platform", choices=["process", "thread"], default="process", help="where the API is served")
    parser.add_argument("--repeat", type=int, default=1, help="API pulls per concurrency (the fastest is reported)")
    parser.add_argument(
        "--latency", type=float, default=0.0, help="seconds the platform takes to answer a request (a remote one)"
    )
    args = parser.parse_args(argv)
    channels = set(args.channels.split(","))
    spec = load_sources(REPO_ROOT)[FEED]
    concurrency = args.concurrency or spec.options.concurrency
    personal = [c for c, rule in spec.pii.items() if rule.action != "encrypt"]
    gen_s, frame = timed(lambda: visits(args.rows))
    print(f"simulated {len(frame)} {FEED} rows in {gen_s:.1f}s", flush=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        home = Path(tmp)
        db_url = f"sqlite:///{home}/exchange.db"
        write_tables(sa.create_engine(db_url), {FEED: frame}, DAY)
        if "exchange_db" in channels:
            db_spec = spec.revised(channel="exchange_db")
            ingest_s, n, mb = run_ingest(home, db_spec, Upstream(exchange=sa.create_engine(db_url)))
            read_s, limit_s = limit(lambda: sql_frame(db_url, FEED), personal, home / "limit.parquet")
            assert n == len(frame), (n, len(frame))
            results.append(("exchange_db (SQLite)", n, mb, ingest_s, read_s, limit_s, None))
            print("exchange_db done", flush=True)

        best: dict[int, tuple] = {}
        api_runs = [c for _ in range(args.repeat) for c in sorted({1, concurrency})] if "api" in channels else []
        for pages in api_runs:  # alternating, so a disturbance hits both
            with platform(db_url, args.platform, args.latency) as (url, served):
                channel = ApiChannel(url, "bench", "secret", timeout_s=120, page_size=args.page_size)
                options = {"dataset": FEED, "page_size": args.page_size, "concurrency": pages}
                ingest_s, n, mb = run_ingest(home, spec.revised(options=options), Upstream(api=channel))
            read_s, limit_s = limit(lambda: sql_frame(db_url, FEED), personal, home / "limit.parquet")
            assert n == len(frame), (n, len(frame))
            print(f"api, {pages} in flight: {ingest_s:.2f}s (limit {limit_s:.2f}s)", flush=True)
            label = f"api {pages} in flight, pages of {args.page_size}"
            run = (label, n, mb, ingest_s, read_s, limit_s, served["max_in_flight"])
            if pages not in best or ingest_s < best[pages][3]:
                best[pages] = run
        results += [best[pages] for pages in sorted(best)]
        if "files" in channels:
            landing = LocalLanding(home / "landing")
            as_text = pacsv.ConvertOptions(column_types={c: pa.string() for c in frame.columns})
            for label, encoding in (("files csv gbk", "gbk"), ("files csv utf-8-bom", "utf-8-sig")):
                data = render_csv(frame, list(frame.columns), encoding)
                landing.write(f"{FEED}_{encoding}/{FEED}_{DAY:%Y%m%d}.csv", data)
                file_spec = spec.revised(
                    channel="files", options={"folder": f"{FEED}_{encoding}", "encoding": encoding}
                )
                ingest_s, n, mb = run_ingest(home, file_spec, Upstream(landing=landing))
                options = pacsv.ReadOptions(encoding="gbk" if encoding == "gbk" else "utf8")
                read_s, limit_s = limit(
                    lambda d=data, o=options: pacsv.read_csv(io.BytesIO(d), o, convert_options=as_text),
                    personal,
                    home / "limit.parquet",
                )
                assert n == len(frame), (n, len(frame))
                results.append((label, n, mb, ingest_s, read_s, limit_s, None))
                print(f"{label} done", flush=True)

            small = frame.iloc[: args.xlsx_rows]
            data = render_xlsx(small, list(small.columns))
            landing.write(f"{FEED}_xlsx/{FEED}_{DAY:%Y%m%d}.xlsx", data)
            xlsx_spec = spec.revised(channel="files", options={"folder": f"{FEED}_xlsx"})
            ingest_s, n, mb = run_ingest(home, xlsx_spec, Upstream(landing=landing))
            read_s, limit_s = limit(
                lambda: pd.read_excel(io.BytesIO(data), engine="openpyxl", dtype=str), personal, home / "limit.parquet"
            )
            assert n == len(small), (n, len(small))
            results.append(("files xlsx", n, mb, ingest_s, read_s, limit_s, None))
    report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
