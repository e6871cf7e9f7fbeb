"""`datafactory model train|compare`: a scenario's family on a modeller's own table, and recent runs side by side.

Input errors (a missing file or column, a `--positive` that is not a value of the target, a table
with no rows, a single-class target) are found before MLflow, LightGBM and scikit-learn are imported,
so they come back in about a second. A CSV's encoding and delimiter are found from the file
(`modeling/csvformat.py`), the same way the trainer reads it.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from datafactory.modeling.file_kind import ACCEPTED, table_kind
from datafactory.modeling.header import ambiguous_column
from datafactory.modeling.labels import is_zero_one, label_text, named_label, spelling_hint
from datafactory.modeling.packed import unpacked

console = Console()


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("model", help="train scenario models on your own data; compare recent runs")
    verbs = p.add_subparsers(dest="verb", required=True)
    train = verbs.add_parser(
        "train",
        help="train a scenario's algorithm family on a CSV, Excel or parquet file and log it to MLflow",
        description=(
            "Numeric and categorical columns are inferred; identifiers, constant columns and leakage suspects "
            "are excluded (each printed with its reason). The scenario's algorithm, LightGBM and the linear (or "
            "WoE) baseline are cross-validated on the training side; the winner is refitted, every candidate is "
            "reported on the holdout, and the session goes to the MLflow experiment '<scenario>/<file stem>'."
        ),
    )
    train.add_argument("--scenario", required=True, help="whose family, algorithm, params and tuning to use")
    train.add_argument(
        "--data",
        required=True,
        type=Path,
        help="a .csv (or .tsv, .txt), .xlsx, .xls or .parquet file, recognised by its content, or one such file "
        "in a .gz or .zip; a workbook is read from the first sheet that names the target",
    )
    train.add_argument("--target", required=True, help="the column to predict")
    train.add_argument(
        "--id",
        dest="id_column",
        help="entity id, not a feature: the split hashes it (unless --group), and rows sharing an id stay on one side "
        "(default: row content)",
    )
    train.add_argument(
        "--group",
        dest="group_column",
        help="rows sharing this column's value (a customer, a patient, a site) stay together: on one side of the "
        "holdout and in one cross-validation fold; the split hashes it instead of --id, and it is not a feature",
    )
    train.add_argument("--positive", help="binary or scorecard target: the label that means bad")
    train.add_argument(
        "--classes",
        help="ordinal target: its classes least to most risky, comma-separated (default: a known scale such as "
        "低,中,高 or AAA..C, numbered classes by number, else alphabetical; the order used is printed)",
    )
    train.add_argument(
        "--register", dest="register_as", help="also register the winner under this model name (idempotent)"
    )
    train.set_defaults(handler=handle_train)

    compare = verbs.add_parser(
        "compare",
        help="recent training runs of a scenario side by side (metrics, data snapshot, git commit, promotion)",
        description="The terminal version of MLflow's compare view: one column per recent training session.",
    )
    compare.add_argument("--scenario", required=True, help="a scenario, or an own-data experiment '<scenario>/<stem>'")
    compare.add_argument("--last", type=int, default=5, help="how many recent runs (default 5)")
    compare.set_defaults(handler=handle_compare)


# --- input checks (no heavy imports) ---------------------------------------------------------------

# pandas' default missing-value markers, so this check and the trainer agree on what is labelled
NA_TEXT = frozenset(
    {"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>", "N/A"}
    | {"NA", "NULL", "NaN", "None", "n/a", "nan", "null"}
)
MAX_DISTINCT = 1000  # enough to tell labels from numbers; a regression target stops counting there


@dataclass
class TableProfile:
    """What the checks need from the modeller's file: its columns, row count and the target's values."""

    columns: list[str]
    rows: int
    labelled: int
    values: set[str]  # distinct target values as text (whole numbers without ".0"), at most MAX_DISTINCT
    repeats: dict[str, list[str]] = field(default_factory=dict)  # header texts over several columns


def _csv_profile(path: Path, target: str) -> TableProfile:
    import csv
    import itertools

    from datafactory.modeling.csvformat import sniff

    form = sniff(path)
    with path.open(newline="", encoding=form.encoding, errors="replace") as handle:
        rows = itertools.islice(csv.reader(handle, delimiter=form.delimiter), form.title_rows, None)
        return _rows_profile(path, rows, target)


def _workbook_profile(path: Path, target: str, kind: str) -> TableProfile:
    import itertools

    from datafactory.modeling.csvformat import HEAD_ROWS, title_rows
    from datafactory.modeling.workbook import data_sheet

    with data_sheet(path, target, kind) as sheet:
        head = list(itertools.islice(sheet.rows, HEAD_ROWS))
        cells = (["" if c is None else c for c in row] for row in itertools.chain(head, sheet.rows))
        return _rows_profile(path, itertools.islice(cells, title_rows(head), None), target)


def _rows_profile(path: Path, rows: Iterator[list[Any]], target: str) -> TableProfile:
    """The header, then how many rows and labelled rows, and the target's values (totals and sign-off
    lines skipped, as the trainer skips them)."""
    from datafactory.layout_marks import is_layout_row
    from datafactory.modeling.header import column_names, repeated_names, row_names_shift

    raw = list(next(rows, None) or [])
    if not raw:
        raise ValueError(f"{path.name}: the file has no header and no rows")
    header = column_names(raw)  # as the trainer names the columns
    index = header.index(target) if target in header else None
    count = labelled = 0
    values: set[str] = set()
    shifted: int | None = None  # R's row names: every row one field wider than the header, as the first
    for number, row in enumerate(rows, start=2):
        if shifted is not None and any(str(cell).strip() for cell in row) and not row_names_shift(raw, row):
            raise ValueError(
                f"{path.name}: the first data row has {shifted} fields, one more than the header (R's row "
                f"names), but data row {number - 1} does not; every row needs as many fields as the first"
            )
        if not any(str(cell).strip() for cell in row) or is_layout_row(row):
            continue
        if count == 0 and row_names_shift(raw, row):
            shifted, header = len(row), column_names(["", *raw])
            index = header.index(target) if target in header else None
        if any(cell is not None and str(cell).strip() for cell in row[len(header) :]):
            raise ValueError(
                f"{path.name}: data row {number - 1} holds a value past the header's last column; "
                "every row needs as many fields as the header"
            )
        count += 1
        if index is not None and index < len(row) and str(row[index]).strip() not in NA_TEXT:
            labelled += 1
            if len(values) < MAX_DISTINCT:
                values.add(label_text(row[index]))
    return TableProfile(header, count, labelled, values, repeated_names(raw))


def _parquet_profile(path: Path, target: str) -> TableProfile:
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(path)
    columns = list(meta.schema_arrow.names)
    rows = meta.metadata.num_rows
    if target not in columns:
        return TableProfile(columns, rows, 0, set())
    column = pq.read_table(path, columns=[target]).column(0).drop_null()
    values = {label_text(v) for v in column.unique().to_pylist()[:MAX_DISTINCT]}
    values.discard("nan")
    return TableProfile(columns, rows, len(column), values)


def profile(path: Path, target: str) -> TableProfile:
    """The file's shape and target, or one clear error naming the file."""
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if path.is_dir():
        raise IsADirectoryError(f"{path}: is a folder; give {ACCEPTED}")
    with unpacked(path) as inner:
        kind = table_kind(inner)  # an unsupported name is said before an empty file
        if inner.stat().st_size == 0:
            raise ValueError(f"{path.name}: the file is empty")
        if kind == "text":
            found = _csv_profile(inner, target)
        elif kind == "parquet":
            found = _parquet_profile(inner, target)
        else:
            found = _workbook_profile(inner, target, kind)
    if found.rows == 0:
        raise ValueError(f"{path.name}: the file has a header ({len(found.columns)} columns) but no rows")
    return found


def _values(values: set[str]) -> str:
    shown = sorted(values)
    more = f", ... ({len(shown)}{'+' if len(shown) >= MAX_DISTINCT else ''} in all)" if len(shown) > 12 else ""
    return ", ".join(shown[:12]) + more


def check_target(found: TableProfile, path: Path, args: argparse.Namespace, family: str) -> None:
    """Columns exist, the target has labelled rows, `--positive` is one of its values, and the target
    has what the family needs (two classes, three classes, numbers)."""
    for flag, column in (("--target", args.target), ("--id", args.id_column), ("--group", args.group_column)):
        if column and column not in found.columns:
            raise ValueError(f"{path.name}: no column '{column}' for {flag} (columns: {', '.join(found.columns)})")
        if column and (ambiguous := ambiguous_column(path.name, flag, column, found.repeats)):
            raise ValueError(ambiguous)
        if flag != "--target" and column == args.target:  # the split would read the label
            raise ValueError(f"{flag} {column} is the target; name the entity's column, not the outcome")
    if found.labelled == 0:
        raise ValueError(f"{path.name}: '{args.target}' is empty in all {found.rows} rows; nothing to learn from")
    values = found.values
    if args.positive is not None:
        if family not in ("binary", "scorecard"):
            raise ValueError(f"--positive is for binary and scorecard targets; {args.scenario} is {family}")
        if named_label(args.positive, values) is None:
            raise ValueError(
                f"--positive {args.positive} is not a value of '{args.target}'; its values are {_values(values)}"
                f"{spelling_hint(values)}"
            )
    if args.classes is not None:
        if family != "ordinal":
            raise ValueError(f"--classes is for ordinal targets; {args.scenario} is {family}")
        from datafactory.modeling.class_order import declared_order

        declared_order(args.classes, values)
    if len(values) == 1:
        raise ValueError(
            f"'{args.target}' has a single value ({next(iter(values))}) in all {found.labelled} labelled rows; "
            "a model needs at least two different outcomes"
        )
    if family in ("binary", "scorecard"):
        if len(values) > 2:
            raise ValueError(
                f"{args.scenario} is a {family} model, but '{args.target}' has {len(values)} values "
                f"({_values(values)}); give a two-valued target"
                + (
                    spelling_hint(values)
                    or ": keep only the rows whose outcome is known (a loan still running has "
                    "none yet), or recode the values into two in the file"
                )
            )
        if args.positive is None and not is_zero_one(values):
            raise ValueError(f"'{args.target}' has values {_values(values)}; say which one means bad with --positive")
    elif family == "ordinal" and len(values) < 3:
        raise ValueError(f"{args.scenario} grades into ordered classes; '{args.target}' has only {_values(values)}")
    elif family == "regression":
        from datafactory.modeling.number_text import missing_mark

        unreadable = sorted(v for v in values if _not_number(v) and not missing_mark(v))
        if unreadable:
            raise ValueError(
                f"{args.scenario} predicts a number; '{args.target}' has values that are not numbers "
                f"({_values(set(unreadable))}); leave such rows' target empty, or fix them"
            )


def _not_number(text: str) -> bool:
    """Not a number, even as text with separators, a currency or a percent sign (`12,345.60`, `¥800`,
    `1.234,5 €`); which decimal mark the column uses is the trainer's to decide, from all its values."""
    from datafactory.modeling.number_text import DECIMAL_MARKS, number_from_text

    try:
        float(text)
    except ValueError:
        return all(number_from_text(text, mark) is None for mark in DECIMAL_MARKS)
    return False


def _mlflow_info_hidden(args: argparse.Namespace) -> None:
    """MLflow's INFO lines (creating its tables, registering a version) are its own bookkeeping; the
    command prints what was trained and registered. Read by MLflow when it is first imported; --debug
    or a level the user set keeps them."""
    if not getattr(args, "debug", False):
        os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")


def handle_train(args: argparse.Namespace) -> int:
    from datafactory.settings import load_settings
    from datafactory.specs import load_models

    settings = load_settings()
    specs = load_models(settings.repo)
    if args.scenario not in specs:
        raise LookupError(f"no scenario '{args.scenario}'; choose one of {', '.join(specs)}")
    spec = specs[args.scenario]
    check_target(profile(args.data, args.target), args.data, args, spec.family)
    _mlflow_info_hidden(args)

    with console.status(f"training {args.scenario} on {args.data.name} ..."):
        from datafactory.modeling.pipeline import train_table

        result = train_table(
            settings,
            spec,
            args.data,
            args.target,
            id_column=args.id_column,
            group_column=args.group_column,
            positive=args.positive,
            classes=args.classes,
            register_as=args.register_as,
        )
    console.print(
        f"family [bold]{result['family']}[/bold], MLflow experiment [bold]{result['experiment']}[/bold]", soft_wrap=True
    )
    if result["reused"]:
        console.print(
            f"same data and recipe as registered version {result['version']} of {result['registered']}: "
            f"reused run {result['run_id']} (winner {result['winner'] or '?'}"
            f"{', ' + result['alias'] if result['alias'] else ''}); nothing retrained",
            soft_wrap=True,
        )
        console.print(f"run id: {result['run_id']}")
        return 0
    for what in result["layout"]:
        console.print(f"[cyan]read[/cyan] {escape(args.data.name)}: {escape(what)}", soft_wrap=True, highlight=False)
    for column, what in result["read_as_numbers"].items():
        console.print(f"[cyan]read[/cyan] {escape(column)}: {escape(what)}", soft_wrap=True, highlight=False)
    if result["class_order"]:
        order = escape(result["class_order"])
        console.print(f"[cyan]classes[/cyan], least to most risky: {order}", soft_wrap=True, highlight=False)
    if result["target_note"]:
        console.print(f"[cyan]target[/cyan] {escape(result['target_note'])}", soft_wrap=True, highlight=False)
    print_session(result, result["metric"])
    console.print(f"MLflow UI: .venv/bin/mlflow ui --backend-store-uri {settings.mlflow_tracking_uri}", soft_wrap=True)
    return 0


def text_table(header: list[str], rows: list[list[str]]) -> str:
    """Plain aligned columns: never truncated or folded, whatever the terminal's width."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def print_session(result: dict[str, Any], metric: str) -> None:
    say = lambda text: console.print(text, soft_wrap=True, highlight=False)  # noqa: E731
    for column, why in result["excluded"].items():
        say(f"[yellow]excluded[/yellow] {column}: {why}")
    for warning in result["warnings"]:
        say(f"[red]warning[/red]: {warning}")
    say(f"split: {result['split']}")
    names = list(result["candidates"][0]["holdout"])
    rows = []
    for c in result["candidates"]:
        val = c["val"].get(metric)
        shown = "-" if val is None else f"{val:.4f} ± {c['val_sd'].get(metric, 0.0):.4f}"
        name = f"{c['name']} (winner)" if c["winner"] else c["name"]
        rows.append([name, c["kind"], shown, *(f"{c['holdout'].get(m, float('nan')):.4f}" for m in names)])
    header = ["candidate", "kind", f"val_{metric} (mean ± sd)", *(f"holdout_{m}" for m in names)]
    console.print(escape(text_table(header, rows)), soft_wrap=True, highlight=False)
    say(result["selection"])
    features = ", ".join(result["features"])
    say(f"rows: {result['train_rows']} train, {result['holdout_rows']} holdout; features: {features}")
    say(f"winner: {result['winner']}")
    say(f"run id: {result['run_id']}")
    if "version" in result:
        say(f"registered version {result['version']} ({result['alias']}): {result['reason']}")


# --- compare -------------------------------------------------------------------------------------


def handle_compare(args: argparse.Namespace) -> int:
    from datafactory.settings import load_settings
    from datafactory.specs import load_models

    if args.last < 1:
        raise ValueError("--last must be at least 1")
    settings = load_settings()
    specs = load_models(settings.repo)
    scenario = args.scenario.split("/", 1)[0]
    if scenario not in specs:
        raise LookupError(f"no scenario '{scenario}'; choose one of {', '.join(specs)}")
    _mlflow_info_hidden(args)
    from datafactory.modeling.compare import recent_runs

    columns, rows = recent_runs(settings, args.scenario, args.last)
    console.print(f"{args.scenario}: the {len(columns)} most recent training runs, newest first", soft_wrap=True)
    table = text_table(["", *columns], [[name, *values] for name, values in rows])
    console.print(escape(table), soft_wrap=True, highlight=False)
    return 0
