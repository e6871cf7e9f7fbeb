"""Person-level medical feeds for underwriting (Qingdao 3702xx): visits, claims, past decisions.

Each simulated resident has latent conditions (hypertension, diabetes, heart disease, COPD, kidney
disease, a lung nodule, cancer at an early or late stage, depression, hepatitis B) whose odds rise
with age and a hidden frailty. Conditions show up as ICD-10 codes on hospital visits, with hospital
level, inpatient days and costs to match. Historic underwriting decisions follow the conditions
(late cancer declines, a nodule is excluded, controlled hypertension is rated, a recent admission
postpones) with some underwriter variation, so the label is learnable from the visit history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

import numpy as np
import pandas as pd

from datafactory.sources.simulator.codes import birth_dates, resident_id_codes, serials
from datafactory.sources.simulator.enterprise import stamps
from datafactory.sources.simulator.people import mobiles, person_names

QINGDAO = np.array([370202, 370203, 370211, 370212, 370213, 370214])
HISTORY_DAYS = 730
DECISIONS = np.array(["standard", "rated", "exclusion", "postpone", "decline"])
# condition: ICD-10 codes, logit intercept, age slope (per decade), frailty slope
CONDITIONS = {
    "hypertension": (["I10"], -2.2, 0.55, 0.5),
    "diabetes": (["E11.9", "E11.4"], -3.0, 0.45, 0.5),
    "coronary": (["I25.1", "I20.9"], -4.0, 0.6, 0.7),
    "copd": (["J44.9", "J44.1"], -4.8, 0.5, 0.7),
    "ckd": (["N18.3", "N18.4"], -4.6, 0.45, 0.8),
    "nodule": (["R91", "D14.3"], -3.0, 0.25, 0.2),
    "cancer": (["C34.1", "C50.9", "C16.9", "C18.9", "C22.0"], -4.5, 0.5, 0.6),
    "depression": (["F32.9", "F41.1"], -3.4, -0.05, 0.5),
    "hepatitis_b": (["B18.1"], -3.5, 0.0, 0.3),
}
ACUTE = np.array(["J06.9", "K29.7", "M54.5", "H52.1", "Z00.0", "S93.4", "A09.9", "N39.0", "L30.9", "R51", "J20.9"])
# per condition: chance a visit is inpatient, mean inpatient days, outpatient cost scale
SEVERITY = {
    "hypertension": (0.03, 5, 250),
    "diabetes": (0.06, 7, 320),
    "coronary": (0.30, 8, 600),
    "copd": (0.25, 9, 450),
    "ckd": (0.20, 10, 900),
    "nodule": (0.05, 4, 700),
    "cancer": (0.45, 14, 2500),
    "depression": (0.04, 15, 300),
    "hepatitis_b": (0.05, 8, 400),
}
NAMES = list(CONDITIONS)


@dataclass(frozen=True)
class Persons:
    resident_id: np.ndarray
    name: np.ndarray
    phone: np.ndarray
    age: np.ndarray
    conditions: np.ndarray  # bool (n, len(NAMES))
    late_cancer: np.ndarray  # bool


@lru_cache(maxsize=4)
def persons(seed: int, n: int, asof: date) -> Persons:
    rng = np.random.default_rng([seed, 20])
    births = birth_dates(rng, n, date(asof.year - 75, 1, 1), date(asof.year - 18, 1, 1))
    ids = resident_id_codes(rng.choice(QINGDAO, n), births, rng.integers(0, 1000, n))
    age = (np.datetime64(asof) - births).astype(int) / 365.25
    frailty = rng.normal(0, 1, n)
    decades = (age - 50) / 10
    logits = np.stack([a + b * decades + c * frailty for _, a, b, c in CONDITIONS.values()], axis=1)
    conditions = rng.random((n, len(NAMES))) < 1 / (1 + np.exp(-logits))
    late = conditions[:, NAMES.index("cancer")] & (rng.random(n) < 0.4)
    return Persons(ids, person_names(rng, n).astype(object), mobiles(rng, n).astype(object), age, conditions, late)


def _visits(rng, people: Persons, who: np.ndarray, asof: date, tag: str, days: int, rate: float) -> pd.DataFrame:
    cond = people.conditions[who]
    counts = rng.poisson(rate * (0.6 + 1.2 * cond.sum(axis=1) + 0.02 * np.maximum(people.age[who] - 40, 0)))
    owner = np.repeat(np.arange(len(who)), counts)
    n = len(owner)
    has = cond[owner]
    chronic = has.any(axis=1) & (rng.random(n) < np.minimum(0.85, 0.35 * has.sum(axis=1)))
    # pick one of the owner's conditions uniformly for chronic visits
    weights = has / np.maximum(has.sum(axis=1, keepdims=True), 1)
    pick = (rng.random(n)[:, None] < np.cumsum(weights, axis=1)).argmax(axis=1)
    which = np.where(chronic, pick, -1)
    icd = rng.choice(ACUTE, n).astype(object)
    inpatient_p = np.full(n, 0.03)
    mean_days = np.full(n, 3.0)
    scale = np.full(n, 180.0)
    for k, name in enumerate(NAMES):
        hit = which == k
        codes = CONDITIONS[name][0]
        icd[hit] = rng.choice(codes, int(hit.sum()))
        inpatient_p[hit], mean_days[hit], scale[hit] = SEVERITY[name]
    late = people.late_cancer[who][owner] & (which == NAMES.index("cancer"))
    inpatient_p[late], mean_days[late] = 0.8, 22
    inpatient = rng.random(n) < inpatient_p
    stay = np.where(inpatient, 1 + rng.poisson(mean_days - 1), 0)
    serious = np.isin(which, [NAMES.index("cancer"), NAMES.index("coronary"), NAMES.index("ckd")])
    level = np.where(serious, np.where(rng.random(n) < 0.7, 3, 2), rng.choice([1, 2, 3], n, p=[0.45, 0.35, 0.2]))
    level_factor = np.array([0, 0.7, 1.0, 1.6])[level]
    cost = np.where(
        inpatient,
        scale * 4 * stay * level_factor * rng.lognormal(0, 0.3, n),
        scale * level_factor * rng.lognormal(0, 0.5, n),
    )
    visit_date = pd.to_datetime(asof) - pd.to_timedelta(rng.integers(0, days, n), unit="D")
    return pd.DataFrame(
        {
            "visit_id": serials(f"V{tag}", n, 8),
            "person_id": people.resident_id[who][owner],
            "patient_name": people.name[who][owner],
            "visit_date": visit_date.date,
            "icd10": icd,
            "hospital_level": level.astype(int),
            "inpatient_days": stay.astype(int),
            "cost": np.round(cost, 2),
        }
    )


def decide(people: Persons, who: np.ndarray, recent_stay: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Underwriting decision index into DECISIONS: the most severe rule that applies, plus noise."""
    c = people.conditions[who]
    k = {name: c[:, i] for i, name in enumerate(NAMES)}
    age = people.age[who]
    worst = np.zeros(len(who), dtype=int)

    def at_least(level: int, mask: np.ndarray) -> None:
        worst[mask] = np.maximum(worst[mask], level)

    mild = (k["hypertension"] | k["diabetes"]) & (rng.random(len(who)) < 0.75)
    at_least(1, mild | k["copd"] | k["coronary"] | k["ckd"])
    at_least(2, k["nodule"] | k["hepatitis_b"] | (k["depression"] & (rng.random(len(who)) < 0.5)))
    at_least(3, recent_stay > 10)
    at_least(3, k["cancer"] & ~people.late_cancer[who])
    at_least(4, people.late_cancer[who] | (k["coronary"] & k["diabetes"] & (age > 60)) | (k["ckd"] & (age > 65)))
    shift = rng.random(len(who)) < 0.08  # underwriters differ: one class either way
    worst[shift] = np.clip(worst[shift] + rng.choice([-1, 1], int(shift.sum())), 0, 4)
    return worst


def _applications(rng, people: Persons, visits: pd.DataFrame, who: np.ndarray, asof: date, tag: str) -> pd.DataFrame:
    stays = visits.groupby("person_id")["inpatient_days"].sum()
    recent = pd.Series(people.resident_id[who]).map(stays).fillna(0).to_numpy()
    decision = decide(people, who, recent, rng)
    return pd.DataFrame(
        {
            "application_id": serials(f"UW{tag}", len(who), 7),
            "person_id": people.resident_id[who],
            "applicant_phone": people.phone[who],
            "applied_date": (pd.to_datetime(asof) - pd.to_timedelta(rng.integers(0, 60, len(who)), unit="D")).date,
            "decision": DECISIONS[decision],
        }
    )


def _claims(rng, people: Persons, who: np.ndarray, asof: date, tag: str, days: int, rate: float) -> pd.DataFrame:
    burden = people.conditions[who].sum(axis=1)
    counts = rng.poisson(rate * (0.2 + 0.5 * burden))
    owner = np.repeat(who, counts)
    n = len(owner)
    return pd.DataFrame(
        {
            "claim_id": serials(f"CL{tag}", n, 7),
            "person_id": people.resident_id[owner],
            "claim_date": (pd.to_datetime(asof) - pd.to_timedelta(rng.integers(0, days, n), unit="D")).date,
            "amount": np.round(rng.lognormal(7.0 + 0.4 * people.conditions[owner].sum(axis=1), 0.8), 2),
        }
    )


def medical_delivery(seed: int, n_persons: int, base: date, day: int) -> dict[str, pd.DataFrame]:
    """What the Qingdao medical-insurance platform returns on `base + day`, each row with `updated_at`."""
    asof = base + timedelta(days=day)
    rng = np.random.default_rng([seed, 21, day])
    people = persons(seed, n_persons, base)
    everyone = np.arange(n_persons)
    if day == 0:
        visits = _visits(rng, people, everyone, asof, "00", HISTORY_DAYS, 2.0)
        applicants = np.flatnonzero(rng.random(n_persons) < 0.35)
        claims = _claims(rng, people, everyone, asof, "00", 365, 1.0)
    else:
        tag = f"{day:04d}"
        visits = _visits(rng, people, rng.choice(everyone, max(3, n_persons // 100), replace=False), asof, tag, 2, 1.0)
        applicants = rng.choice(everyone, max(1, n_persons // 400), replace=False)
        claims = _claims(rng, people, rng.choice(everyone, max(5, n_persons // 200), replace=False), asof, tag, 2, 1.0)
        if claims.empty:
            claims = _claims(rng, people, everyone[:1], asof, tag, 2, 10.0)
    tag = "00" if day == 0 else f"{day:04d}"
    tables = {
        "med_visits": visits,
        "med_claims": claims,
        "uw_decisions": _applications(rng, people, visits, applicants, asof, tag),
    }
    start = datetime.combine(asof, datetime.min.time())
    for frame in tables.values():
        frame["updated_at"] = stamps(rng, start, len(frame))
    return tables
