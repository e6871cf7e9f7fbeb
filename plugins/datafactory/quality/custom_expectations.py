"""Custom GE 1.x expectations for Chinese public data. Importing this module registers them."""

from __future__ import annotations

from typing import ClassVar

import pandas as pd
from great_expectations.core.suite_parameters import SuiteParameterDict
from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import ColumnMapExpectation
from great_expectations.expectations.metrics import ColumnMapMetricProvider, column_condition_partial

from datafactory.domain.identifiers import is_valid_uscc


class ColumnValuesValidUscc(ColumnMapMetricProvider):
    condition_metric_name = "column_values.valid_uscc"

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, **kwargs) -> pd.Series:
        return column.map(is_valid_uscc)


class ExpectColumnValuesToBeValidUscc(ColumnMapExpectation):
    """Values are Unified Social Credit Codes (GB 32100-2015) with a correct check character."""

    map_metric = "column_values.valid_uscc"
    success_keys = ("mostly",)


class ColumnValuesNotInFuture(ColumnMapMetricProvider):
    condition_metric_name = "column_values.not_in_future"
    condition_value_keys = ("reference_date",)

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, reference_date: str, **kwargs) -> pd.Series:
        stamps = pd.to_datetime(column, errors="coerce")
        return stamps.isna() | (stamps < pd.Timestamp(reference_date) + pd.Timedelta(days=1))


class ExpectColumnValuesToNotBeInFuture(ColumnMapExpectation):
    """Dates are on or before the reference date (the run's logical date)."""

    map_metric = "column_values.not_in_future"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly", "reference_date")
    reference_date: str | SuiteParameterDict
