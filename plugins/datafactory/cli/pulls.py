"""`datafactory pulls`: every pull (feed, channel, rows, bytes, watermarks, duration, outcome) and the
files each pull took, so an operator can account for every row that arrived."""

from __future__ import annotations

import argparse
import sys

from rich.console import Console
from rich.table import Table


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("pulls", help="list recorded pulls per feed (and the files they took, with --files)")
    p.add_argument("--source", help="only this feed")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--files", action="store_true", help="list file receipts: landed, duplicate or quarantined")
    p.add_argument("--details", action="store_true", help="show each pull's notes and schema drift")
    p.set_defaults(handler=handle)


def _mark(value) -> str:
    return value.isoformat(sep=" ", timespec="seconds") if value else "-"


def _count(value) -> str:
    return "-" if value is None else str(value)


def handle(args: argparse.Namespace) -> int:
    from datafactory.settings import load_settings
    from datafactory.sources.ledger import Ledger

    ledger = Ledger(load_settings().state_engine())
    console = Console(width=None if sys.stdout.isatty() else 200)  # logs and pipes get whole rows
    if args.files:
        table = Table("feed", "date", "file", "bytes", "outcome", "reason")
        for r in ledger.file_receipts(args.source, args.limit):
            table.add_row(r.source, str(r.logical_date), r.name, str(r.bytes), r.outcome, r.reason or "")
        console.print(table)
        return 0
    table = Table(
        "feed",
        "date",
        "channel",
        "received",
        "landed",
        "dup",
        "quar.",
        "bytes",
        "watermark before",
        "watermark after",
        "s",
        "outcome",
        title="pulls (received = landed + dup + quarantined)",
    )
    notes: list[str] = []
    for rec in ledger.history(args.source, args.limit):
        outcome = rec.outcome if rec.outcome == "success" else f"[red]{rec.outcome}[/red]"
        table.add_row(
            rec.source,
            str(rec.logical_date),
            rec.channel or "-",
            _count(rec.rows_received),
            str(rec.rows),
            _count(rec.rows_duplicate),
            _count(rec.rows_quarantined),
            str(rec.bytes),
            _mark(rec.watermark_before),
            _mark(rec.watermark_after),
            f"{rec.duration_s:.2f}",
            outcome,
        )
        if args.details and (rec.message or rec.drift):
            parts = [f"drift: {rec.drift}" if rec.drift else "", rec.message or ""]
            notes.append(f"{rec.source} {rec.logical_date}: " + "; ".join(p for p in parts if p))
    console.print(table)
    for line in notes:
        console.print(line, markup=False)
    return 0
