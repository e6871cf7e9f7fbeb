"""Custom GE 1.x expectations for Chinese public data. Importing this module registers them.

Row rules are vectorized functions in `quality.rules`; each metric here only adapts one to GE.
GE hands map metrics the non-null values of a column, so nulls are left to not-null checks.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
from great_expectations.compatibility.pydantic import Field
from great_expectations.core.suite_parameters import SuiteParameterDict
from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import (
    BatchExpectation,
    ColumnAggregateExpectation,
    ColumnMapExpectation,
    ColumnPairMapExpectation,
)
from great_expectations.expectations.metrics import (
    ColumnAggregateMetricProvider,
    ColumnMapMetricProvider,
    column_aggregate_value,
    column_condition_partial,
)
from great_expectations.expectations.metrics.map_metric_provider import (
    ColumnPairMapMetricProvider,
    column_pair_condition_partial,
)

from datafactory.quality import key_sets, rules
from datafactory.quality.drift import psi

Param = SuiteParameterDict  # a kwarg may be a {"$PARAMETER": name} reference filled at validation


def _mask(column: pd.Series, values: np.ndarray) -> pd.Series:
    return pd.Series(values, index=column.index)


# --- identifiers -------------------------------------------------------------------------------


class ColumnValuesValidUscc(ColumnMapMetricProvider):
    condition_metric_name = "column_values.valid_uscc"

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, **kwargs) -> pd.Series:
        return _mask(column, rules.valid_uscc(column))


class ExpectColumnValuesToBeValidUscc(ColumnMapExpectation):
    """Unified Social Credit Codes (GB 32100-2015) with a correct check character. In feed suites it
    runs at warning severity: it flags early pilot codes, which are real but fail the check."""

    map_metric = "column_values.valid_uscc"


class ColumnValuesWellFormedUscc(ColumnMapMetricProvider):
    condition_metric_name = "column_values.well_formed_uscc"

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, **kwargs) -> pd.Series:
        return _mask(column, rules.uscc_structure_ok(column))


class ExpectColumnValuesToBeWellFormedUscc(ColumnMapExpectation):
    """USCC structure whatever the check character: 18 characters of the alphabet, a known
    registering authority, a numeric area code, a correct embedded GB 11714 organization-code check.
    Early pilot codes pass (the strict check flags them); mangled codes fail."""

    map_metric = "column_values.well_formed_uscc"


class ColumnPairValidUsccOrPilot(ColumnPairMapMetricProvider):
    condition_metric_name = "column_pair_values.valid_uscc_or_pilot"
    condition_domain_keys = (
        "batch_id",
        "table",
        "column_A",
        "column_B",
        "row_condition",
        "condition_parser",
        "ignore_row_if",
    )
    condition_value_keys = ("standard_date",)

    @column_pair_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column_A: pd.Series, column_B: pd.Series, standard_date: str, **kwargs) -> pd.Series:
        ok = rules.valid_uscc_or_pilot(column_A, column_B, pd.Timestamp(standard_date).date())
        return _mask(column_A, ok | column_A.isna().to_numpy())


class ExpectColumnPairValuesToBeValidUsccOrPilot(ColumnPairMapExpectation):
    """column_A is a valid USCC, or a well-formed pilot-era code: its check character fails but the
    entity's date in column_B is before GB 32100-2015 took effect (`standard_date`)."""

    map_metric = "column_pair_values.valid_uscc_or_pilot"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly", "standard_date", "ignore_row_if")
    standard_date: str = rules.USCC_STANDARD_DATE.isoformat()
    ignore_row_if: str = "both_values_are_missing"


class ColumnValuesValidResidentId(ColumnMapMetricProvider):
    condition_metric_name = "column_values.valid_resident_id"
    condition_value_keys = ("area_prefixes", "reference_date")

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, area_prefixes=None, reference_date=None, **kwargs) -> pd.Series:
        return _mask(column, rules.valid_resident_id(column, area_prefixes, reference_date))


class ExpectColumnValuesToBeValidResidentId(ColumnMapExpectation):
    """Resident IDs (GB 11643-1999): known area prefix, real birth date, correct check character.

    Personal fields are pseudonymized at ingest, so ingest runs this rule on the clear values and
    keeps the verdict as `<column>_valid`; this expectation checks clear values wherever they exist.
    """

    map_metric = "column_values.valid_resident_id"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly", "area_prefixes", "reference_date")
    area_prefixes: list[str] | Param | None = None
    reference_date: str | Param | None = None


class ColumnValuesMainlandMobile(ColumnMapMetricProvider):
    condition_metric_name = "column_values.mainland_mobile"

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, **kwargs) -> pd.Series:
        return _mask(column, rules.mainland_mobile(column))


class ExpectColumnValuesToBeMainlandMobile(ColumnMapExpectation):
    """Mainland China mobile numbers: optional +86/0086, then 1[3-9] and nine digits."""

    map_metric = "column_values.mainland_mobile"


class ColumnValuesAreaCodeInRegions(ColumnMapMetricProvider):
    condition_metric_name = "column_values.area_code_in_regions"
    condition_value_keys = ("regions",)

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, regions: list[str], **kwargs) -> pd.Series:
        return _mask(column, rules.area_code_in_regions(column, regions))


class ExpectColumnValuesToBeAreaCodeInRegions(ColumnMapExpectation):
    """GB/T 2260 area codes below the province level, inside one of the configured `regions`
    (e.g. 330200 admits every Ningbo county such as Yuyao 330281)."""

    map_metric = "column_values.area_code_in_regions"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly", "regions")
    regions: list[str] | Param


class ColumnValuesValidIcd10(ColumnMapMetricProvider):
    condition_metric_name = "column_values.valid_icd10"
    condition_value_keys = ("chapters",)

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, chapters=None, **kwargs) -> pd.Series:
        return _mask(column, rules.valid_icd10(column, chapters))


class ExpectColumnValuesToBeValidIcd10(ColumnMapExpectation):
    """ICD-10 codes (letter, two digits, optional .subcode) inside a WHO chapter, or inside the
    listed `chapters` (Roman numerals, e.g. ["II", "IX"])."""

    map_metric = "column_values.valid_icd10"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly", "chapters")
    chapters: list[str] | Param | None = None


class ColumnValuesTaxCreditGrade(ColumnMapMetricProvider):
    condition_metric_name = "column_values.tax_credit_grade"

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, **kwargs) -> pd.Series:
        return _mask(column, rules.tax_credit_grade(column))


class ExpectColumnValuesToBeTaxCreditGrade(ColumnMapExpectation):
    """Tax credit grades (纳税信用等级): one of A, B, M, C, D."""

    map_metric = "column_values.tax_credit_grade"


class ColumnValuesNotInFuture(ColumnMapMetricProvider):
    condition_metric_name = "column_values.not_in_future"
    condition_value_keys = ("reference_date",)

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, reference_date: str, **kwargs) -> pd.Series:
        return _mask(column, rules.not_in_future(column, reference_date))


class ExpectColumnValuesToNotBeInFuture(ColumnMapExpectation):
    """Dates are on or before the reference date (the run's logical date)."""

    map_metric = "column_values.not_in_future"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly", "reference_date")
    reference_date: str | Param


class ColumnValuesNonNegative(ColumnMapMetricProvider):
    condition_metric_name = "column_values.non_negative"

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, **kwargs) -> pd.Series:
        return _mask(column, rules.non_negative(column))


class ExpectColumnValuesToBeNonNegative(ColumnMapExpectation):
    """Amounts, counts and areas are zero or more."""

    map_metric = "column_values.non_negative"


# --- table level -------------------------------------------------------------------------------


class ColumnValuesInReference(ColumnMapMetricProvider):
    condition_metric_name = "column_values.in_reference"
    condition_value_keys = ("reference_values",)

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, reference_values: list[Any] | str, **kwargs) -> pd.Series:
        return _mask(column, key_sets.contains(column, reference_values))


class ExpectColumnValuesToExistInReference(ColumnMapExpectation):
    """Referential integrity: every value is a key of `reference` ("feed.column" in the conformed
    zone). The runner fills `reference_values` with a handle on that table's keys (`quality.key_sets`);
    a literal list works too. Nulls are not checked here."""

    map_metric = "column_values.in_reference"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly", "reference", "reference_values")
    reference: str
    reference_values: list[Any] | str | Param = Field(default_factory=list)


class ExpectColumnMaxToBeFresh(ColumnAggregateExpectation):
    """Freshness against the watermark: the newest value is no later than `reference_time` (the end
    of the pull window) and no more than `max_age_hours` before it."""

    metric_dependencies = ("column.max",)
    success_keys: ClassVar[tuple[str, ...]] = ("reference_time", "max_age_hours")
    reference_time: str | Param
    max_age_hours: float | Param = 48

    def _validate(self, metrics: dict, runtime_configuration=None, execution_engine=None) -> dict:
        newest = metrics.get("column.max")
        end = pd.Timestamp(self.reference_time)
        if newest is None or pd.isna(newest):
            return {"success": False, "result": {"observed_value": "no values"}}
        age = (end - pd.Timestamp(newest)).total_seconds() / 3600
        return {
            "success": bool(0 <= age <= float(self.max_age_hours)),
            "result": {"observed_value": f"newest {pd.Timestamp(newest).isoformat()} ({age:.1f} h before {end})"},
        }


class ExpectTableRowCountToBeNearPrevious(BatchExpectation):
    """Volume check: the row count is within ± `max_relative_change` (a share) of the previous
    run's count. With no previous run to compare against it passes and says so."""

    metric_dependencies = ("table.row_count",)
    domain_keys: ClassVar[tuple[str, ...]] = ("batch_id", "row_condition", "condition_parser")
    success_keys: ClassVar[tuple[str, ...]] = ("previous_row_count", "max_relative_change")
    previous_row_count: int | Param | None = None
    max_relative_change: float | Param = 0.5

    def _validate(self, metrics: dict, runtime_configuration=None, execution_engine=None) -> dict:
        rows = int(metrics["table.row_count"])
        previous = self.previous_row_count
        if previous in (None, 0):
            return {"success": True, "result": {"observed_value": f"{rows} rows; no previous run to compare"}}
        change = (rows - int(previous)) / int(previous)
        return {
            "success": bool(abs(change) <= float(self.max_relative_change)),
            "result": {"observed_value": f"{rows} rows vs {previous} before ({change:+.0%})"},
        }


class ExpectTableRowCountToAccountForDelivery(BatchExpectation):
    """The batch holds what the pull landed, and an empty batch is told apart by its cause.

    `rows_landed`: rows ingest wrote for this batch (None for a region slice or an unknown pull); any
    other count means rows were lost between the pull and the gate. `rows_received`: rows upstream
    delivered for the feed and date, before duplicates and ingest rejects were set aside. An empty
    batch passes when rows were delivered and all set aside (a duplicate-only day: nothing is lost),
    or when nothing was delivered and the feed declares empty days normal (`empty_day`).
    """

    metric_dependencies = ("table.row_count",)
    domain_keys: ClassVar[tuple[str, ...]] = ("batch_id", "row_condition", "condition_parser")
    success_keys: ClassVar[tuple[str, ...]] = ("rows_received", "rows_landed", "empty_day")
    rows_received: int | Param | None = None
    rows_landed: int | Param | None = None
    empty_day: str | Param = "critical"

    def _validate(self, metrics: dict, runtime_configuration=None, execution_engine=None) -> dict:
        rows, received, landed = int(metrics["table.row_count"]), self.rows_received, self.rows_landed
        if landed is not None and rows != int(landed):
            return _verdict(False, f"{rows} rows in the batch but the pull landed {landed}: rows were lost")
        if rows:
            return _verdict(True, f"{rows} rows")
        if received:
            return _verdict(True, f"no new rows: {received} delivered, all set aside at ingest (duplicates or rejects)")
        normal = self.empty_day == "normal"
        said = "nothing delivered" if received == 0 else "no rows"
        return _verdict(normal, f"{said}; empty days are {'normal' if normal else 'critical'} for this feed")


def _verdict(success: bool, observed: str) -> dict:
    return {"success": success, "result": {"observed_value": observed}}


class ColumnPsi(ColumnAggregateMetricProvider):
    metric_name = "column.psi"
    value_keys = ("reference_edges", "reference_shares")

    @column_aggregate_value(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, reference_edges, reference_shares, **kwargs) -> float | None:
        if not reference_edges:
            return None
        return psi(pd.to_numeric(column, errors="coerce").dropna().to_numpy(), reference_edges, reference_shares)


class ExpectColumnPsiToBeLessThan(ColumnAggregateExpectation):
    """Distribution drift of a model input: the population stability index of this batch against
    the conformed table's distribution (`reference_edges`/`reference_shares`) stays below
    `threshold` (0.25 = shifted). Batches under `min_rows` rows are too small to judge."""

    metric_dependencies = ("column.psi", "table.row_count")
    success_keys: ClassVar[tuple[str, ...]] = ("threshold", "min_rows", "reference_edges", "reference_shares")
    threshold: float = 0.25
    min_rows: int = 200
    reference_edges: list[float] | Param = Field(default_factory=list)
    reference_shares: list[float] | Param = Field(default_factory=list)

    def _validate(self, metrics: dict, runtime_configuration=None, execution_engine=None) -> dict:
        value, rows = metrics.get("column.psi"), int(metrics["table.row_count"])
        if value is None:
            return {"success": True, "result": {"observed_value": "no reference distribution yet"}}
        if rows < self.min_rows:
            return {"success": True, "result": {"observed_value": f"{rows} rows: too few to judge (PSI {value:.3f})"}}
        return {"success": bool(value < self.threshold), "result": {"observed_value": round(float(value), 4)}}
