"""Ingest throughput per channel, against reading the same data directly, in the same run.

    .venv/bin/python bench/bench_ingest.py --rows 1000000

For each channel the same rows (simulated hospital visits: 10 columns, two personal) are delivered
upstream, then timed twice: `ingest` (window query or listing, paging, parsing, drift check,
transport dedupe, HMAC-SM3 pseudonyms, raw parquet, ledger) and a direct read of the same data
(SQLAlchemy for the databases, pyarrow for CSV, openpyxl via pandas for XLSX). The ratio is
ingest time / direct time. XLSX is measured at --xlsx-rows (openpyxl is slow to write 1M rows).
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import sqlalchemy as sa

from datafactory.settings import REPO_ROOT
from datafactory.sources.channels.api import ApiChannel
from datafactory.sources.ingest import ingest
from datafactory.sources.landing import LocalLanding
from datafactory.sources.ledger import Ledger
from datafactory.sources.simulator.api_server import PlatformApi
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
    ledger = Ledger(sa.create_engine(f"sqlite:///{home}/state-{spec.channel}-{id(upstream)}.db"))
    zones = Zones(home / f"zones-{spec.channel}-{id(upstream)}")
    seconds, result = timed(
        lambda: ingest(spec, DAY, "bench", upstream=upstream, ledger=ledger, zones=zones, pseudonym_key=b"bench-key")
    )
    return seconds, result.rows, ledger.history(limit=1)[0].bytes / 1e6


def sql_read(url: str, table: str) -> int:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        frame = pd.read_sql(sa.select(sa.Table(table, sa.MetaData(), autoload_with=engine)), conn)
    engine.dispose()
    return len(frame)


def report(rows: list[tuple[str, int, float, float, float]]) -> None:
    print(f"{'channel':<26}{'rows':>10}{'MB in':>9}{'ingest s':>10}{'rows/s':>11}{'direct s':>10}{'ratio':>8}")
    for name, n, mb, ingest_s, direct_s in rows:
        rate = n / ingest_s
        print(f"{name:<26}{n:>10}{mb:>9.1f}{ingest_s:>10.2f}{rate:>11.0f}{direct_s:>10.2f}{ingest_s / direct_s:>8.1f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--xlsx-rows", type=int, default=100_000)
    parser.add_argument("--page-size", type=int, default=20_000)
    args = parser.parse_args(argv)
    spec = load_sources(REPO_ROOT)[FEED]
    gen_s, frame = timed(lambda: visits(args.rows))
    print(f"simulated {len(frame)} {FEED} rows in {gen_s:.1f}s", flush=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        home = Path(tmp)
        db_url = f"sqlite:///{home}/exchange.db"
        write_tables(sa.create_engine(db_url), {FEED: frame}, DAY)
        db_spec = spec.revised(channel="exchange_db")
        ingest_s, n, mb = run_ingest(home, db_spec, Upstream(exchange=sa.create_engine(db_url)))
        direct_s, direct_n = timed(lambda: sql_read(db_url, FEED))
        assert n == direct_n == len(frame), (n, direct_n)
        results.append(("exchange_db (SQLite)", n, mb, ingest_s, direct_s))
        print("exchange_db done", flush=True)

        with PlatformApi(db_url, "bench", "secret", rate_per_s=1e6, burst=10**6) as api:
            channel = ApiChannel(api.url, "bench", "secret", timeout_s=120, page_size=args.page_size)
            api_spec = spec.revised(channel="api", options={"dataset": FEED, "page_size": args.page_size})
            ingest_s, n, mb = run_ingest(home, api_spec, Upstream(api=channel))
        direct_s, direct_n = timed(lambda: sql_read(db_url, FEED))
        assert n == direct_n, (n, direct_n)
        results.append((f"api (pages of {args.page_size})", n, mb, ingest_s, direct_s))
        print("api done", flush=True)

        landing = LocalLanding(home / "landing")
        as_text = pacsv.ConvertOptions(column_types={c: pa.string() for c in frame.columns})
        for label, encoding in (("files csv gbk", "gbk"), ("files csv utf-8-bom", "utf-8-sig")):
            data = render_csv(frame, list(frame.columns), encoding)
            landing.write(f"{FEED}_{encoding}/{FEED}_{DAY:%Y%m%d}.csv", data)
            file_spec = spec.revised(channel="files", options={"folder": f"{FEED}_{encoding}", "encoding": encoding})
            ingest_s, n, mb = run_ingest(home, file_spec, Upstream(landing=landing))
            options = pacsv.ReadOptions(encoding="gbk" if encoding == "gbk" else "utf8")
            direct_s, table = timed(lambda d=data, o=options: pacsv.read_csv(io.BytesIO(d), o, convert_options=as_text))
            assert n == table.num_rows, (n, table.num_rows)
            results.append((label, n, mb, ingest_s, direct_s))
            print(f"{label} done", flush=True)

        small = frame.iloc[: args.xlsx_rows]
        data = render_xlsx(small, list(small.columns))
        landing.write(f"{FEED}_xlsx/{FEED}_{DAY:%Y%m%d}.xlsx", data)
        xlsx_spec = spec.revised(channel="files", options={"folder": f"{FEED}_xlsx"})
        ingest_s, n, mb = run_ingest(home, xlsx_spec, Upstream(landing=landing))
        direct_s, table = timed(lambda: pd.read_excel(io.BytesIO(data), engine="openpyxl"))
        assert n == len(table), (n, len(table))
        results.append(("files xlsx", n, mb, ingest_s, direct_s))
    report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
