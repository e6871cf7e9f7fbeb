"""Runs a GE 1.x suite on a pandas frame and returns JSON-safe, per-expectation outcomes.

Why it is shaped this way (profiled with bench/bench_quality.py): GE's pandas engine re-filters the
*whole* batch frame for every metric of every map expectation (non-null rows, then failing rows),
and marks each batch it loads with a hash of every cell (skipped here: the marker reaches no result).
So expectations are grouped by the columns they read (expectations sharing a column share a group)
and each group is validated on a frame holding only its columns, with few-valued string columns
dictionary-encoded; each batch is loaded once (`Batch.validate` loads it a second time); schema
checks see only the column names; and full failing-row indexes (result format COMPLETE) are asked
for only where rows get quarantined.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from datafactory.specs import ExpectationSpec, SuiteSpec

# Expectations that read whole rows or the table's shape, not a fixed set of columns.
_TABLE_WIDE = {"expect_table_columns_to_match_set", "expect_table_columns_to_match_ordered_list"}  # schema only
# GE 1.x returns results in its own order (grouped by metric), never promising the suite's. Each
# expectation carries this meta key while it is validated, and its result is matched back by it.
_REF = "factory_ref"
_DETAIL = {"result_format": "COMPLETE", "partial_unexpected_count": 5}
_SUMMARY = {"result_format": "SUMMARY", "partial_unexpected_count": 5}
_PROBE_ROWS, _FEW_VALUES = 10_000, 200  # a column with at most this many values in its first rows


@dataclass
class ExpectationOutcome:
    expectation: str
    column: str | None
    severity: str
    success: bool
    unexpected_count: int = 0
    failed_rows: list[int] = field(default_factory=list)
    sample_values: list[Any] = field(default_factory=list)
    observed: Any = None

    @property
    def label(self) -> str:
        return f"{self.expectation}({self.column})" if self.column else self.expectation


def columns_read(expectation: ExpectationSpec) -> tuple[str, ...] | None:
    """The columns an expectation reads; None for schema checks, which read only the column names."""
    if expectation.type in _TABLE_WIDE:
        return None
    kwargs = expectation.kwargs
    names = [kwargs[k] for k in ("column", "column_A", "column_B") if kwargs.get(k)]
    return tuple(dict.fromkeys([*names, *(kwargs.get("column_list") or [])]))


def _label_column(kwargs: dict[str, Any]) -> str | None:
    if kwargs.get("column"):
        return kwargs["column"]
    names = kwargs.get("column_list") or [kwargs[k] for k in ("column_A", "column_B") if kwargs.get(k)]
    return ",".join(names) or None


def plan_groups(suite: SuiteSpec, columns: list[str]) -> list[tuple[tuple[str, ...] | None, list[int]]]:
    """Expectation positions grouped by the columns they read (None: the whole table).

    Expectations that share a column share a group (connected columns), so each column is loaded
    and filtered by GE once per metric. Expectations on a missing column go to the whole-table group, where GE
    reports them failed.
    """
    owner: dict[str, int] = {}  # column -> group id
    groups: dict[int | None, tuple[set[str], list[int]]] = {}
    for position, exp in enumerate(suite.expectations):
        read = columns_read(exp)
        if read is None or not set(read) <= set(columns):
            groups.setdefault(None, (set(), []))[1].append(position)
            continue
        joined = sorted({owner[c] for c in read if c in owner})
        gid = joined[0] if joined else (-1 if not read else position)  # -1: row-count-only checks
        cols, members = groups.setdefault(gid, (set(), []))
        for other in joined[1:]:  # this expectation links two groups: merge them
            more_cols, more_members = groups.pop(other)
            cols |= more_cols
            members += more_members
        cols.update(read)
        members.append(position)
        for c in cols:
            owner[c] = gid
    return [
        (None if gid is None else tuple(c for c in columns if c in cols), sorted(members))
        for gid, (cols, members) in groups.items()
    ]


def _encoded_for_ge(frame: pd.DataFrame) -> pd.DataFrame:
    """String columns re-encoded for GE's pandas engine (same values, same nulls).

    GE filters the batch frame again for every metric. Columns with few distinct values become
    categoricals, so GE filters integer codes instead of strings. (Object arrays for the other
    strings were tried: slower.)
    """
    encoded = {}
    for column, values in frame.items():
        if not (values.dtype == object or isinstance(values.dtype, pd.StringDtype)):
            continue
        if len(values) > _PROBE_ROWS and values.iloc[:_PROBE_ROWS].nunique(dropna=True) <= _FEW_VALUES:
            encoded[column] = values.astype("category")
    return frame.assign(**encoded) if encoded else frame


def _ge_suite(name: str, expectations: dict[int, ExpectationSpec]):
    """A GE suite of the given expectations, each tagged with its position in the factory's suite."""
    from great_expectations.core.expectation_suite import ExpectationSuite
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    import datafactory.quality.custom_expectations  # noqa: F401  registers custom expectations

    suite = ExpectationSuite(name=name)
    for position, exp in expectations.items():
        meta = {**exp.meta.model_dump(exclude_none=True), _REF: position}
        suite.add_expectation(ExpectationConfiguration(type=exp.type, kwargs=exp.kwargs, meta=meta).to_domain_obj())
    return suite


def by_position(results: list[Any], expected: list[int], suite: str) -> dict[int, Any]:
    """GE's results keyed by the position of the expectation each one belongs to. Every expectation
    must have exactly one result: a result that cannot be placed is an error, never a guess."""
    placed: dict[int, Any] = {}
    for res in results:
        ref = (res.expectation_config.meta or {}).pop(_REF, None)
        if ref not in expected or ref in placed:
            raise RuntimeError(f"suite {suite}: GE returned a result that matches no expectation ({ref!r})")
        placed[ref] = res
    if len(placed) != len(expected):
        raise RuntimeError(f"suite {suite}: GE returned {len(placed)} results for {len(expected)} expectations")
    return placed


def _context():
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


_LOCAL = threading.local()  # one GE context per thread: its execution engine holds the batch being validated


def _skip_batch_fingerprint() -> None:
    """GE marks each pandas batch it loads with an md5 of every cell (`pandas_data_fingerprint`), a
    marker it already skips for frames over `HASH_THRESHOLD`. The runner's batches live for one call
    and their markers reach no result (the suite result is built here), so the hash, about a fifth of
    a 1M-row validation, is skipped for every frame."""
    from great_expectations.execution_engine import pandas_execution_engine as engine

    engine.HASH_THRESHOLD = 0


def _batch_definition():
    """The pandas whole-dataframe batch definition of a context kept for the thread (building a context
    costs ~30 ms, its first build in a process seconds). Batches are passed per validator, so no data
    lives in the definition; `_release` drops what the engine cached after each call."""
    cached = getattr(_LOCAL, "batch_definition", None)
    if cached is None:
        _skip_batch_fingerprint()
        cached = (
            _context()
            .data_sources.add_pandas("frame")
            .add_dataframe_asset("frame")
            .add_batch_definition_whole_dataframe("whole")
        )
        _LOCAL.batch_definition = cached
    return cached


def _release(batch_definition) -> None:
    """Forget the execution engine, whose batch manager holds every batch loaded by the call (the frames):
    the next call starts with a fresh engine, so no batch outlives the call or leaks into the next."""
    batch_definition.data_asset.datasource._execution_engine = None


def _outcome(res: Any, severity: str) -> ExpectationOutcome:
    cfg = res.expectation_config
    details = res.result or {}
    if res.exception_info and res.exception_info.get("raised_exception"):
        details = {"observed_value": res.exception_info.get("exception_message")}
    return ExpectationOutcome(
        expectation=cfg.type,
        column=_label_column(cfg.kwargs),
        severity=severity,
        success=bool(res.success),
        unexpected_count=int(details.get("unexpected_count") or 0),
        # Only quarantine moves rows; other severities report counts and samples.
        failed_rows=[int(i) for i in details.get("unexpected_index_list") or []] if severity == "quarantine" else [],
        sample_values=list(details.get("partial_unexpected_list") or [])[:5],
        observed=_observed(details, bool(res.success), cfg.kwargs.get("exact_match", True) is not False),
    )


def _observed(details: dict[str, Any], success: bool, exact: bool) -> Any:
    """What a person needs to see: for a failed schema check, the columns that differ, not every column
    (extra columns only when the check asks for an exact match)."""
    mismatched = (details.get("details") or {}).get("mismatched") or {}
    if success or not mismatched:
        return details.get("observed_value")
    kinds = ("missing", "unexpected") if exact else ("missing",)
    said = [f"{what} columns {sorted(mismatched[what])}" for what in kinds if mismatched.get(what)]
    return "; ".join(said) or details.get("observed_value")


def _trimmed(res: Any) -> Any:
    """A result without its full value and row lists: what Data Docs and reports keep."""
    if res.result:
        for key in ("unexpected_list", "unexpected_index_list", "unexpected_index_query"):
            res.result.pop(key, None)
    return res


def validate_frame(
    frame: pd.DataFrame, suite: SuiteSpec, parameters: dict[str, Any] | None = None
) -> tuple[list[ExpectationOutcome], Any]:
    """Validate `frame` (RangeIndex) against the suite.

    Returns the outcomes in suite order and GE's ExpectationSuiteValidationResult for the whole
    suite (full row lists trimmed), from which Data Docs are built.
    """
    from great_expectations.core.expectation_validation_result import ExpectationSuiteValidationResult
    from great_expectations.validator.v1_validator import Validator

    name, expectations = suite.name, suite.expectations
    severities = [exp.meta.severity for exp in expectations]
    batch_definition = _batch_definition()
    results: dict[int, Any] = {}
    try:
        for columns, positions in plan_groups(suite, list(frame.columns)):
            # Schema checks (and checks on missing columns) need the columns, not the rows.
            data = frame.head(0) if columns is None else _encoded_for_ge(frame[list(columns)])
            detailed = any(severities[p] == "quarantine" for p in positions)
            validator = Validator(batch_definition, _DETAIL if detailed else _SUMMARY, {"dataframe": data})
            result = validator.validate_expectation_suite(
                _ge_suite(name, {p: expectations[p] for p in positions}), parameters or {}
            )
            results.update(by_position(result.results, positions, name))
    finally:
        _release(batch_definition)
    ordered = [results[p] for p in range(len(expectations))]
    outcomes = [_outcome(res, severities[p]) for p, res in enumerate(ordered)]
    evaluated = len(ordered)
    passed = sum(bool(r.success) for r in ordered)
    suite_result = ExpectationSuiteValidationResult(
        success=passed == evaluated,
        results=[_trimmed(r) for r in ordered],
        suite_name=name,
        statistics={
            "evaluated_expectations": evaluated,
            "successful_expectations": passed,
            "unsuccessful_expectations": evaluated - passed,
            "success_percent": 100.0 * passed / evaluated if evaluated else None,
        },
        meta={"rows": len(frame)},
    )
    return outcomes, suite_result
