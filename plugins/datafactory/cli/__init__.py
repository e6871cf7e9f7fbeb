"""The `datafactory` command. Each subcommand lives in its own module with a `register` function."""

from __future__ import annotations

import argparse
import sys

from rich.console import Console

from datafactory.cli import model, products, pulls, quarantine, run, simulate

console = Console(stderr=True)
COMMANDS = (run, pulls, products, model, quarantine, simulate)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="datafactory", description="Returned public data in, data products out.")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in COMMANDS:
        module.register(sub)
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        console.print("[red]interrupted[/red]")
        return 130
    except Exception as exc:  # one clear line for the operator; the trace is in the task logs
        if isinstance(exc, (ValueError, RuntimeError, OSError, LookupError)):
            console.print(f"[red]error:[/red] {exc}")
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
