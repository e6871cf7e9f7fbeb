"""Runs a GE 1.x suite on a pandas frame and returns JSON-safe, per-expectation outcomes."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

SEVERITIES = ("critical", "quarantine", "warning")


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


def _suite(suite_json: dict[str, Any]):
    from great_expectations.core.expectation_suite import ExpectationSuite
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    import datafactory.quality.custom_expectations  # noqa: F401  registers custom expectations

    suite = ExpectationSuite(name=suite_json["name"], meta=suite_json.get("meta", {}))
    for exp in suite_json["expectations"]:
        suite.add_expectation_configuration(
            ExpectationConfiguration(type=exp["type"], kwargs=exp.get("kwargs", {}), meta=exp.get("meta", {}))
        )
    return suite


def _context():
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


def validate_frame(
    frame: pd.DataFrame, suite_json: dict[str, Any], parameters: dict[str, Any] | None = None
) -> tuple[list[ExpectationOutcome], dict[str, Any]]:
    """Validate `frame` (RangeIndex) against the suite; returns outcomes and GE's describe_dict()."""
    context = _context()
    asset = context.data_sources.add_pandas("frame").add_dataframe_asset("frame")
    batch = asset.add_batch_definition_whole_dataframe("whole").get_batch(batch_parameters={"dataframe": frame})
    result = batch.validate(
        _suite(suite_json), expectation_parameters=parameters or {}, result_format={"result_format": "COMPLETE"}
    )
    outcomes = []
    for res in result.results:
        cfg = res.expectation_config
        severity = (cfg.meta or {}).get("severity", "critical")
        if severity not in SEVERITIES:
            raise ValueError(f"suite {suite_json['name']}: unknown severity {severity!r} on {cfg.type}")
        details = res.result or {}
        if res.exception_info and res.exception_info.get("raised_exception"):
            details = {"observed_value": res.exception_info.get("exception_message")}
        outcomes.append(
            ExpectationOutcome(
                expectation=cfg.type,
                column=cfg.kwargs.get("column") or ",".join(cfg.kwargs.get("column_list") or []) or None,
                severity=severity,
                success=bool(res.success),
                unexpected_count=int(details.get("unexpected_count") or 0),
                failed_rows=[int(i) for i in details.get("unexpected_index_list") or []],
                sample_values=list(details.get("partial_unexpected_list") or [])[:5],
                observed=details.get("observed_value"),
            )
        )
    return outcomes, result.describe_dict()
