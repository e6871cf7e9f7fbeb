"""Output review (出域审核): nothing personal may leave the domain. Pure functions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from datafactory.domain.identifiers import is_mobile, is_valid_resident_id


@dataclass
class ReviewResult:
    passed: bool
    findings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "findings": self.findings}


def review_table(frame: pd.DataFrame, policy: dict[str, Any]) -> ReviewResult:
    findings = []
    allowed = set(policy.get("allowed_columns", frame.columns))
    extra = [c for c in frame.columns if c not in allowed]
    if extra:
        findings.append(f"columns not allowed by the PII policy: {extra}")
    forbidden = [c for c in frame.columns if c in set(policy.get("forbidden_columns", []))]
    if forbidden:
        findings.append(f"forbidden personal columns present: {forbidden}")
    for column in frame.select_dtypes(include=["object", "string"]).columns:
        values = frame[column].dropna().astype(str)
        ids = int(values.map(is_valid_resident_id).sum())
        phones = int(values.map(is_mobile).sum())
        if ids:
            findings.append(f"{column}: {ids} value(s) are valid resident IDs")
        if phones:
            findings.append(f"{column}: {phones} value(s) are mobile numbers")
    return ReviewResult(not findings, findings)
