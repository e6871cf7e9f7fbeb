"""Splits a validated batch into conformed and quarantined rows. Pure functions.

Failures are kept as a boolean matrix (rows x failed expectations), so a million-row batch is
split with array operations; reason strings are built only for the rows that failed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from datafactory.quality.runner import ExpectationOutcome

# Key-uniqueness failures keep the newest copy; only the older copies are quarantined.
KEY_UNIQUENESS = {"expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique"}
TYPE_CHECK = "expect_column_values_to_be_of_type"
REASON_COLUMN = "_failed_expectations"
RUN_COLUMN = "_run_id"
SOURCE_COLUMN = "_source"
ROW_COLUMN = "_raw_row"  # position in the raw partition, so a release can re-validate exactly
META_COLUMNS = (REASON_COLUMN, RUN_COLUMN, SOURCE_COLUMN, ROW_COLUMN)


def older_duplicates(frame: pd.DataFrame, keys: list[str], order_by: str) -> pd.Series:
    """Rows whose key reappears later in the batch: the newest copy is kept, older ones fail."""
    ordered = frame.sort_values(order_by, kind="stable")
    return ordered.duplicated(subset=keys, keep="last").reindex(frame.index)


@dataclass
class Failures:
    """Which rows failed which expectation: labels[j] names column j of `matrix` (rows x labels)."""

    labels: list[str]
    matrix: np.ndarray

    def with_batch_failure(self, labels: list[str]) -> Failures:
        """Every row also fails `labels` (a critical failure holds the whole batch)."""
        whole = np.ones((self.matrix.shape[0], len(labels)), dtype=bool)
        return Failures([*labels, *self.labels], np.hstack([whole, self.matrix]))

    def failed(self) -> np.ndarray:
        return self.matrix.any(axis=1)

    def reasons(self) -> list[str]:
        """'; '-joined labels of every failed row, in row order."""
        names = np.array(self.labels, dtype=object)
        return ["; ".join(names[row]) for row in self.matrix[self.failed()]]

    def counts(self) -> dict[str, int]:
        totals = self.matrix.sum(axis=0)
        counts: dict[str, int] = {}
        for label, total in zip(self.labels, totals, strict=True):
            if total:
                counts[label] = counts.get(label, 0) + int(total)
        return counts


@dataclass
class Split:
    conformed: pd.DataFrame
    quarantined: pd.DataFrame
    failures_by_label: dict[str, int]


def row_failures(
    n_rows: int,
    outcomes: list[ExpectationOutcome],
    duplicate_mask: pd.Series,
    type_failures: dict[str, pd.Series],
) -> Failures:
    """For each row, every quarantine-severity expectation it failed, and every value that would not cast."""
    labels: list[str] = []
    columns: list[np.ndarray] = []
    for out in outcomes:
        if out.severity != "quarantine":
            continue
        if out.expectation in KEY_UNIQUENESS:
            # Judged on the whole batch: a release re-validates only some rows, where an older copy
            # of a key can look unique although its newer copy was conformed.
            mask = duplicate_mask.to_numpy(dtype=bool)
            if not mask.any():
                continue
        elif out.success:
            continue
        else:
            mask = np.zeros(n_rows, dtype=bool)
            mask[np.asarray(out.failed_rows, dtype=np.int64)] = True
        labels.append(out.label)
        columns.append(mask)
    reasons = getattr(type_failures, "reasons", {})  # casting.TypeFailures: what each column expected
    for column, lost in type_failures.items():
        labels.append(f"{TYPE_CHECK}({reasons.get(column, column)})")
        columns.append(lost.to_numpy(dtype=bool))
    matrix = np.column_stack(columns) if columns else np.zeros((n_rows, 0), dtype=bool)
    return Failures(labels, matrix)


def split_rows(raw: pd.DataFrame, typed: pd.DataFrame, failures: Failures, run_id: str, source: str) -> Split:
    failed = failures.failed()
    quarantined = raw[failed].astype("string")
    quarantined[REASON_COLUMN] = pd.array(failures.reasons(), dtype="string")
    quarantined[RUN_COLUMN] = run_id
    quarantined[SOURCE_COLUMN] = source
    quarantined[ROW_COLUMN] = np.flatnonzero(failed)
    return Split(typed[~failed].reset_index(drop=True), quarantined.reset_index(drop=True), failures.counts())


def merge_conformed(existing: pd.DataFrame | None, fresh: pd.DataFrame, keys: list[str], order_by: str) -> pd.DataFrame:
    """Upsert by key: the newest version of each key wins, so reruns never duplicate. An empty side (an
    empty day, a first day) is left out of the concatenation: pandas is changing how an empty frame's
    columns weigh on the result's types, and an empty day must not retype the days it joins."""
    frames = [frame for frame in (existing, fresh) if frame is not None]
    filled = [frame for frame in frames if not frame.empty] or frames[-1:]
    combined = filled[0] if len(filled) == 1 else pd.concat(filled, ignore_index=True)
    columns = list(dict.fromkeys(name for frame in frames for name in frame.columns))
    if list(combined.columns) != columns:  # a column only the empty side has is still a column
        combined = combined.reindex(columns=columns)
    combined = combined.sort_values(order_by, kind="stable")
    return combined.drop_duplicates(subset=keys, keep="last").sort_values(keys).reset_index(drop=True)
