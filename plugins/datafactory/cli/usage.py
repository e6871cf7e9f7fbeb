"""`datafactory usage report`: the usage ledger, summed per consumer, product, endpoint and status."""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from rich.console import Console
from rich.table import Table

console = Console()
errors = Console(stderr=True)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("usage", help="the product API's usage ledger")
    verbs = p.add_subparsers(dest="verb", required=True)
    report = verbs.add_parser("report", help="calls, keys and rows per consumer, product, endpoint and status")
    report.add_argument("--month", help="YYYY-MM, China time (default: this month)")
    report.add_argument("--consumer")
    report.add_argument("--csv", type=Path, help="also write the month's ledger rows to this CSV file")
    report.set_defaults(handler=usage_report)


def usage_report(args: argparse.Namespace) -> int:
    from datafactory.serving.clock import current_month, month_bounds_utc
    from datafactory.serving.ledger import select_rows
    from datafactory.serving.tables import USAGE, create_tables
    from datafactory.serving.usage import summarize
    from datafactory.settings import load_settings

    month = args.month or current_month()
    start, end = month_bounds_utc(month)
    engine = load_settings().state_engine()
    create_tables(engine)
    rows = select_rows(engine, start, end, args.consumer)
    table = Table("consumer", "product", "endpoint", "status", "calls", "keys", "rows", "p50 ms", "max ms")
    table.title = f"usage {month}" + (f", {args.consumer}" if args.consumer else "")
    for consumer, product, endpoint, status, calls, keys, got, p50, top in summarize(rows):
        table.add_row(
            consumer, product, endpoint, str(status), str(calls), str(keys), str(got), f"{p50:.2f}", f"{top:.2f}"
        )
    console.print(table)
    console.print(f"{len(rows)} ledger rows")
    if args.csv:
        args.csv.parent.mkdir(parents=True, exist_ok=True)
        with open(args.csv, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow([c.name for c in USAGE.columns])
            for row in rows:
                writer.writerow([row[c.name] for c in USAGE.columns])
        errors.print(f"wrote {len(rows)} rows to {args.csv}")
    return 0
