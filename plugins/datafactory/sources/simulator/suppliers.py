"""Supplier feeds for the Dali agri-culture-tourism platform (大理包), rated by the supplier model.

Suppliers are the Dali enterprises of the enterprise population, so their registry, social
insurance, housing fund, penalties, tax credit and court cases are all in the enterprise feeds. A
supplier goes bad (delisted or defaulted within 12 months) with a probability driven by its latent
distress through what the platform and the bureaus can observe: incidents and their severity,
arrears, a C/D tax grade, environmental penalties and the dishonest-debtor flag.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache

import numpy as np
import pandas as pd

from datafactory.sources.simulator.codes import serials
from datafactory.sources.simulator.enterprise import (
    enterprise_delivery,
    initial_load,
    new_firms,
    population,
    stamps,
    uscc_for,
)

CATEGORIES = np.array(["agri_products", "crafts", "tourism_service", "catering", "lodging", "transport"])
KINDS = np.array(["complaint", "late_delivery", "quality_failure"])
PLATFORM_SHARE = 0.85  # of Dali firms sell through the platform


def _suppliers(rng, registry: pd.DataFrame, asof: date) -> tuple[pd.DataFrame, np.ndarray]:
    dali = registry["region_code"].str.startswith("5329").to_numpy() & (rng.random(len(registry)) < PLATFORM_SHARE)
    rows = np.flatnonzero(dali)
    reg = registry.iloc[rows]
    established = pd.to_datetime(reg["established_date"]).to_numpy()
    joined = np.datetime64(asof) - rng.integers(0, 900, len(reg)).astype("timedelta64[D]")
    joined = np.maximum(joined.astype("datetime64[ns]"), established)
    frame = pd.DataFrame(
        {
            "uscc": reg["uscc"].to_numpy(),
            "supplier_name": reg["name"].to_numpy(),
            "category": rng.choice(CATEGORIES, len(reg)),
            "region_code": reg["region_code"].to_numpy(),
            "joined_date": pd.to_datetime(joined).date,
        }
    )
    return frame, rows


def _incidents(rng, uscc: np.ndarray, distress: np.ndarray, asof: date, tag: str, days: int) -> pd.DataFrame:
    counts = rng.poisson(0.3 + 4.0 * distress**1.2)
    who = np.repeat(np.arange(len(uscc)), counts)
    d = distress[who]
    kind = np.where(rng.random(len(who)) < 0.5, 0, np.where(rng.random(len(who)) < 0.5 + 0.3 * d, 2, 1))
    severity = 1 + (rng.random(len(who)) < 0.2 + 0.6 * d) + (rng.random(len(who)) < 0.05 + 0.4 * d)
    return pd.DataFrame(
        {
            "incident_id": serials(f"SI{tag}", len(who), 7),
            "uscc": uscc[who],
            "incident_date": (pd.to_datetime(asof) - pd.to_timedelta(rng.integers(0, days, len(who)), unit="D")).date,
            "kind": KINDS[kind],
            "severity": severity.astype(int),
        }
    )


def _bad_probability(tables: dict[str, pd.DataFrame], incidents: pd.DataFrame, uscc: pd.Series, distress) -> np.ndarray:
    per = incidents.groupby("uscc")
    n_incidents = uscc.map(per.size()).fillna(0).to_numpy()
    severe = uscc.map(per["severity"].apply(lambda s: int((s >= 3).sum()))).fillna(0).to_numpy()
    dishonest = uscc.map(tables["ent_court_enforcement"].groupby("uscc")["dishonest"].max()).fillna(0).to_numpy()
    credit = tables["ent_tax_credit"].sort_values("year").groupby("uscc")["credit_grade"].last()
    poor_grade = uscc.map(credit).isin(["C", "D"]).to_numpy()
    arrears = uscc.map(tables["ent_social_insurance"].groupby("uscc")["arrears_months"].max()).fillna(0).to_numpy()
    polluter = uscc.isin(tables["ent_env_penalty"]["uscc"]).to_numpy()
    risk = (
        -3.6
        + 3.0 * distress
        + 0.3 * n_incidents
        + 0.4 * severe
        + 0.9 * dishonest
        + 0.7 * poor_grade
        + 0.3 * np.minimum(arrears, 4)
        + 0.4 * polluter
    )
    return 1 / (1 + np.exp(-risk))


@lru_cache(maxsize=4)
def initial_suppliers(seed: int, size: int, base: date) -> dict[str, pd.DataFrame]:
    """Day 0's supplier tables (cached: later days update these suppliers). Callers copy."""
    rng = np.random.default_rng([seed, 10, 0])
    tables = initial_load(seed, size, base)
    suppliers, rows = _suppliers(rng, tables["ent_registry"], base)
    distress = population(seed, size).distress[rows]
    incidents = _incidents(rng, suppliers["uscc"].to_numpy(), distress, base, "00", 730)
    p = _bad_probability(tables, incidents, suppliers["uscc"], distress)
    observed = suppliers["joined_date"].to_numpy() <= base - timedelta(days=365)  # outcome known after a year
    outcomes = pd.DataFrame(
        {
            "uscc": suppliers["uscc"][observed].to_numpy(),
            "period": str(pd.Period(base, "M") - 12),
            "is_bad": (rng.random(int(observed.sum())) < p[observed]).astype(int),
        }
    )
    return {"sup_suppliers": suppliers, "sup_incidents": incidents, "sup_outcomes": outcomes}


def supplier_delivery(seed: int, size: int, base: date, day: int) -> dict[str, pd.DataFrame]:
    asof = base + timedelta(days=day)
    rng = np.random.default_rng([seed, 11, day])
    start = datetime.combine(asof, datetime.min.time())
    first = initial_suppliers(seed, size, base)
    if day == 0:
        tables = {name: frame.copy() for name, frame in first.items()}
    else:
        tables = _daily(rng, seed, size, base, asof, day, first)
    for frame in tables.values():
        frame["updated_at"] = stamps(rng, start, len(frame))
    return {name: frame.reset_index(drop=True) for name, frame in tables.items()}


def _daily(rng, seed, size, base, asof, day, first) -> dict[str, pd.DataFrame]:
    """New suppliers from the day's new Dali firms, profile updates, new incidents, confirmed outcomes."""
    known = first["sup_suppliers"]
    registry = enterprise_delivery(seed, size, base, day)["ent_registry"]
    newcomers = registry[registry["uscc"].isin(uscc_for(new_firms(seed, size, day).index))]
    joined, _ = _suppliers(rng, newcomers.drop(columns=["updated_at"]), asof)
    joined["joined_date"] = asof
    updates = known.iloc[rng.choice(len(known), max(1, len(known) // 200), replace=False)].copy()
    updates["category"] = rng.choice(CATEGORIES, len(updates))
    distress = _distress_of(seed, size, base, known["uscc"])
    weights = 0.3 + 4.0 * distress**1.2
    who = rng.choice(len(known), max(1, len(known) // 100), replace=False, p=weights / weights.sum())
    incidents = _incidents(rng, known["uscc"].to_numpy()[who], distress[who], asof, f"{day:04d}", 7)
    if incidents.empty:  # the platform logs at least one incident a day
        incidents = _incidents(rng, known["uscc"].to_numpy()[who[:1]], np.ones(1), asof, f"{day:04d}", 7)
    outcomes = first["sup_outcomes"]
    confirmed = outcomes.iloc[rng.choice(len(outcomes), max(1, len(outcomes) // 100), replace=False)].copy()
    return {
        "sup_suppliers": pd.concat([joined, updates], ignore_index=True),
        "sup_incidents": incidents,
        "sup_outcomes": confirmed,
    }


def _distress_of(seed: int, size: int, base: date, uscc: pd.Series) -> np.ndarray:
    rows = pd.Index(initial_load(seed, size, base)["ent_registry"]["uscc"]).get_indexer(uscc)
    return population(seed, size).distress[rows]
