"""Validate one raw partition, quarantine failing rows, and upsert the rest into the conformed zone."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, timedelta
from typing import Any

import pandas as pd

from datafactory.quality.casting import coerce, missing_columns
from datafactory.quality.masking import mask_value
from datafactory.quality.runner import ExpectationOutcome, validate_frame
from datafactory.quality.split import merge_conformed, older_duplicates, row_failures, split_rows
from datafactory.specs import SourceSpec
from datafactory.zones import Zones, write_json_atomic, write_parquet_atomic, write_partition_atomic


class QualityGateError(RuntimeError):
    """A critical expectation failed; the chain stops with this one-line reason."""


def conform(
    spec: SourceSpec, suite_json: dict[str, Any], logical_date: date, run_id: str, zones: Zones
) -> dict[str, Any]:
    raw = pd.read_parquet(zones.raw_partition(spec.name, logical_date)).reset_index(drop=True)
    missing = missing_columns(raw, spec.columns)
    if missing:
        outcomes = [
            ExpectationOutcome(
                "expect_table_columns_to_match_set", None, "critical", False, observed=f"missing columns {missing}"
            )
        ]
        typed, type_failures, duplicates = raw, {}, pd.Series(False, index=raw.index)
    else:
        typed, type_failures = coerce(raw, spec.columns)
        duplicates = older_duplicates(typed, spec.keys, spec.watermark_column)
        outcomes, _ = validate_frame(typed, suite_json, {"logical_date": logical_date.isoformat()})
    critical = [o for o in outcomes if o.severity == "critical" and not o.success]
    reasons = row_failures(len(raw), outcomes, duplicates, type_failures)
    if critical:  # the whole batch is held in quarantine, so nothing is lost or half-applied
        reasons = [[o.label for o in critical] + r for r in reasons]
    split = split_rows(raw, typed, reasons, run_id, spec.name)
    write_partition_atomic(split.quarantined, zones.quarantine_partition(spec.name, logical_date))
    if not critical:
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
        "rows_conformed": len(split.conformed) if not critical else 0,
        "rows_quarantined": len(split.quarantined),
        "critical": [f"{o.label}: {o.observed}" for o in critical],
        "failures_by_expectation": split.failures_by_label,
        "expectations": [_public(o, spec) for o in outcomes],
    }
    write_json_atomic(result, zones.quality_result(logical_date, spec.name))
    if critical:
        raise QualityGateError(f"{spec.name}: critical expectation failed: {result['critical'][0]}")
    return result


def _public(outcome: ExpectationOutcome, spec: SourceSpec) -> dict[str, Any]:
    """The outcome as reports may show it: no row lists, personal samples masked."""
    data = asdict(outcome)
    data.pop("failed_rows")
    personal = outcome.column in spec.pii
    data["sample_values"] = [mask_value(v, personal) for v in outcome.sample_values]
    data["label"] = outcome.label
    return data
