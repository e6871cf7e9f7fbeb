"""Validate one raw partition, quarantine failing rows, and upsert the rest into the conformed zone."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from datafactory.quality.casting import coerce, missing_columns
from datafactory.quality.data_docs import sanitized_result
from datafactory.quality.masking import mask_value
from datafactory.quality.parameters import Delivered, suite_parameters
from datafactory.quality.runner import ExpectationOutcome, validate_frame
from datafactory.quality.split import Failures, merge_conformed, older_duplicates, row_failures, split_rows
from datafactory.specs import SourceSpec, SuiteSpec
from datafactory.zones import Zones, read_partition, write_json_atomic, write_parquet_atomic, write_partition_atomic


class QualityGateError(RuntimeError):
    """A critical expectation failed; the chain stops with this one-line reason."""


@dataclass
class Evaluation:
    typed: pd.DataFrame
    outcomes: list[ExpectationOutcome]
    failures: Failures
    critical: list[ExpectationOutcome]
    ge_result: Any  # GE's suite validation result, None when the schema was too broken to validate


def evaluate(
    spec: SourceSpec,
    suite: SuiteSpec,
    raw: pd.DataFrame,
    duplicates: pd.Series | None,
    parameters: dict[str, Any],
) -> Evaluation:
    """Every expectation on `raw` (RangeIndex) and, per row, the quarantine failures.

    `duplicates` marks older copies of a key; None computes them within `raw`.
    """
    missing = missing_columns(raw, spec.columns)
    if missing:
        broken = ExpectationOutcome(
            "expect_table_columns_to_match_set", None, "critical", False, observed=f"missing columns {missing}"
        )
        failures = row_failures(len(raw), [], pd.Series(False, index=raw.index), {})
        return Evaluation(raw, [broken], failures.with_batch_failure([broken.label]), [broken], None)
    typed, type_failures = coerce(raw, spec.landed_columns)
    if duplicates is None:
        duplicates = older_duplicates(typed, spec.keys, spec.watermark_column)
    outcomes, ge_result = validate_frame(typed, suite, parameters)
    critical = [o for o in outcomes if o.severity == "critical" and not o.success]
    failures = row_failures(len(raw), outcomes, duplicates, type_failures)
    if critical:  # the whole batch is held in quarantine, so nothing is lost or half-applied
        failures = failures.with_batch_failure([o.label for o in critical])
    return Evaluation(typed, outcomes, failures, critical, ge_result)


def conform(
    spec: SourceSpec,
    suite: SuiteSpec,
    logical_date: date,
    run_id: str,
    zones: Zones,
    delivery: Delivered | None = None,
) -> dict[str, Any]:
    """`delivery`: the pull ledger's counts for the batch, so the gate can tell an empty delivery from lost rows."""
    raw = read_partition(zones.raw_partition(spec.name, logical_date))
    parameters = suite_parameters(
        suite, spec.name, logical_date, zones, spec.row_count_tolerance, delivery=delivery, empty_day=spec.empty_day
    )
    ev = evaluate(spec, suite, raw, None, parameters)
    split = split_rows(raw, ev.typed, ev.failures, run_id, spec.name)
    write_partition_atomic(split.quarantined, zones.quarantine_partition(spec.name, logical_date))
    if not ev.critical:
        target = zones.conformed(spec.name, logical_date)
        previous = zones.conformed_as_of(spec.name, logical_date - timedelta(days=1))
        existing = pd.read_parquet(previous) if previous else None
        write_parquet_atomic(merge_conformed(existing, split.conformed, spec.keys, spec.watermark_column), target)
    result = {
        "source": spec.name,
        "suite": spec.suite,
        "logical_date": logical_date.isoformat(),
        "run_id": run_id,
        "rows_in": len(raw),
        "rows_conformed": len(split.conformed) if not ev.critical else 0,
        "rows_quarantined": len(split.quarantined),
        "rows_released": 0,
        "previous_rows_in": parameters["previous_row_count"],
        "critical": [f"{o.label}: {o.observed}" for o in ev.critical],
        "warnings": [o.label for o in ev.outcomes if o.severity == "warning" and not o.success],
        "failures_by_expectation": split.failures_by_label,
        "expectations": [public_outcome(o, spec) for o in ev.outcomes],
    }
    if ev.ge_result is not None:
        write_json_atomic(
            sanitized_result(ev.ge_result, personal_columns(spec)), ge_result_path(zones, logical_date, spec.name)
        )
    write_json_atomic(result, zones.quality_result(logical_date, spec.name))
    if ev.critical:
        raise QualityGateError(f"{spec.name}: critical expectation failed: {result['critical'][0]}")
    return result


def ge_result_path(zones: Zones, logical_date: date, source: str) -> Path:
    """GE's own validation result for a run, kept for Data Docs."""
    return zones.quality_result(logical_date, source).parent / "ge" / f"{source}.json"


def personal_columns(spec: SourceSpec) -> set[str]:
    """Declared personal fields and the SM4 tokens derived from them."""
    return {c for p in spec.pii for c in (p, f"{p}_sm4")}


def public_outcome(outcome: ExpectationOutcome, spec: SourceSpec) -> dict[str, Any]:
    """The outcome as reports may show it: no row lists, personal samples masked."""
    data = asdict(outcome)
    data.pop("failed_rows")
    personal = bool(set((outcome.column or "").split(",")) & personal_columns(spec))
    data["sample_values"] = [mask_value(v, personal) for v in outcome.sample_values]
    data["label"] = outcome.label
    return data
