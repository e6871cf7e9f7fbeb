"""`datafactory billing statement`: a consumer's month, priced per products/pricing/, as HTML and CSV."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

console = Console()


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("billing", help="billing statements from the usage ledger")
    verbs = p.add_subparsers(dest="verb", required=True)
    st = verbs.add_parser("statement", help="write a consumer's monthly statement (HTML and CSV)")
    st.add_argument("--consumer", required=True)
    st.add_argument("--month", required=True, help="YYYY-MM, China time")
    st.add_argument("--out", type=Path, help="folder (default: <factory home>/statements)")
    st.set_defaults(handler=write)


def write(args: argparse.Namespace) -> int:
    from datafactory.serving.billing import statement, yuan
    from datafactory.serving.clock import month_bounds_utc
    from datafactory.serving.consumers import consumer
    from datafactory.serving.ledger import select_rows
    from datafactory.serving.pricing import load_pricing
    from datafactory.serving.statement import write_statement
    from datafactory.settings import load_settings

    settings = load_settings()
    engine = settings.state_engine()
    start, end = month_bounds_utc(args.month)
    holder = consumer(engine, args.consumer)
    prices = load_pricing(settings.repo)
    rows = select_rows(engine, start, end, holder.name)
    public = {lic.id: lic.public_interest for lic in holder.licenses}
    result = statement(holder.name, args.month, rows, prices, public)
    html, text = write_statement(result, prices, args.out or settings.home / "statements")
    console.print(
        f"{holder.name} {args.month}: {result.billed_rows} billed of {result.ledger_rows} ledger rows, "
        f"total {yuan(result.total_fen)} {result.currency}",
        soft_wrap=True,
    )
    console.print(f"{html}\n{text}", soft_wrap=True)
    return 0
