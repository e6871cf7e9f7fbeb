"""`datafactory model train`: a scenario's algorithm family on a modeller's own table."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.table import Table

console = Console()


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("model", help="train scenario models on your own data")
    verbs = p.add_subparsers(dest="verb", required=True)
    train = verbs.add_parser(
        "train",
        help="train a scenario's algorithm family on a CSV or parquet file and log it to MLflow",
        description=(
            "Numeric and categorical columns are inferred; the run (params, metrics, artifacts, model card, "
            "signature) goes to the MLflow experiment '<scenario>/<file stem>'."
        ),
    )
    train.add_argument("--scenario", required=True, help="whose family, algorithm, params and tuning to use")
    train.add_argument("--data", required=True, type=Path, help="a .csv or .parquet file")
    train.add_argument("--target", required=True, help="the column to predict")
    train.add_argument("--id", dest="id_column", help="row id: the holdout is split by its hash (default: row content)")
    train.add_argument("--group", dest="group_column", help="column for the fairness table (e.g. region_code)")
    train.add_argument("--positive", help="for a binary target with two labels: the label that means bad")
    train.add_argument("--register", dest="register_as", help="also register as this model name (challenger/champion)")
    train.set_defaults(handler=handle_train)


def handle_train(args: argparse.Namespace) -> int:
    from datafactory.modeling.pipeline import train_table
    from datafactory.settings import load_settings
    from datafactory.specs import load_models

    settings = load_settings()
    specs = load_models(settings.repo)
    if args.scenario not in specs:
        raise LookupError(f"no scenario '{args.scenario}'; choose one of {', '.join(specs)}")
    if not args.data.exists():
        raise FileNotFoundError(f"{args.data}: no such file")
    with console.status(f"training {args.scenario} on {args.data.name} ..."):
        result = train_table(
            settings,
            specs[args.scenario],
            args.data,
            args.target,
            id_column=args.id_column,
            group_column=args.group_column,
            positive=args.positive,
            register_as=args.register_as,
        )
    console.print(f"family [bold]{result['family']}[/bold], MLflow experiment [bold]{result['experiment']}[/bold]")
    for r in result["candidates"]:
        table = Table("metric", "holdout", title=f"{r['candidate']}: {r['algorithm']}")
        for name, value in r["metrics"].items():
            table.add_row(name, f"{value:.4f}")
        console.print(table)
        console.print(
            f"rows: {r['train_rows']} train, {r['holdout_rows']} holdout; features: {', '.join(r['features'])}"
        )
        for column, why in r["ignored"].items():
            console.print(f"[yellow]ignored[/yellow] {column}: {why}")
        console.print(f"run id: {r['run_id']}")
        if "version" in r:
            console.print(f"registered version {r['version']} ({r['alias']}): {r['reason']}")
    console.print(f"MLflow UI: .venv/bin/mlflow ui --backend-store-uri {settings.mlflow_tracking_uri}")
    return 0
