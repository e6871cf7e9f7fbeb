"""`datafactory products`: list, show, diff, verify, approve, restate, roll back and trace published versions."""

from __future__ import annotations

import argparse
import getpass
import json
from datetime import date
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Column, Table

console = Console()
errors = Console(stderr=True)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("products", help="published data products: versions, approval, diff, verify, rollback")
    verbs = p.add_subparsers(dest="verb", required=True)
    verbs.add_parser("list", help="every product with its versions and latest").set_defaults(handler=list_products)

    show = verbs.add_parser("show", help="a version's manifest (default: latest)")
    show.add_argument("name")
    show.add_argument("version", nargs="?", type=int)
    show.add_argument("--json", action="store_true", help="the manifest as stored")
    show.set_defaults(handler=show_product)

    diff = verbs.add_parser("diff", help="schema, rows and distribution shift between two versions")
    diff.add_argument("name")
    diff.add_argument("old", type=int)
    diff.add_argument("new", type=int)
    diff.set_defaults(handler=diff_product)

    verify = verbs.add_parser("verify", help="re-hash every file against its manifest (default: every version)")
    verify.add_argument("name")
    verify.add_argument("version", nargs="?", type=int)
    verify.set_defaults(handler=verify_product)

    rollback = verbs.add_parser("rollback", help="point latest back at an earlier approved version")
    rollback.add_argument("name")
    rollback.add_argument("version", type=int)
    rollback.add_argument("--reason", default="rolled back by an operator")
    rollback.set_defaults(handler=rollback_product)

    approve = verbs.add_parser("approve", help="answer the product's pending approval in Airflow")
    approve.add_argument("name")
    approve.add_argument("--reject", action="store_true", help="reject: the version is kept but never becomes latest")
    approve.add_argument("--by", default=getpass.getuser(), help="who answers (default: you)")
    approve.set_defaults(handler=approve_product)

    restate = verbs.add_parser(
        "restate", help="publish a date again from today's inputs and champion, recorded as a restatement of it"
    )
    restate.add_argument("name")
    restate.add_argument("--date", required=True, type=date.fromisoformat, help="the logical date to restate")
    restate.add_argument("--reason", required=True, help="why the published version of that date is replaced")
    restate.add_argument("--by", default=getpass.getuser(), help="who asks (default: you)")
    restate.set_defaults(handler=restate_product)

    trail = verbs.add_parser("history", help="every move of latest, with who and why")
    trail.add_argument("name")
    trail.set_defaults(handler=product_history)


def _store():
    from datafactory.products.pipeline import product_store
    from datafactory.settings import load_settings

    return product_store(load_settings())


def list_products(args: argparse.Namespace) -> int:
    from datafactory.products.pipeline import load_definition
    from datafactory.products.versioning import latest_version, list_versions, read_manifest
    from datafactory.settings import load_settings
    from datafactory.specs import load_products

    settings = load_settings()
    store = _store()
    table = Table("kind", "versions", "latest", "date", "rows", "owner")
    table.columns.insert(0, Column("product", no_wrap=True))
    for name in load_products(settings.repo):
        d = load_definition(settings, name)
        versions = list_versions(store, name)
        latest = latest_version(store, name)
        manifest = read_manifest(store, name, latest) if latest else {}
        span = f"{len(versions)} (v{versions[0]}-v{versions[-1]})" if versions else "-"
        table.add_row(
            name,
            d.kind,
            span,
            f"v{latest}" if latest else "-",
            manifest.get("logical_date", "-"),
            str(manifest.get("row_count", "-")),
            d.owner,
        )
    console.print(table)
    console.print(f"store: {store.url()}")
    return 0


def _version_or_latest(store, name: str, version: int | None) -> int:
    from datafactory.products.versioning import latest_version

    version = version or latest_version(store, name)
    if version is None:
        raise LookupError(f"{name} has no approved version yet; give a version number")
    return version


def show_product(args: argparse.Namespace) -> int:
    from datafactory.products.versioning import latest_version, read_decision, read_manifest

    store = _store()
    version = _version_or_latest(store, args.name, args.version)
    manifest = read_manifest(store, args.name, version)
    if args.json:
        console.print_json(json.dumps(manifest, ensure_ascii=False, default=str))
        return 0
    decision = read_decision(store, args.name, version)
    latest = latest_version(store, args.name)
    spec = manifest.get("spec") or {}
    console.rule(f"{args.name} v{version}" + (" (latest)" if latest == version else ""))
    head = Table.grid(padding=(0, 2))
    for label, value in (
        ("logical date", manifest.get("logical_date")),
        ("created", f"{manifest.get('created_at')} by {manifest.get('publisher')}"),
        ("rows", manifest.get("row_count")),
        ("spec", ", ".join(f"{k}: {v}" for k, v in spec.items() if k in ("kind", "authorized_for", "refresh", "key"))),
        ("audience", ", ".join(spec.get("audience", [])) or "-"),
        ("model", (manifest.get("model") or {}).get("uri", "none (SQL aggregate)")),
        ("review", "passed" if (manifest.get("review") or {}).get("passed") else "NOT PASSED"),
        ("restatement", _restatement_line(manifest.get("restatement"))),
        ("approval", f"{decision['decision']} by {decision['by']} at {decision['at']}" if decision else "pending"),
    ):
        head.add_row(f"[bold]{label}[/bold]", str(value))
    console.print(head)
    schema = Table("column", "type", title="schema")
    for column, kind in (manifest.get("schema") or {}).items():
        schema.add_row(column, kind)
    console.print(schema)
    files = Table("file", "bytes", "sha256", title="files")
    for entry in manifest["files"]:
        files.add_row(entry["path"], str(entry["bytes"]), entry["sha256"])
    console.print(files)
    inputs = Table("input", "partitions", "watermark", "rows in", "quarantined", title="inputs")
    quality = (manifest.get("quality") or {}).get("inputs", {})
    for source, seen in (manifest.get("inputs") or {}).items():
        q = quality.get(source, {})
        parts = seen.get("partitions", [])
        span = f"{parts[0]} .. {parts[-1]} ({len(parts)})" if parts else "-"
        inputs.add_row(
            source, span, str(seen.get("watermark")), str(q.get("rows_in", "-")), str(q.get("rows_quarantined", "-"))
        )
    console.print(inputs)
    for column, shares in (manifest.get("distribution") or {}).items():
        console.print(f"[bold]{column}[/bold]: " + ", ".join(f"{k}={v}" for k, v in shares.items()))
    return 0


def _restatement_line(restatement: dict[str, Any] | None) -> str:
    if not restatement:
        return "-"
    r = restatement
    return f"restates {r['of']} (v{r['restates']}), asked by {r['by']} at {r['at']}: {r['reason']}"


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def diff_product(args: argparse.Namespace) -> int:
    from datafactory.products.diff import diff_versions

    store = _store()
    with console.status(f"reading {args.name} v{args.old} and v{args.new} ..."):
        diff = diff_versions(store, args.name, args.old, args.new)
    console.rule(f"{args.name}: v{diff.old_version} -> v{diff.new_version}")
    for side in ("old", "new"):
        ctx = diff.context[side]
        console.print(f"{side}: logical date {ctx['logical_date']}, model version {ctx['model_version'] or '-'}")
    if diff.added_columns or diff.removed_columns or diff.retyped_columns:
        for column, kind in diff.added_columns.items():
            console.print(f"[green]+ column {column} ({kind})[/green]")
        for column, kind in diff.removed_columns.items():
            console.print(f"[red]- column {column} ({kind})[/red]")
        for column, (old, new) in diff.retyped_columns.items():
            console.print(f"[yellow]~ column {column}: {old} -> {new}[/yellow]")
    else:
        console.print("schema: unchanged")
    delta = diff.new_rows - diff.old_rows
    keys = f"keys added {diff.keys_added}, removed {diff.keys_removed}"
    console.print(f"rows: {diff.old_rows} -> {diff.new_rows} ({delta:+d}); {keys}")
    shifts = Table("column", "kind", "PSI", "verdict", "keys that changed", title="distribution shift")
    for s in diff.shifts:
        colour = {"stable": "green", "watch": "yellow", "shifted": "red"}[s.verdict]
        changed = "-" if s.changed_keys is None else str(s.changed_keys)
        shifts.add_row(s.column, s.kind, f"{s.psi:.4f}", f"[{colour}]{s.verdict}[/{colour}]", changed)
    console.print(shifts)
    for s in diff.shifts:
        if s.kind == "categorical" and len(s.old) <= 12:
            shares = Table("value", f"v{diff.old_version}", f"v{diff.new_version}", title=f"{s.column} shares")
            for value in s.old:
                shares.add_row(value, _share(s.old.get(value)), _share(s.new.get(value)))
            console.print(shares)
        elif s.kind == "numeric":
            stats = ", ".join(f"{k} {s.old.get(k, 0):.4g} -> {s.new.get(k, 0):.4g}" for k in s.new)
            console.print(f"[bold]{s.column}[/bold]: {stats}")
    return 0


def verify_product(args: argparse.Namespace) -> int:
    from datafactory.products.verify import verify_version
    from datafactory.products.versioning import list_versions, read_manifest

    store = _store()
    versions = [args.version] if args.version else list_versions(store, args.name)
    if not versions:
        raise LookupError(f"{args.name} has no published version at {store.url()}")
    total = sum(len(read_manifest(store, args.name, v)["files"]) for v in versions)
    checks = []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(f"re-hashing {args.name}", total=total)
        for version in versions:
            checks.append(verify_version(store, args.name, version, on_file=lambda _: progress.advance(task)))
    table = Table("version", "files", "result", "problems", "unreferenced files")
    for check in checks:
        result = "[green]ok[/green]" if check.ok else "[red]FAILED[/red]"
        problems = "; ".join(check.problems()) or "-"
        table.add_row(f"v{check.version}", str(len(check.files)), result, problems, str(len(check.unreferenced)))
    console.print(table)
    failed = [c for c in checks if not c.ok]
    if failed:
        console.print(f"[red]{len(failed)} of {len(checks)} versions failed verification[/red]")
        return 1
    console.print(f"[green]{len(checks)} version(s) verified: every file matches its manifest[/green]")
    return 0


def rollback_product(args: argparse.Namespace) -> int:
    from datafactory.products.versioning import rollback

    event = rollback(_store(), args.name, args.version, getpass.getuser(), args.reason)
    console.print(f"{args.name}: latest moved from v{event['from']} to v{event['to']} ({args.reason})", soft_wrap=True)
    return 0


def approve_product(args: argparse.Namespace) -> int:
    import os

    from datafactory.airflow.runs import airflow_environment
    from datafactory.settings import load_settings

    for key, value in airflow_environment(load_settings()).items():
        os.environ.setdefault(key, value)  # before the first Airflow import: it reads them once
    from datafactory.airflow.approval import PUBLISH_DAG_PREFIX, answer_pending

    answers = answer_pending(not args.reject, args.by, dag_id=f"{PUBLISH_DAG_PREFIX}{args.name}")
    if not answers:
        raise LookupError(f"no approval of {args.name} is waiting in Airflow")
    for answer in answers:
        console.print(
            f"{answer['dag_id']} run {answer['run_id']}: {answer['chosen'][0]} by {answer['by']}", soft_wrap=True
        )
    return 0


def restate_product(args: argparse.Namespace) -> int:
    """Ask for a restatement of the date in the store, then run the product's publish DAG for it."""
    from datafactory.airflow.runs import prepare_airflow, run_dags
    from datafactory.products.pipeline import load_definition, product_store
    from datafactory.products.versioning import (
        close_restatement,
        latest_version,
        request_restatement,
        restatement_outcome,
    )
    from datafactory.settings import load_settings

    settings = load_settings()
    load_definition(settings, args.name)
    store, day = product_store(settings), args.date.isoformat()
    request = request_restatement(store, args.name, day, args.by, args.reason)
    console.print(f"{args.name}: restatement of {day} requested by {request['by']} ({request['id']})", soft_wrap=True)
    try:
        prepare_airflow(settings)
        run_dags([f"publish_{args.name}"], args.date, settings=settings, auto_approve=settings.auto_approve)
    finally:  # a failed run closes the request too: a later plain rerun must never restate by accident
        outcome = restatement_outcome(store, args.name, day, request["id"]) or close_restatement(
            store, args.name, day, request["id"], {"version": None, "reused": False, "restates": None, "failed": True}
        )
    latest = latest_version(store, args.name)
    if outcome.get("reused"):
        console.print(f"{args.name} {day}: the output is the same as v{outcome['version']}; nothing new published")
    else:
        note = "" if latest == outcome["version"] else " (it holds an earlier date than latest, which stays)"
        console.print(
            f"{args.name} {day}: v{outcome['version']} restates v{outcome['restates']}; latest v{latest}{note}",
            soft_wrap=True,
        )
    return 0


def product_history(args: argparse.Namespace) -> int:
    from datafactory.products.versioning import history

    table = Table("at", "action", "from", "to", "by", "reason")
    events: list[dict[str, Any]] = history(_store(), args.name)
    for e in events:
        table.add_row(e["at"], e["action"], f"v{e['from']}" if e["from"] else "-", f"v{e['to']}", e["by"], e["reason"])
    console.print(table)
    return 0
