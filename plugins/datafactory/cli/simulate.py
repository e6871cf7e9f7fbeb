"""`datafactory simulate`: deliver one simulated day of upstream data into the exchange database, and
nothing else (the stack's scheduler then pulls it). `datafactory run` does this before its DAG runs."""

from __future__ import annotations

import argparse
from datetime import date

from rich.console import Console


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("simulate", help="deliver a simulated day of upstream data into the exchange DB")
    p.add_argument("--date", type=date.fromisoformat, help="logical date (default: the simulator's first day)")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from datafactory.runner import deliver_upstream
    from datafactory.settings import load_settings

    settings = load_settings()
    day = args.date or date.fromisoformat(settings.first_logical_date)
    rows = deliver_upstream(settings, day)
    note = "" if rows else " (already delivered)"
    Console().print(f"delivered {rows} rows for {day} into the exchange database{note}")
    return 0
