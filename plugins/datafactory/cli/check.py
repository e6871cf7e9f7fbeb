"""`datafactory check`: validate every spec, suite and SQL file of the repo before anything runs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "check",
        help="validate every spec, suite and SQL file (one `path: problem` line per finding)",
        description=(
            "Parses sources/, expectations/, models/ and products/ into their typed specs, checks that "
            "expectation types exist in GE (ours included) and take their arguments, that suite columns and "
            "spec references exist, and that each features.sql and product SQL binds against empty tables "
            "of the declared schemas. Exits 1 with every finding, or prints one OK line."
        ),
    )
    p.add_argument("--repo", type=Path, help="the repo to check (default: the settings' repo)")
    p.set_defaults(handler=handle_check)


def handle_check(args: argparse.Namespace) -> int:
    from datafactory.specs.check import check_repo

    if args.repo is None:
        from datafactory.settings import load_settings

        args.repo = load_settings().repo
    report = check_repo(args.repo)
    # Plain lines, never wrapped: editors and CI annotate `path: problem` lines as they are.
    for line in report.findings:
        print(line)
    print(report.summary(), file=sys.stdout if report.ok else sys.stderr)
    return 0 if report.ok else 1
