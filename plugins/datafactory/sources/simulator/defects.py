"""Defects real returned data carries: duplicates, nulls, bad check characters, future dates,
negative amounts. Injected deterministically so quality rules have something to catch."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class DefectPlan:
    key: list[str]
    not_null: list[str] = field(default_factory=list)
    uscc: list[str] = field(default_factory=list)
    dates: list[str] = field(default_factory=list)
    amounts: list[str] = field(default_factory=list)
    rate: float = 0.004


def _rows(rng: np.random.Generator, n: int, rate: float) -> np.ndarray:
    return np.flatnonzero(rng.random(n) < rate)


def _corrupt_check_char(code: object) -> object:
    if not isinstance(code, str) or not code:
        return code
    return code[:-1] + ("1" if code[-1] != "1" else "2")


def inject_defects(frame: pd.DataFrame, plan: DefectPlan, rng: np.random.Generator) -> pd.DataFrame:
    out = frame.copy()
    n = len(out)
    for col in plan.not_null:
        out[col] = out[col].astype(object)
        out.loc[out.index[_rows(rng, n, plan.rate)], col] = None
    for col in plan.uscc:
        hit = out.index[_rows(rng, n, plan.rate)]
        out.loc[hit, col] = out.loc[hit, col].map(_corrupt_check_char)
    for col in plan.dates:
        hit = out.index[_rows(rng, n, plan.rate)]
        out[col] = out[col].astype(object)
        out.loc[hit, col] = pd.Timestamp("2099-01-01").date()
    for col in plan.amounts:
        hit = out.index[_rows(rng, n, plan.rate)]
        out.loc[hit, col] = -out.loc[hit, col].abs() - 1
    dupes = out.iloc[_rows(rng, n, plan.rate * 2)]
    return pd.concat([out, dupes], ignore_index=True)


ENTERPRISE_DEFECTS: dict[str, DefectPlan] = {
    "ent_registry": DefectPlan(
        key=["uscc"], not_null=["name"], uscc=["uscc"], dates=["established_date"], amounts=["registered_capital"]
    ),
    "ent_tax_monthly": DefectPlan(key=["uscc", "period"], uscc=["uscc"], amounts=["revenue", "tax_paid"]),
    "ent_social_insurance": DefectPlan(key=["uscc", "period"], not_null=["headcount"]),
    "ent_admin_penalty": DefectPlan(key=["penalty_id"], dates=["decision_date"], amounts=["amount"]),
    "ent_court_enforcement": DefectPlan(key=["case_no"], dates=["filed_date"], amounts=["amount"]),
    "loan_fraud_outcome": DefectPlan(key=["application_id"], not_null=["is_fraud"]),
}
