"""`datafactory pulls`: the pull ledger (feed, rows, bytes, watermarks, duration, outcome)."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.table import Table


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("pulls", help="list recorded pulls per feed")
    p.add_argument("--source", help="only this feed")
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    import sqlalchemy as sa

    from datafactory.settings import load_settings
    from datafactory.sources.ledger import Ledger

    ledger = Ledger(sa.create_engine(load_settings().state_url))
    table = Table("feed", "date", "rows", "bytes", "watermark before", "watermark after", "seconds", "outcome")
    for rec in ledger.history(args.source, args.limit):
        table.add_row(
            rec.source,
            str(rec.logical_date),
            str(rec.rows),
            str(rec.bytes),
            str(rec.watermark_before),
            str(rec.watermark_after),
            f"{rec.duration_s:.2f}",
            rec.outcome,
        )
    Console().print(table)
    return 0
