"""`datafactory quarantine`: list quarantined rows, and release them after a fix."""

from __future__ import annotations

import argparse
import sys
from datetime import date

from rich.console import Console
from rich.table import Table

console = Console(width=None if sys.stdout.isatty() else 160)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("quarantine", help="rows and files held back by ingest (parse time) and by quality checks")
    verbs = p.add_subparsers(dest="verb", required=True)
    show = verbs.add_parser("list", help="quarantined rows per feed and date, with their reasons")
    show.add_argument("--source", help="only this feed")
    show.add_argument("--date", type=date.fromisoformat, help="only this logical date (YYYY-MM-DD)")
    show.set_defaults(handler=list_command)
    move = verbs.add_parser(
        "release",
        help="re-parse a date's parse-time rejects and re-validate its quarantined rows; move those that now pass",
    )
    move.add_argument("--source", required=True, help="the feed")
    move.add_argument("--date", required=True, type=date.fromisoformat, help="the logical date (YYYY-MM-DD)")
    move.set_defaults(handler=release_command)


def list_command(args: argparse.Namespace) -> int:
    from datafactory.quality.quarantine_view import list_quarantine
    from datafactory.settings import load_settings
    from datafactory.zones import Zones

    entries = list_quarantine(Zones(load_settings().home), args.source, args.date)
    table = Table("feed", "date", "stage", "rows", "reasons (rows)")
    for e in entries:
        ranked = sorted(e.reasons.items(), key=lambda kv: -kv[1])
        reasons = "\n".join(f"{label.removeprefix('expect_')}: {n}" for label, n in ranked)
        table.add_row(e.source, e.logical_date, e.stage, str(e.rows), reasons)
    console.print(table)
    console.print(f"{sum(e.rows for e in entries)} row(s) in quarantine")
    return 0


def release_command(args: argparse.Namespace) -> int:
    from datafactory.quality.release import release
    from datafactory.settings import load_settings
    from datafactory.specs import load_sources, load_suite
    from datafactory.zones import Zones

    settings = load_settings()
    specs = load_sources(settings.repo)
    if args.source not in specs:
        raise LookupError(f"unknown feed {args.source!r}; feeds are: {', '.join(sorted(specs))}")
    spec = specs[args.source]
    with console.status(f"re-validating {spec.name} {args.date} against the current suite ..."):
        result = release(
            spec,
            load_suite(settings.repo, spec.suite),
            args.date,
            Zones(settings.home),
            pseudonym_key=settings.pseudonym_key(),
            sm4_key=settings.sm4_key() if spec.pii else None,
        )
    readmitted = (
        f", {result.readmitted} parse-time reject(s) now parse and were re-validated" if result.readmitted else ""
    )
    console.print(
        f"{result.source} {result.logical_date}: checked {result.checked}, released {result.released} "
        f"into the conformed zone, {result.remaining} still quarantined{readmitted}"
    )
    return 0
