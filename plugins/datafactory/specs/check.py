"""`datafactory check`: every spec, suite and SQL file of a repo, checked before anything runs.

Pure: returns one `path: problem` line per finding (paths relative to the repo), all of them, never
raising. A spec that does not parse is reported once; checks that need it (its suite's columns, the
SQL over it) are skipped rather than reported again as consequences. GE is imported only for the
expectation check, DuckDB only for the SQL check, Airflow never.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from datafactory.specs import read_yaml
from datafactory.specs.base import SpecError, problems
from datafactory.specs.feed import PlatformConflictError, SourceSpec, platforms
from datafactory.specs.model import ModelSpec, declared_outputs, model_spec
from datafactory.specs.product import ProductSpec, model_problems
from datafactory.specs.suite import SuiteSpec

COLUMN_KWARGS = ("column", "column_A", "column_B", "column_list", "column_set")
# Conformed parquet as DuckDB sees it (quality/casting.py): dates are cast to timestamps.
DUCKDB_TYPES = {
    "string": "VARCHAR",
    "int": "BIGINT",
    "float": "DOUBLE",
    "date": "TIMESTAMP",
    "timestamp": "TIMESTAMP",
    "bool": "BOOLEAN",
}
S = TypeVar("S", bound=BaseModel)


@dataclass
class Report:
    findings: list[str] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.findings

    def summary(self) -> str:
        counts = ", ".join(f"{n} {what}" for what, n in self.checked.items())
        return f"datafactory check: {counts}: OK" if self.ok else f"datafactory check: {len(self.findings)} problem(s)"


@dataclass
class _Repo:
    root: Path
    report: Report
    feeds: dict[str, SourceSpec | None] = field(default_factory=dict)  # None: there, but broken
    suites: dict[str, SuiteSpec | None] = field(default_factory=dict)
    models: dict[str, ModelSpec | None] = field(default_factory=dict)
    products: dict[str, ProductSpec | None] = field(default_factory=dict)
    features: dict[str, dict[str, str]] = field(default_factory=dict)  # scenario -> its SQL's columns

    def rel(self, path: Path) -> str:
        return str(path.relative_to(self.root)) if path.is_relative_to(self.root) else str(path)

    def add(self, where: Path | str, problem: str) -> None:
        self.report.findings.append(f"{self.rel(where) if isinstance(where, Path) else where}: {problem}")

    @contextmanager
    def guarded(self, where: Path) -> Iterator[None]:
        """A bug in a check becomes a finding on the file it was checking, never a traceback."""
        try:
            yield
        except Exception as exc:
            self.add(where, f"could not be checked: {type(exc).__name__}: {_one_line(exc)}")


def check_repo(repo: Path, *, expectations: bool = True) -> Report:
    """All findings for the repo at `repo`; `expectations=False` skips the (slow to import) GE check."""
    r = _Repo(repo.resolve(), Report())
    if not r.root.is_dir():
        r.add(str(repo), "not a directory")
        return r.report
    _parse_specs(r)
    _check_references(r)
    if expectations:
        _check_expectations(r)
    _check_sql(r)
    r.report.checked = {
        "feeds": len(r.feeds),
        "suites": len(r.suites),
        "models": len(r.models),
        "products": len(r.products),
        "SQL files": len(r.features) + sum(1 for p in r.products.values() if p is not None),
    }
    return r.report


# --- each file parses into its typed model --------------------------------------------------------


def _typed(r: _Repo, path: Path, read: Callable[[Path], Any], validate: Callable[[Any], S]) -> S | None:
    try:
        return validate(read(path))
    except ValidationError as exc:
        for line in problems(r.rel(path), exc):
            r.report.findings.append(line)
    except SpecError as exc:  # read_yaml names the absolute path; report it relative, as every other line
        r.add(path, str(exc).removeprefix(f"{path}: "))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        r.add(path, f"cannot read: {_one_line(exc)}")
    return None


def _named(r: _Repo, path: Path, spec: Any, field_name: str, expected: str) -> Any:
    if spec is not None and getattr(spec, field_name) != expected:
        r.add(path, f"{field_name}: {getattr(spec, field_name)!r} differs from the file name {expected!r}")
        return None
    return spec


def _parse_specs(r: _Repo) -> None:
    for path in sorted((r.root / "sources").glob("*.yaml")):
        spec = _typed(r, path, read_yaml, SourceSpec.model_validate)
        r.feeds[path.stem] = _named(r, path, spec, "name", path.stem)
    for path in sorted((r.root / "expectations").glob("*.json")):
        suite = _typed(r, path, lambda p: json.loads(p.read_text(encoding="utf-8")), SuiteSpec.model_validate)
        r.suites[path.stem] = _named(r, path, suite, "name", path.stem)
    for path in sorted((r.root / "models").glob("*/model.yaml")):
        model = _typed(r, path, read_yaml, model_spec)
        model = _named(r, path, model, "scenario", path.parent.name)
        r.models[path.parent.name] = None if model is None else model.located(path.parent)
    for path in sorted((r.root / "products").glob("*.yaml")):
        product = _typed(r, path, read_yaml, ProductSpec.model_validate)
        r.products[path.stem] = _named(r, path, product, "name", path.stem)


# --- names that must point at something -------------------------------------------------------


def feed_columns(spec: SourceSpec) -> dict[str, str]:
    """Columns of a feed after ingest, with their DuckDB types: the declared ones, personal fields as
    pseudonym or token text, and the columns ingest derives (sources/protect.py)."""
    columns = {name: DUCKDB_TYPES[kind] for name, kind in spec.kinds.items()}
    for name, rule in spec.pii.items():
        columns[name] = "VARCHAR"
        if rule.validate_as:
            columns[f"{name}_valid"] = "BIGINT"
        if rule.action == "pseudonymize_and_encrypt":
            columns[f"{name}_sm4"] = "VARCHAR"
    return columns


def _suite_columns(r: _Repo, suite_name: str, columns: set[str], owner: str) -> None:
    suite = r.suites.get(suite_name)
    if suite is None:
        return
    path = r.root / "expectations" / f"{suite_name}.json"
    for i, exp in enumerate(suite.expectations):
        named: list[Any] = []
        for kwarg in COLUMN_KWARGS:
            value = exp.kwargs.get(kwarg)
            named += value if isinstance(value, list) else [value] if isinstance(value, str) else []
        unknown = [c for c in named if c not in columns]
        if unknown:
            listed = ", ".join(repr(c) for c in unknown)
            r.add(path, f"expectations.{i}: {exp.type}: column {listed} is not a column of {owner}")


def _inputs(r: _Repo, path: Path, inputs: list[str]) -> None:
    for name in inputs:
        if name not in r.feeds:
            r.add(path, f"inputs: {name!r} is not a feed in sources/")


def _check_references(r: _Repo) -> None:
    loaded = [feed for feed in r.feeds.values() if feed is not None]
    try:
        platforms(loaded)  # one platform is one licence: its feeds must agree on its connection limit
    except PlatformConflictError as exc:
        r.add(r.root / "sources" / f"{exc.feed}.yaml", f"platform: {exc}")
    for name, feed in r.feeds.items():
        if feed is None:
            continue
        path = r.root / "sources" / f"{name}.yaml"
        if feed.suite not in r.suites:
            r.add(path, f"suite: expectations/{feed.suite}.json does not exist")
        else:
            _suite_columns(r, feed.suite, set(feed_columns(feed)), f"sources/{name}.yaml")
    for name, model in r.models.items():
        if model is None:
            continue
        path = r.root / "models" / name / "model.yaml"
        _inputs(r, path, model.inputs)
        if not model.features_path.is_file():
            r.add(path, f"features: {r.rel(model.features_path)} does not exist")
    for name, product in r.products.items():
        if product is None:
            continue
        path = r.root / "products" / f"{name}.yaml"
        _inputs(r, path, product.inputs)
        if product.model is not None:
            if product.model not in r.models:
                r.add(path, f"model: {product.model!r} has no models/{product.model}/model.yaml")
            elif (model := r.models[product.model]) is not None:
                known = [i for i in product.inputs if i in r.feeds]  # a missing feed is reported once, above
                for problem in model_problems(
                    product.model_copy(update={"inputs": known}), model.scenario, model.inputs
                ):
                    r.add(path, problem)
        if product.suite not in r.suites:
            r.add(path, f"suite: expectations/{product.suite}.json does not exist")
        else:
            _suite_columns(r, product.suite, set(product.schema), f"the schema of products/{name}.yaml")


# --- expectations exist in GE and take their kwargs ----------------------------------------------------


def _check_expectations(r: _Repo) -> None:
    suites = {name: suite for name, suite in r.suites.items() if suite is not None}
    if not suites:
        return
    from great_expectations.exceptions import ExpectationNotFoundError
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration
    from great_expectations.expectations.registry import get_expectation_impl

    import datafactory.quality.custom_expectations  # noqa: F401  # registers ours with GE

    for name, suite in suites.items():
        path = r.root / "expectations" / f"{name}.json"
        for i, exp in enumerate(suite.expectations):
            try:
                get_expectation_impl(exp.type)
            except ExpectationNotFoundError:
                r.add(
                    path,
                    f"expectations.{i}: {exp.type} is not a GE expectation (nor one in quality/custom_expectations.py)",
                )
                continue
            try:
                ExpectationConfiguration(type=exp.type, kwargs=dict(exp.kwargs)).to_domain_obj()
            except Exception as exc:
                r.add(path, f"expectations.{i}: {exp.type}: {_ge_problem(exc)}")


def _ge_problem(exc: Exception) -> str:
    """GE's (pydantic v1) errors, one per argument, on one line."""
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return _one_line(exc)
    first: dict[str, str] = {}
    for error in errors():
        where = ".".join(str(p) for p in error.get("loc", ()))
        first.setdefault(where, error.get("msg", ""))
    return "; ".join(f"{where}: {msg}" if where != "__root__" else msg for where, msg in first.items())


# --- SQL binds against empty tables of the declared schemas -----------------------------------------------


def _check_sql(r: _Repo) -> None:
    import duckdb

    from datafactory.modeling.features import sql_parameters

    as_of = date(2026, 1, 1)  # any date: nothing is read
    for name, model in r.models.items():
        if model is None or not model.features_path.is_file() or not _bindable(r, model.inputs):
            continue
        sql_path = model.features_path
        with r.guarded(sql_path):
            sql = model.features_sql
            try:
                parameters = sql_parameters(sql, as_of, model.sql_params)
            except KeyError as exc:
                r.add(sql_path, str(exc.args[0]))
                continue
            columns = _bind(r, sql_path, duckdb, {s: feed_columns(r.feeds[s]) for s in model.inputs}, sql, parameters)  # type: ignore[arg-type]
            if columns is None:
                continue
            r.features[name] = columns
            spec_path = r.root / "models" / name / "model.yaml"
            for column, section in model.declared_columns.items():
                if column not in columns:
                    r.add(spec_path, f"{section}: {column!r} is not a column of {model.features}'s output")
    for name, product in r.products.items():
        if product is None:
            continue
        path = r.root / "products" / f"{name}.yaml"
        with r.guarded(path):
            tables = _product_tables(r, product)
            if tables is None:
                continue
            # What products/build.py binds: `$as_of` and `$k`, only those the SQL uses.
            used = set(re.findall(r"\$([A-Za-z_]\w*)", product.output))
            values = {"as_of": as_of.isoformat(), "k": product.pii.k}
            if used - set(values):
                r.add(path, f"output: uses ${', $'.join(sorted(used - set(values)))}; only $as_of and $k are bound")
                continue
            parameters = {k: v for k, v in values.items() if k in used}
            columns = _bind(r, path, duckdb, tables, product.output, parameters, prefix="output: ")
            if columns is None:
                continue
            grades = set(product.grades)
            missing = [c for c in product.schema if c not in columns and c not in grades]
            if missing:
                r.add(path, f"schema: {missing} are not columns of the output")
            for column, grade in product.grades.items():
                if grade.source not in columns:
                    r.add(path, f"grades.{column}.from: {grade.source!r} is not a column of the output")


def _bindable(r: _Repo, inputs: list[str]) -> bool:
    return all(r.feeds.get(s) is not None for s in inputs)


def _product_tables(r: _Repo, product: ProductSpec) -> dict[str, dict[str, str]] | None:
    """The tables the product's SQL sees (None when a broken spec upstream makes them unknown)."""
    if not product.is_model:
        if not _bindable(r, product.inputs):
            return None
        return {s: feed_columns(r.feeds[s]) for s in product.inputs}  # type: ignore[arg-type]
    model = r.models.get(product.model or "")
    if model is None or product.model not in r.features:
        return None
    outputs = declared_outputs(model)
    # predict's outputs replace feature columns of the same name; then the version and reasons.
    scored = {c: t for c, t in r.features[product.model].items() if c not in outputs}
    scored |= outputs | {"model_version": "VARCHAR"}
    if product.reasons is not None:
        scored["reasons"] = "VARCHAR"
    return {"scored": scored}


def _bind(
    r: _Repo,
    where: Path,
    duckdb: Any,
    tables: dict[str, dict[str, str]],
    sql: str,
    parameters: dict[str, Any],
    prefix: str = "",
) -> dict[str, str] | None:
    """Runs `sql` over empty tables; its output columns and types, or None after reporting the error."""
    from datafactory.sandbox import LOCKDOWN

    con = duckdb.connect()
    try:
        for table, columns in tables.items():
            declared = ", ".join(f'"{c}" {t}' for c, t in columns.items())
            con.execute(f'CREATE TABLE "{table}" ({declared})')
        for statement in LOCKDOWN:  # as the engine runs spec SQL: a `COPY ... TO` must not write here either
            con.execute(statement)
        try:
            relation = con.sql(sql, params=parameters)
        except duckdb.Error as exc:
            r.add(where, prefix + _one_line(exc))
            return None
        if relation is None:
            r.add(where, prefix + "is not a query (no result columns)")
            return None
        return {c: str(t) for c, t in zip(relation.columns, relation.types, strict=True)}
    finally:
        con.close()


def _one_line(exc: BaseException) -> str:
    """An error's first line, with DuckDB's `LINE n` pointer when it gives one."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    at = next((line.split(":", 1)[0] for line in lines[1:] if line.startswith("LINE ")), None)
    return f"{lines[0]} ({at.lower()})" if at else lines[0]
