"""Defects real returned data carries: duplicates, nulls, bad check characters, future dates,
negative amounts, unknown category labels, meter spikes. Injected deterministically so quality
rules have something to catch."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class DefectPlan:
    key: list[str]
    not_null: list[str] = field(default_factory=list)
    uscc: list[str] = field(default_factory=list)
    resident_id: list[str] = field(default_factory=list)  # corrupted check character
    dates: list[str] = field(default_factory=list)
    amounts: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)  # a value outside the code list
    spikes: list[str] = field(default_factory=list)  # a reading 100x too large (a meter fault)
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
    for col in plan.uscc + plan.resident_id:
        hit = out.index[_rows(rng, n, plan.rate)]
        out.loc[hit, col] = out.loc[hit, col].map(_corrupt_check_char)
    for col in plan.dates:
        hit = out.index[_rows(rng, n, plan.rate)]
        out[col] = out[col].astype(object)
        out.loc[hit, col] = pd.Timestamp("2099-01-01").date()
    for col in plan.amounts:
        hit = out.index[_rows(rng, n, plan.rate)]
        out.loc[hit, col] = -out.loc[hit, col].abs() - 1
    for col in plan.labels:
        hit = out.index[_rows(rng, n, plan.rate)]
        out[col] = out[col].astype(object)
        out.loc[hit, col] = "unknown"
    for col in plan.spikes:
        hit = out.index[_rows(rng, n, plan.rate)]
        out.loc[hit, col] = out.loc[hit, col] * 100
    # Each duplicate follows its original, as an upstream export repeating a row would have it.
    order = np.concatenate([np.arange(n), _rows(rng, n, plan.rate * 2)])
    return out.iloc[np.sort(order, kind="stable")].reset_index(drop=True)


DEFECTS: dict[str, DefectPlan] = {
    "ent_registry": DefectPlan(
        key=["uscc"], not_null=["name"], uscc=["uscc"], dates=["established_date"], amounts=["registered_capital"]
    ),
    "ent_tax_monthly": DefectPlan(key=["uscc", "period"], uscc=["uscc"], amounts=["revenue", "tax_paid"]),
    "ent_tax_credit": DefectPlan(key=["uscc", "year"], uscc=["uscc"], labels=["credit_grade"]),
    "ent_social_insurance": DefectPlan(key=["uscc", "period"], not_null=["headcount"], amounts=["arrears_months"]),
    "ent_housing_fund": DefectPlan(key=["uscc", "period"], uscc=["uscc"], amounts=["amount"]),
    "ent_admin_penalty": DefectPlan(key=["penalty_id"], dates=["decision_date"], amounts=["amount"]),
    "ent_env_penalty": DefectPlan(key=["penalty_id"], not_null=["violation"], dates=["decision_date"]),
    "ent_court_enforcement": DefectPlan(key=["case_no"], dates=["filed_date"], amounts=["amount"]),
    "loan_fraud_outcome": DefectPlan(key=["application_id"], not_null=["is_fraud"]),
    "med_visits": DefectPlan(
        key=["visit_id"], not_null=["icd10"], resident_id=["person_id"], dates=["visit_date"], amounts=["cost"]
    ),
    "med_claims": DefectPlan(key=["claim_id"], resident_id=["person_id"], amounts=["amount"]),
    "uw_decisions": DefectPlan(key=["application_id"], not_null=["decision"], labels=["decision"]),
    "bld_buildings": DefectPlan(key=["building_id"], labels=["building_type"], amounts=["floor_area"]),
    "bld_electricity_monthly": DefectPlan(key=["meter_id", "period"], amounts=["kwh"], spikes=["kwh"]),
    "bld_gas_monthly": DefectPlan(key=["meter_id", "period"], not_null=["m3"], spikes=["m3"]),
    "weather_monthly": DefectPlan(key=["region_code", "period"], rate=0.0),
    "sup_suppliers": DefectPlan(key=["uscc"], uscc=["uscc"], labels=["category"]),
    "sup_incidents": DefectPlan(key=["incident_id"], labels=["kind"], dates=["incident_date"]),
    "sup_outcomes": DefectPlan(key=["uscc", "period"], not_null=["is_bad"]),
}
