"""Splits a validated batch into conformed and quarantined rows. Pure functions."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from datafactory.quality.runner import ExpectationOutcome

# Key-uniqueness failures keep the newest copy; only the older copies are quarantined.
KEY_UNIQUENESS = {"expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique"}
TYPE_CHECK = "expect_column_values_to_be_of_type"
REASON_COLUMN = "_failed_expectations"


def older_duplicates(frame: pd.DataFrame, keys: list[str], order_by: str) -> pd.Series:
    """Rows whose key reappears later in the batch: the newest copy is kept, older ones fail."""
    ordered = frame.sort_values(order_by, kind="stable")
    return ordered.duplicated(subset=keys, keep="last").reindex(frame.index)


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
) -> list[list[str]]:
    """For each row, every quarantine-severity expectation it failed."""
    reasons: list[list[str]] = [[] for _ in range(n_rows)]
    for out in outcomes:
        if out.severity != "quarantine" or out.success:
            continue
        rows = duplicate_mask[duplicate_mask].index if out.expectation in KEY_UNIQUENESS else out.failed_rows
        for i in rows:
            reasons[i].append(out.label)
    for column, mask in type_failures.items():
        for i in mask[mask].index:
            reasons[i].append(f"{TYPE_CHECK}({column})")
    return reasons


def split_rows(raw: pd.DataFrame, typed: pd.DataFrame, reasons: list[list[str]], run_id: str, source: str) -> Split:
    failed = pd.Series([bool(r) for r in reasons], index=raw.index)
    quarantined = raw[failed].astype("string")
    quarantined[REASON_COLUMN] = ["; ".join(r) for r in reasons if r]
    quarantined["_run_id"] = run_id
    quarantined["_source"] = source
    counts: dict[str, int] = {}
    for labels in reasons:
        for label in labels:
            counts[label] = counts.get(label, 0) + 1
    return Split(typed[~failed].reset_index(drop=True), quarantined.reset_index(drop=True), counts)


def merge_conformed(existing: pd.DataFrame | None, fresh: pd.DataFrame, keys: list[str], order_by: str) -> pd.DataFrame:
    """Upsert by key: the newest version of each key wins, so reruns never duplicate."""
    combined = fresh if existing is None else pd.concat([existing, fresh], ignore_index=True)
    combined = combined.sort_values(order_by, kind="stable")
    return combined.drop_duplicates(subset=keys, keep="last").sort_values(keys).reset_index(drop=True)
