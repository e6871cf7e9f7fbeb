"""Enterprise feeds for anti-fraud admission, with a latent shell-company fraud signal.

Everything is a pure function of (seed, size, day). Day 0 is the initial load; every later
day delivers new enterprises, registry updates, and new penalties, cases and loan outcomes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd

from datafactory.domain.identifiers import make_uscc
from datafactory.sources.simulator.people import mobiles, person_names, resident_ids

AREA_CODES = np.array(["330281", "330281", "330281", "330502", "370102", "370202", "532901"])
INDUSTRIES = np.array(["manufacturing", "wholesale", "retail", "construction", "software", "logistics", "catering"])
STREETS = np.array(["阳明街道", "梨洲街道", "凤山街道", "兰江街道", "低塘街道", "朗霞街道", "马渚镇", "泗门镇"])
HISTORY_MONTHS = 6
DAILY_NEW_SHARE = 0.002
NEW_INDEX_BASE = 50_000_000


@dataclass(frozen=True)
class Population:
    """Latent truth about enterprises; only some of it is ever observable upstream."""

    index: np.ndarray
    shell: np.ndarray  # bool: part of a shell-company cluster
    fraud_propensity: np.ndarray


def uscc_for(indexes: np.ndarray) -> list[str]:
    areas = AREA_CODES[(indexes.astype(np.int64) * 2654435761 % 2**32) % len(AREA_CODES)]
    return [make_uscc(a, f"{int(i):08d}") for a, i in zip(areas, indexes, strict=True)]


def _day_start(base: date, day: int) -> datetime:
    return datetime.combine(base + timedelta(days=day), datetime.min.time())


def _stamps(rng: np.random.Generator, start: datetime, n: int) -> pd.Series:
    seconds = rng.integers(0, 86_400, n)
    return pd.Series(pd.to_datetime(start) + pd.to_timedelta(np.sort(seconds), unit="s"))


def _registry(rng: np.random.Generator, idx: np.ndarray, shell: np.ndarray, asof: date) -> pd.DataFrame:
    n = len(idx)
    uscc = uscc_for(idx)
    areas = np.array([u[2:8] for u in uscc])
    rep_ids = np.array(resident_ids(rng, areas), dtype=object)
    rep_names = person_names(rng, n).astype(object)
    rep_phones = mobiles(rng, n).astype(object)
    addresses = np.char.add(
        rng.choice(STREETS, n).astype(str), np.char.add(rng.integers(1, 400, n).astype(str), "号")
    ).astype(object)
    age_days = rng.gamma(2.0, 900, n).astype(int) + 30
    capital = np.round(rng.lognormal(5.0, 1.2, n), 2)
    # Shell clusters: 3-6 firms share one legal representative and one address, are young,
    # have large registered capital, and (below) no staff and no tax.
    shell_pos = np.flatnonzero(shell)
    cluster = np.arange(len(shell_pos)) // 4
    for c in np.unique(cluster):
        members = shell_pos[cluster == c]
        lead = members[0]
        rep_ids[members] = rep_ids[lead]
        rep_names[members] = rep_names[lead]
        rep_phones[members] = rep_phones[lead]
        addresses[members] = addresses[lead]
    age_days[shell] = rng.integers(20, 300, shell.sum())
    capital[shell] = np.round(rng.uniform(500, 5000, shell.sum()), 2)
    established = pd.to_datetime(asof) - pd.to_timedelta(age_days, unit="D")
    return pd.DataFrame(
        {
            "uscc": uscc,
            "name": [f"余姚市{s[:2]}{i % 997}贸易有限公司" for s, i in zip(addresses, idx, strict=True)],
            "legal_rep_id": rep_ids,
            "legal_rep_name": rep_names,
            "legal_rep_phone": rep_phones,
            "registered_capital": capital,
            "established_date": established.date,
            "industry": rng.choice(INDUSTRIES, n),
            "region_code": areas,
            "address": addresses,
            "status": np.where(rng.random(n) < 0.95, "active", "revoked"),
        }
    )


def _monthly(rng, uscc: list[str], shell: np.ndarray, asof: date) -> tuple[pd.DataFrame, pd.DataFrame]:
    periods = pd.period_range(end=pd.Period(asof, "M") - 1, periods=HISTORY_MONTHS, freq="M").astype(str)
    n, m = len(uscc), len(periods)
    size = rng.lognormal(2.0, 1.0, n)
    size[shell] = 0.0
    revenue = np.round(np.outer(size * 10, rng.uniform(0.7, 1.3, m)) * rng.uniform(0.8, 1.2, (n, m)), 2)
    revenue[shell] = np.round(rng.uniform(0, 0.5, (shell.sum(), m)) * (rng.random((shell.sum(), m)) < 0.2), 2)
    tax = pd.DataFrame(
        {
            "uscc": np.repeat(uscc, m),
            "period": np.tile(periods, n),
            "revenue": revenue.ravel(),
            "tax_paid": np.round(revenue.ravel() * 0.06, 2),
        }
    )
    staff = np.maximum(0, np.round(size[:, None] * rng.uniform(0.8, 1.2, (n, m)))).astype(int)
    staff[shell] = (rng.random((shell.sum(), m)) < 0.15).astype(int)
    social = pd.DataFrame({"uscc": np.repeat(uscc, m), "period": np.tile(periods, n), "headcount": staff.ravel()})
    return tax, social


def _events(rng, uscc: np.ndarray, propensity: np.ndarray, rate: float, prefix: str, asof: date) -> pd.DataFrame:
    hit = rng.random(len(uscc)) < np.clip(rate * (1 + 3 * propensity), 0, 1)
    who = uscc[hit]
    when = pd.to_datetime(asof) - pd.to_timedelta(rng.integers(1, 700, len(who)), unit="D")
    return pd.DataFrame(
        {
            "record_id": [f"{prefix}{asof:%Y%m%d}{i:07d}" for i in range(len(who))],
            "uscc": who,
            "event_date": when.date,
            "amount": np.round(rng.lognormal(3.0, 1.0, len(who)), 2),
        }
    )


def _fraud_probability(registry, tax, social, penalties, enforcement, shell, asof: date) -> np.ndarray:
    uscc = registry["uscc"]
    young = (pd.to_datetime(asof) - pd.to_datetime(registry["established_date"])).dt.days.to_numpy() < 365
    idle = uscc.map(social.groupby("uscc")["headcount"].mean()).fillna(0).to_numpy() <= 1
    dry = uscc.map(tax.groupby("uscc")["revenue"].apply(lambda r: (r <= 0).sum())).fillna(6).to_numpy() >= 4
    cases = uscc.isin(enforcement["uscc"]).to_numpy()
    fined = uscc.isin(penalties["uscc"]).to_numpy()
    risk = -3.8 + 1.3 * young + 1.0 * idle + 1.0 * dry + 1.6 * cases + 0.8 * fined + 1.8 * shell
    return 1 / (1 + np.exp(-risk))


def population(seed: int, size: int) -> Population:
    rng = np.random.default_rng([seed, 0])
    shell = rng.random(size) < 0.04
    propensity = np.where(shell, rng.uniform(0.5, 0.9, size), rng.beta(1.2, 12, size))
    return Population(np.arange(size), shell, propensity)


def _cohort(rng, idx: np.ndarray, shell: np.ndarray, propensity: np.ndarray, asof: date, tag: str) -> dict:
    registry = _registry(rng, idx, shell, asof)
    uscc = registry["uscc"].to_numpy()
    tax, social = _monthly(rng, list(uscc), shell, asof)
    penalties = _events(rng, uscc, propensity, 0.06, f"CF{tag}", asof).rename(
        columns={"record_id": "penalty_id", "event_date": "decision_date"}
    )
    enforcement = _events(rng, uscc, propensity, 0.03, f"ZX{tag}", asof).rename(
        columns={"record_id": "case_no", "event_date": "filed_date"}
    )
    # Banks see an application from about half the firms. Fraud follows observable risk (young,
    # no staff, no revenue, court cases, penalties) plus the hidden shell-cluster membership, so the
    # signal is learnable but noisy.
    applied = rng.random(len(uscc)) < 0.5
    p = _fraud_probability(registry, tax, social, penalties, enforcement, shell, asof)
    outcomes = pd.DataFrame(
        {
            "application_id": [f"LA{tag}{i:08d}" for i in np.flatnonzero(applied)],
            "uscc": uscc[applied],
            "applied_date": (
                pd.to_datetime(asof) - pd.to_timedelta(rng.integers(1, 200, applied.sum()), unit="D")
            ).date,
            "is_fraud": (rng.random(applied.sum()) < p[applied]).astype(int),
        }
    )
    return {
        "ent_registry": registry,
        "ent_tax_monthly": tax,
        "ent_social_insurance": social,
        "ent_admin_penalty": penalties,
        "ent_court_enforcement": enforcement,
        "loan_fraud_outcome": outcomes,
    }


def enterprise_delivery(seed: int, size: int, base: date, day: int) -> dict[str, pd.DataFrame]:
    """Clean rows the upstream platform delivers on `base + day`, each with `updated_at`."""
    asof = base + timedelta(days=day)
    rng = np.random.default_rng([seed, 1, day])
    if day == 0:
        pop = population(seed, size)
        tables = _cohort(rng, pop.index, pop.shell, pop.fraud_propensity, asof, "00")
    else:
        n_new = max(5, int(size * DAILY_NEW_SHARE))
        idx = NEW_INDEX_BASE + day * 100_000 + np.arange(n_new)
        shell = rng.random(n_new) < 0.04
        shell[0] = True  # every day's cohort carries at least one shell firm
        propensity = np.where(shell, rng.uniform(0.5, 0.9, n_new), rng.beta(1.2, 12, n_new))
        tables = _cohort(rng, idx, shell, propensity, asof, f"{day:02d}"[-2:])
        tables["ent_registry"] = pd.concat([tables["ent_registry"], _status_updates(rng, seed, size, base)])
        for name, extra in _existing_firm_events(rng, seed, size, asof, day).items():
            tables[name] = pd.concat([tables[name], extra], ignore_index=True)
    start = _day_start(base, day)
    for frame in tables.values():
        frame["updated_at"] = _stamps(rng, start, len(frame)).to_numpy()
    return tables


def _status_updates(rng, seed: int, size: int, base: date) -> pd.DataFrame:
    """A few existing firms change status: the same key re-delivered with a newer timestamp."""
    pick = np.sort(rng.choice(size, max(1, size // 500), replace=False))
    pop = population(seed, size)
    base_rng = np.random.default_rng([seed, 1, 0])
    registry = _cohort(base_rng, pop.index, pop.shell, pop.fraud_propensity, base, "00")["ent_registry"]
    updated = registry.iloc[pick].copy()
    updated["status"] = "revoked"
    return updated


def _existing_firm_events(rng, seed: int, size: int, asof: date, day: int) -> dict[str, pd.DataFrame]:
    """Each day brings at least one new penalty, court case and loan outcome on existing firms."""
    pop = population(seed, size)
    pick = np.sort(rng.choice(size, max(3, size // 300), replace=False))
    uscc = np.array(uscc_for(pick))
    propensity = pop.fraud_propensity[pick]
    tag = f"E{day:04d}"
    dates = (pd.to_datetime(asof) - pd.to_timedelta(rng.integers(1, 30, len(pick)), unit="D")).date
    amounts = np.round(rng.lognormal(3.0, 1.0, len(pick)), 2)
    ids = np.arange(len(pick))
    return {
        "ent_admin_penalty": pd.DataFrame(
            {"penalty_id": [f"CF{tag}{i:06d}" for i in ids], "uscc": uscc, "decision_date": dates, "amount": amounts}
        ),
        "ent_court_enforcement": pd.DataFrame(
            {"case_no": [f"ZX{tag}{i:06d}" for i in ids], "uscc": uscc, "filed_date": dates, "amount": amounts * 3}
        ),
        "loan_fraud_outcome": pd.DataFrame(
            {
                "application_id": [f"LA{tag}{i:06d}" for i in ids],
                "uscc": uscc,
                "applied_date": dates,
                "is_fraud": (rng.random(len(pick)) < propensity).astype(int),
            }
        ),
    }
