"""The `datafactory` command. Each subcommand lives in its own module with a `register` function."""

from __future__ import annotations

import argparse
import sys

from rich.console import Console
from rich.markup import escape

from datafactory.cli import (
    billing,
    check,
    consumers,
    keys,
    model,
    products,
    pulls,
    quarantine,
    run,
    serve,
    simulate,
    ui,
    usage,
)
from datafactory.cli.errors import one_line

console = Console(stderr=True)
COMMANDS = (run, ui, pulls, products, model, quarantine, simulate, check, serve, consumers, usage, billing, keys)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="datafactory", description="Returned public data in, data products out.")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in COMMANDS:
        module.register(sub)
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        console.print("[red]interrupted[/red]")
        return 130
    except Exception as exc:  # one clear line for the operator; --debug shows the trace
        if args.debug:
            raise
        console.print(f"[red]error:[/red] {escape(one_line(exc))}", soft_wrap=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
