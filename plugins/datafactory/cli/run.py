"""`datafactory run`: the whole factory for one logical date on the configured setup.

It shows progress, not logs: one live line per DAG and task group (state, duration, rows), then a
short summary. Airflow's own output goes to var/logs/<date>/<dag>.log (`-v` streams it as well), and
each task's share to the log Airflow's UI shows.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from datetime import date
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

STYLES = {"success": "green", "failed": "bold red", "upstream_failed": "red", "running": "yellow"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="simulate the day's upstream delivery and run every DAG (dag.test)")
    p.add_argument("--date", type=date.fromisoformat, help="logical date (default: the day after the last run)")
    p.add_argument("--no-simulate", action="store_true", help="pull from a real upstream; deliver nothing")
    p.add_argument("-v", "--verbose", action="store_true", help="stream Airflow's logs too (always in var/logs)")
    p.set_defaults(handler=handle)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return f"{seconds:.1f}s" if seconds < 60 else f"{int(seconds // 60)}m{int(seconds % 60):02d}s"


class ProgressView:
    """The live table: a line per DAG, and under it a line per task group."""

    def __init__(self, dag_ids: list[str]) -> None:
        self.order = dag_ids
        self.dags: dict[str, Any] = {}
        self.lock = threading.Lock()

    def update(self, progress: Any) -> None:
        with self.lock:
            self.dags[progress.dag_id] = progress

    def __rich__(self) -> Table:
        table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
        for name, justify in (("DAG / task group", "left"), ("state", "left"), ("time", "right"), ("rows", "left")):
            table.add_column(name, justify=justify, no_wrap=True)
        with self.lock:
            for dag_id in self.order:
                p = self.dags.get(dag_id)
                if p is None:
                    continue
                table.add_row(Text(dag_id, style="bold"), _state(p.state), _duration(p.seconds), p.rows)
                for step in p.groups:
                    table.add_row(f"  {step.group}", _state(step.state), _duration(step.seconds), step.rows)
        return table


def _state(state: str) -> Text:
    return Text(state, style=STYLES.get(state, "dim"))


def handle(args: argparse.Namespace) -> int:
    from datafactory.airflow.runs import logs_folder, prepare_airflow, run_dags
    from datafactory.runner import deliver_upstream, next_logical_date
    from datafactory.settings import load_settings
    from datafactory.specs import load_models, load_products

    # The run points file descriptors 1 and 2 at its logs: the view writes to its own copy of stdout.
    sys.stdout.flush()
    console = Console(file=os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8"), highlight=False)
    settings = load_settings()
    with console.status("preparing Airflow metadata (SQLite) ..."):
        prepare_airflow(settings)
    day = args.date or next_logical_date(settings)
    if not args.no_simulate:
        with console.status(f"upstream simulator delivering {day} ..."):
            rows = deliver_upstream(settings, day)
        console.print(
            f"upstream simulator delivered [bold]{rows:,}[/bold] rows for {day} (exchange DB, API, file drops)",
            soft_wrap=True,
        )
    from datafactory.airflow.factory import INGEST_DAG  # Airflow reads its configuration at first import

    products = load_products(settings.repo)
    dag_ids = [INGEST_DAG, *(f"train_{m}" for m in load_models(settings.repo))]
    dag_ids += [f"publish_{p}" for p in products]
    view = ProgressView(dag_ids)
    console.print(f"running {len(dag_ids)} DAGs for {day}; logs in {logs_folder(settings, day)}", soft_wrap=True)
    if args.verbose:  # the logs stream to the terminal: a live table would fight them
        states = run_dags(
            dag_ids, day, settings=settings, report=view.update, verbose=True, auto_approve=settings.auto_approve
        )
        console.print(view)
    else:
        with Live(view, console=console, refresh_per_second=4, redirect_stdout=False, redirect_stderr=False):
            # dag.test() has no scheduler or API server: with auto-approve on, approvals are answered here.
            states = run_dags(dag_ids, day, settings=settings, report=view.update, auto_approve=settings.auto_approve)
    _print_summary(console, settings, day, states, list(products))
    return 0


def _print_summary(console: Console, settings: Any, day: date, states: dict[str, str], products: list[str]) -> None:
    from datafactory.products.store import open_store
    from datafactory.products.versioning import latest_version
    from datafactory.quality.report import load_model_checks, load_results
    from datafactory.zones import Zones

    zones = Zones(settings.home)
    results = load_results(zones, day)
    rows_in = sum(r["rows_in"] for r in results)
    held = sum(r["rows_quarantined"] for r in results)
    critical = sum(len(r.get("critical", [])) for r in results)
    console.rule(f"datafactory run for {day}")
    ok = sum(s == "success" for s in states.values())
    console.print(f"DAGs: {ok} of {len(states)} succeeded")
    console.print(
        f"Feeds: {len(results)}, rows in {rows_in:,}, quarantined {held:,} "
        f"({held / rows_in if rows_in else 0:.2%}), critical failures {critical}"
    )
    for check in load_model_checks(zones, day):
        flag = "shifted" if check.get("warning") else "stable"
        console.print(f"Model {check['scenario']} v{check.get('model_version', '?')}: PSI {check['psi']:.3f} ({flag})")
    store = open_store(settings.store_url, settings.s3_endpoint_url)
    for name in products:
        console.print(f"Product {name}: latest v{latest_version(store, name)}")
    reports = settings.home / "reports"
    console.print(f"Quality report: {reports / day.isoformat() / 'index.html'}")
    console.print(f"All reports:    {reports / 'index.html'} (Data Docs: {reports / 'data_docs' / 'index.html'})")
    console.print(f"Logs:           {settings.home / 'logs' / day.isoformat()}")
    console.print("Screens:        datafactory ui  (Airflow and MLflow on this state)")
