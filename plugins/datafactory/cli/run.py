"""`datafactory run`: the whole factory for one logical date on the configured setup."""

from __future__ import annotations

import argparse
from datetime import date

from rich.console import Console

console = Console()


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="simulate the day's upstream delivery and run every DAG (dag.test)")
    p.add_argument("--date", type=date.fromisoformat, help="logical date (default: the day after the last run)")
    p.add_argument("--no-simulate", action="store_true", help="pull from a real upstream; deliver nothing")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from datafactory.runner import deliver_upstream, next_logical_date, prepare_airflow, run_dags
    from datafactory.settings import load_settings
    from datafactory.specs import load_models, load_products

    settings = load_settings()
    with console.status("preparing Airflow metadata (SQLite) ..."):
        prepare_airflow(settings)
    day = args.date or next_logical_date(settings)
    if not args.no_simulate:
        rows = deliver_upstream(settings, day)
        console.print(f"upstream simulator delivered [bold]{rows}[/bold] rows for {day} (exchange DB, API, file drops)")
    from datafactory.airflow.factory import INGEST_DAG

    products = load_products(settings.repo)
    dag_ids = [INGEST_DAG, *(f"train_{m}" for m in load_models(settings.repo))]
    dag_ids += [f"publish_{p}" for p in products]
    from datafactory.products.approval import auto_approver

    # dag.test() has no scheduler or API server: with auto-approve on, answer product approvals here.
    with auto_approver(settings.auto_approve):
        states = run_dags(dag_ids, day)
    _print_summary(settings, day, states, list(products))
    return 0


def _print_summary(settings, day: date, states: dict[str, str], products: list[str]) -> None:
    from datafactory.products.store import open_store
    from datafactory.products.versioning import latest_version

    store = open_store(settings.store_url, settings.s3_endpoint_url)
    console.rule(f"datafactory run for {day}")
    for dag_id, state in states.items():
        console.print(f"  DAG {dag_id}: [green]{state}[/green]")
    console.print(f"Quality report:   {settings.home / 'reports' / day.isoformat() / 'index.html'}")
    console.print(f"Reports index:    {settings.home / 'reports' / 'index.html'}")
    console.print(f"MLflow UI:        .venv/bin/mlflow ui --backend-store-uri {settings.mlflow_tracking_uri}")
    for name in products:
        console.print(f"Product {name}: version {latest_version(store, name)} at {settings.store_url}/{name}")
