"""Enterprise feeds (anti-fraud admission, supplier rating) with two latent signals.

- Shell-company fraud: clusters of young firms sharing one legal representative and address, with
  no staff and no revenue; fraud follows observable risk plus the hidden cluster membership.
- Financial distress: drives social-insurance arrears (断缴), housing-fund lapses, a poor tax credit
  grade, penalties, court cases with the dishonest-debtor flag, and (in suppliers.py) delisting.

Everything is a pure function of (seed, size, day). Day 0 is the initial load; every later day
delivers new enterprises, registry updates, and new penalties, cases and loan outcomes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

import numpy as np
import pandas as pd

from datafactory.sources.simulator.codes import serials, uscc_codes
from datafactory.sources.simulator.people import mobiles, person_names, resident_ids

# Yuyao carries the most firms; Huzhou, Jinan, Qingdao and Dali (a quarter: the supplier platform) follow.
AREA_CODES = np.array(["330281", "330281", "330281", "330502", "370102", "370202", "532901", "532901"])
CITY = {"330281": "余姚市", "330502": "湖州市", "370102": "济南市", "370202": "青岛市", "532901": "大理市"}
INDUSTRIES = np.array(["manufacturing", "wholesale", "retail", "construction", "software", "logistics", "catering"])
POLLUTING = {"manufacturing": 3.0, "construction": 2.0, "catering": 1.5, "logistics": 1.2}
STREETS = np.array(["阳明街道", "梨洲街道", "凤山街道", "兰江街道", "低塘街道", "朗霞街道", "马渚镇", "泗门镇"])
TRADES = np.array(["贸易", "科技", "建设", "物流", "餐饮", "农业", "文化", "旅游"])
VIOLATIONS = np.array(["废气超标排放", "废水超标排放", "未批先建", "固体废物违规处置", "噪声超标", "未落实环评要求"])
HISTORY_MONTHS = 6
DAILY_NEW_SHARE = 0.002
NEW_INDEX_BASE = 50_000_000


@dataclass(frozen=True)
class Population:
    """Latent truth about enterprises; only some of it is ever observable upstream."""

    index: np.ndarray
    shell: np.ndarray  # bool: part of a shell-company cluster
    fraud_propensity: np.ndarray
    distress: np.ndarray  # 0..1 financial distress


def areas_for(indexes: np.ndarray) -> np.ndarray:
    return AREA_CODES[(indexes.astype(np.int64) * 2654435761 % 2**32) % len(AREA_CODES)]


def uscc_for(indexes: np.ndarray) -> np.ndarray:
    return uscc_codes(areas_for(indexes), indexes)


def _day_start(base: date, day: int) -> datetime:
    return datetime.combine(base + timedelta(days=day), datetime.min.time())


def stamps(rng: np.random.Generator, start: datetime, n: int) -> np.ndarray:
    """Sorted update timestamps spread over the day that starts at `start`."""
    seconds = np.sort(rng.integers(0, 86_400, n))
    return (np.datetime64(start, "s") + seconds.astype("timedelta64[s]")).astype("datetime64[us]")


def _ids(prefix: str, n: int, width: int = 7) -> np.ndarray:
    return serials(prefix, n, width)


def _registry(rng: np.random.Generator, idx: np.ndarray, shell: np.ndarray, asof: date) -> pd.DataFrame:
    n = len(idx)
    uscc = uscc_for(idx)
    areas = areas_for(idx)
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
    lead = shell_pos[(np.arange(len(shell_pos)) // 4) * 4] if len(shell_pos) else shell_pos
    rep_ids[shell_pos] = rep_ids[lead]
    rep_names[shell_pos] = rep_names[lead]
    rep_phones[shell_pos] = rep_phones[lead]
    addresses[shell_pos] = addresses[lead]
    age_days[shell] = rng.integers(20, 300, shell.sum())
    capital[shell] = np.round(rng.uniform(500, 5000, shell.sum()), 2)
    established = (np.datetime64(asof) - age_days.astype("timedelta64[D]")).astype("datetime64[D]")
    city = np.array([CITY[a] for a in areas])
    names = np.char.add(np.char.add(city, np.char.add(rng.choice(TRADES, n), (idx % 997).astype(str))), "有限公司")
    return pd.DataFrame(
        {
            "uscc": uscc,
            "name": names.astype(object),
            "legal_rep_id": rep_ids,
            "legal_rep_name": rep_names,
            "legal_rep_phone": rep_phones,
            "registered_capital": capital,
            "established_date": pd.to_datetime(established).date,
            "industry": rng.choice(INDUSTRIES, n),
            "region_code": areas,
            "address": addresses,
            "status": np.where(rng.random(n) < 0.95, "active", "revoked"),
        }
    )


def _periods(asof: date, months: int) -> np.ndarray:
    return pd.period_range(end=pd.Period(asof, "M") - 1, periods=months, freq="M").astype(str).to_numpy()


def _monthly(rng, uscc: np.ndarray, shell: np.ndarray, distress: np.ndarray, asof: date) -> dict[str, pd.DataFrame]:
    periods = _periods(asof, HISTORY_MONTHS)
    n, m = len(uscc), len(periods)
    size = rng.lognormal(2.0, 1.0, n)
    size[shell] = 0.0
    revenue = np.round(np.outer(size * 10, rng.uniform(0.7, 1.3, m)) * rng.uniform(0.8, 1.2, (n, m)), 2)
    revenue[shell] = np.round(rng.uniform(0, 0.5, (shell.sum(), m)) * (rng.random((shell.sum(), m)) < 0.2), 2)
    revenue *= 1 - 0.5 * distress[:, None]
    keys = {"uscc": np.repeat(uscc, m), "period": np.tile(periods, n)}
    tax = pd.DataFrame({**keys, "revenue": revenue.ravel(), "tax_paid": np.round(revenue.ravel() * 0.06, 2)})
    staff = np.maximum(0, np.round(size[:, None] * rng.uniform(0.8, 1.2, (n, m)))).astype(int)
    staff[shell] = (rng.random((shell.sum(), m)) < 0.15).astype(int)
    # 断缴: a distressed firm misses social-insurance payments; arrears_months is the running streak.
    missed = rng.random((n, m)) < (0.01 + 0.35 * distress)[:, None]
    streak = np.zeros((n, m), dtype=int)
    for j in range(m):
        streak[:, j] = np.where(missed[:, j], (streak[:, j - 1] if j else 0) + 1, 0)
    social = pd.DataFrame({**keys, "headcount": staff.ravel(), "arrears_months": streak.ravel()})
    coverage = np.clip(0.95 - 0.9 * distress[:, None] + rng.normal(0, 0.05, (n, m)), 0, 1)
    contributors = np.round(staff * coverage).astype(int)
    fund = pd.DataFrame(
        {
            **keys,
            "contributors": contributors.ravel(),
            "amount": np.round(contributors * rng.lognormal(7.2, 0.25, (n, m)), 2).ravel(),
        }
    )
    fund = fund[np.repeat(staff.max(axis=1) > 0, m)].reset_index(drop=True)  # firms never staffed never enrol
    return {"ent_tax_monthly": tax, "ent_social_insurance": social, "ent_housing_fund": fund}


def _tax_credit(rng, uscc, established, revenue_dry: np.ndarray, distress, asof: date) -> pd.DataFrame:
    """Annual 纳税信用 rating: A ≥ 90, B 70-90, C 40-70, D < 40; M for new firms or no revenue with ≥ 70."""
    years = np.array([asof.year - 2, asof.year - 1])
    n = len(uscc)
    score = np.clip(94 - 75 * distress[:, None] - 12 * revenue_dry[:, None] + rng.normal(0, 6, (n, 2)), 0, 100)
    grade = np.select([score >= 90, score >= 70, score >= 40], ["A", "B", "C"], "D").astype(object)
    year_end = pd.to_datetime([f"{y}-12-31" for y in years]).to_numpy()
    est = pd.to_datetime(pd.Series(established)).to_numpy()[:, None]
    young = (year_end[None, :] - est) < np.timedelta64(365, "D")
    grade[(young | revenue_dry[:, None]) & (score >= 70)] = "M"
    exists = est <= year_end[None, :]
    frame = pd.DataFrame(
        {
            "uscc": np.repeat(uscc, 2),
            "year": np.tile(years, n),
            "credit_grade": grade.ravel(),
            "credit_score": np.round(score, 1).ravel(),
        }
    )
    return frame[exists.ravel()].reset_index(drop=True)


def _events(rng, uscc: np.ndarray, rate: np.ndarray, prefix: str, asof: date) -> pd.DataFrame:
    hit = rng.random(len(uscc)) < np.clip(rate, 0, 1)
    who = uscc[hit]
    when = pd.to_datetime(asof) - pd.to_timedelta(rng.integers(1, 700, len(who)), unit="D")
    return pd.DataFrame(
        {
            "record_id": _ids(f"{prefix}{asof:%Y%m%d}", len(who)),
            "uscc": who,
            "event_date": when.date,
            "amount": np.round(rng.lognormal(3.0, 1.0, len(who)), 2),
            "_row": np.flatnonzero(hit),
        }
    )


def _fraud_probability(registry, tax, social, penalties, enforcement, shell, asof: date) -> np.ndarray:
    uscc = registry["uscc"]
    young = (pd.to_datetime(asof) - pd.to_datetime(registry["established_date"])).dt.days.to_numpy() < 365
    idle = uscc.map(social.groupby("uscc")["headcount"].mean()).fillna(0).to_numpy() <= 1
    dry = uscc.map((tax["revenue"] <= 0).groupby(tax["uscc"]).sum()).fillna(6).to_numpy() >= 4
    cases = uscc.isin(enforcement["uscc"]).to_numpy()
    fined = uscc.isin(penalties["uscc"]).to_numpy()
    risk = -3.8 + 1.3 * young + 1.0 * idle + 1.0 * dry + 1.6 * cases + 0.8 * fined + 1.8 * shell
    return 1 / (1 + np.exp(-risk))


def population(seed: int, size: int) -> Population:
    rng = np.random.default_rng([seed, 0])
    shell = rng.random(size) < 0.04
    propensity = np.where(shell, rng.uniform(0.5, 0.9, size), rng.beta(1.2, 12, size))
    distress = rng.beta(1.2, 4.5, size)
    return Population(np.arange(size), shell, propensity, distress)


def _cohort(rng, pop: Population, asof: date, tag: str) -> dict[str, pd.DataFrame]:
    shell, propensity, distress = pop.shell, pop.fraud_propensity, pop.distress
    registry = _registry(rng, pop.index, shell, asof)
    uscc = registry["uscc"].to_numpy()
    monthly = _monthly(rng, uscc, shell, distress, asof)
    tax = monthly["ent_tax_monthly"]
    dry = uscc.astype(object)
    dry = pd.Series(dry).map((tax["revenue"] <= 0).groupby(tax["uscc"]).sum()).fillna(6).to_numpy() >= 4
    credit = _tax_credit(rng, uscc, registry["established_date"], dry, distress, asof)
    penalties = _events(rng, uscc, 0.06 * (1 + 3 * propensity + 2 * distress), f"CF{tag}", asof)
    penalties = penalties.rename(columns={"record_id": "penalty_id", "event_date": "decision_date"})
    industry = registry["industry"].map(POLLUTING).fillna(0.3).to_numpy()
    env = _events(rng, uscc, 0.02 * industry * (1 + 3 * distress), f"HB{tag}", asof)
    env = env.rename(columns={"record_id": "penalty_id", "event_date": "decision_date"})
    env["violation"] = rng.choice(VIOLATIONS, len(env))
    env["amount"] = np.round(env["amount"] * 40, 2)
    enforcement = _events(rng, uscc, 0.03 * (1 + 3 * propensity + 3 * distress), f"ZX{tag}", asof)
    enforcement = enforcement.rename(columns={"record_id": "case_no", "event_date": "filed_date"})
    # 失信被执行人: debtors who could pay but did not; distress makes it far likelier.
    enforcement["dishonest"] = (rng.random(len(enforcement)) < 0.1 + 0.7 * distress[enforcement["_row"]]).astype(int)
    # Banks see an application from about half the firms. Fraud follows observable risk (young,
    # no staff, no revenue, court cases, penalties) plus the hidden shell-cluster membership, so the
    # signal is learnable but noisy.
    applied = rng.random(len(uscc)) < 0.5
    p = _fraud_probability(registry, tax, monthly["ent_social_insurance"], penalties, enforcement, shell, asof)
    outcomes = pd.DataFrame(
        {
            "application_id": _ids(f"LA{tag}", int(applied.sum()), 8),
            "uscc": uscc[applied],
            "applied_date": (
                pd.to_datetime(asof) - pd.to_timedelta(rng.integers(1, 200, applied.sum()), unit="D")
            ).date,
            "is_fraud": (rng.random(applied.sum()) < p[applied]).astype(int),
        }
    )
    tables = {
        "ent_registry": registry,
        **monthly,
        "ent_tax_credit": credit,
        "ent_admin_penalty": penalties,
        "ent_env_penalty": env,
        "ent_court_enforcement": enforcement,
        "loan_fraud_outcome": outcomes,
    }
    return {name: frame.drop(columns=["_row"], errors="ignore") for name, frame in tables.items()}


@lru_cache(maxsize=4)
def initial_load(seed: int, size: int, base: date) -> dict[str, pd.DataFrame]:
    """Day 0's clean tables (cached: later days re-deliver updates of these firms). Callers copy."""
    return _cohort(np.random.default_rng([seed, 1, 0]), population(seed, size), base, "00")


def new_firms(seed: int, size: int, day: int) -> Population:
    rng = np.random.default_rng([seed, 3, day])
    n_new = max(5, int(size * DAILY_NEW_SHARE))
    shell = rng.random(n_new) < 0.04
    shell[0] = True  # every day's cohort carries at least one shell firm
    propensity = np.where(shell, rng.uniform(0.5, 0.9, n_new), rng.beta(1.2, 12, n_new))
    return Population(NEW_INDEX_BASE + day * 100_000 + np.arange(n_new), shell, propensity, rng.beta(1.2, 4.5, n_new))


def enterprise_delivery(seed: int, size: int, base: date, day: int) -> dict[str, pd.DataFrame]:
    """Clean rows the upstream platforms deliver on `base + day`, each with `updated_at`."""
    asof = base + timedelta(days=day)
    rng = np.random.default_rng([seed, 1, day])
    if day == 0:
        tables = {name: frame.copy() for name, frame in initial_load(seed, size, base).items()}
    else:
        tables = _cohort(rng, new_firms(seed, size, day), asof, f"{day:02d}"[-2:])
        tables["ent_registry"] = pd.concat([tables["ent_registry"], _status_updates(rng, seed, size, base)])
        for name, extra in _existing_firm_events(rng, seed, size, asof, day).items():
            tables[name] = pd.concat([tables[name], extra], ignore_index=True)
    start = _day_start(base, day)
    for frame in tables.values():
        frame["updated_at"] = stamps(rng, start, len(frame))
    return {name: frame.reset_index(drop=True) for name, frame in tables.items()}


def _status_updates(rng, seed: int, size: int, base: date) -> pd.DataFrame:
    """A few existing firms change status: the same key re-delivered with a newer timestamp."""
    pick = np.sort(rng.choice(size, max(1, size // 500), replace=False))
    updated = initial_load(seed, size, base)["ent_registry"].iloc[pick].copy()
    updated["status"] = "revoked"
    return updated


def _existing_firm_events(rng, seed: int, size: int, asof: date, day: int) -> dict[str, pd.DataFrame]:
    """Each day brings new penalties, court cases, loan outcomes and a tax-credit re-rating on existing firms."""
    pop = population(seed, size)
    pick = np.sort(rng.choice(size, max(3, size // 300), replace=False))
    uscc = uscc_for(pick)
    propensity, distress = pop.fraud_propensity[pick], pop.distress[pick]
    tag = f"E{day:04d}"
    n = len(pick)
    dates = (pd.to_datetime(asof) - pd.to_timedelta(rng.integers(1, 30, n), unit="D")).date
    amounts = np.round(rng.lognormal(3.0, 1.0, n), 2)
    ids = _ids(tag, n, 6)
    score = np.clip(94 - 75 * distress + rng.normal(0, 6, n), 0, 100)
    return {
        "ent_admin_penalty": pd.DataFrame(
            {"penalty_id": "CF" + ids, "uscc": uscc, "decision_date": dates, "amount": amounts}
        ),
        "ent_env_penalty": pd.DataFrame(
            {
                "penalty_id": "HB" + ids,
                "uscc": uscc,
                "decision_date": dates,
                "amount": amounts * 40,
                "violation": rng.choice(VIOLATIONS, n),
            }
        ),
        "ent_court_enforcement": pd.DataFrame(
            {
                "case_no": "ZX" + ids,
                "uscc": uscc,
                "filed_date": dates,
                "amount": amounts * 3,
                "dishonest": (rng.random(n) < 0.1 + 0.7 * distress).astype(int),
            }
        ),
        "loan_fraud_outcome": pd.DataFrame(
            {
                "application_id": "LA" + ids,
                "uscc": uscc,
                "applied_date": dates,
                "is_fraud": (rng.random(n) < propensity).astype(int),
            }
        ),
        "ent_tax_credit": pd.DataFrame(
            {
                "uscc": uscc,
                "year": asof.year - 1,
                "credit_grade": np.select([score >= 90, score >= 70, score >= 40], ["A", "B", "C"], "D"),
                "credit_score": np.round(score, 1),
            }
        ),
    }
