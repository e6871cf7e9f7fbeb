"""Building feeds for the public-building carbon-efficiency code (Huzhou 3305xx).

The housing bureau lists public buildings (type, floor area, year built, district); the grid company
reports monthly kWh per electricity meter and the gas company monthly m³ per gas meter; the weather
service gives monthly heating and cooling degree-days per district. Energy use follows floor area,
type, age and weather, times a hidden per-building efficiency factor: that factor is what the
carbon-efficiency value K = actual / expected should recover. Meter-to-building mapping is
imperfect: some meters carry no building, a few carry the wrong one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

import numpy as np
import pandas as pd

from datafactory.sources.simulator.codes import serials
from datafactory.sources.simulator.enterprise import stamps

HUZHOU = np.array(["330502", "330503", "330521", "330522", "330523"])
CLIMATE_OFFSET = {"330502": 0.0, "330503": -0.2, "330521": 0.1, "330522": -0.3, "330523": -0.8}  # °C; Anji is hillier
TYPES = np.array(
    ["office", "commercial_complex", "hotel", "education", "hospital", "government", "culture_sports", "other"]
)
TYPE_SHARE = [0.22, 0.10, 0.08, 0.20, 0.07, 0.15, 0.06, 0.12]
MEDIAN_AREA = dict(zip(TYPES, [8000, 40000, 15000, 12000, 30000, 6000, 10000, 5000], strict=True))
KWH_PER_M2 = dict(zip(TYPES, [8.0, 15.0, 12.0, 5.0, 16.0, 7.0, 6.0, 5.0], strict=True))  # per month
GAS_PER_M2 = dict(zip(TYPES, [0.15, 0.6, 1.2, 0.35, 1.0, 0.15, 0.3, 0.1], strict=True))
GAS_USERS = dict(zip(TYPES, [0.3, 0.9, 1.0, 0.8, 1.0, 0.3, 0.6, 0.2], strict=True))  # share with a gas meter
HISTORY_MONTHS = 24
UNMAPPED = 0.04
MISMAPPED = 0.02


@dataclass(frozen=True)
class Buildings:
    frame: pd.DataFrame  # building_id, building_type, floor_area, year_built, region_code
    efficiency: np.ndarray  # hidden: > 1 wastes energy
    electricity_meters: pd.DataFrame  # meter_id, building_id (as reported), share, owner (true row)
    gas_meters: pd.DataFrame


def _meters(rng, owners: np.ndarray, n_buildings: int, prefix: str, start: int) -> pd.DataFrame:
    n = len(owners)
    reported = owners.copy()
    wrong = rng.random(n) < MISMAPPED
    reported[wrong] = (owners[wrong] + 1 + rng.integers(0, max(1, n_buildings - 1), int(wrong.sum()))) % n_buildings
    share = rng.uniform(0.3, 1.0, n)
    share = share / pd.Series(share).groupby(owners).transform("sum").to_numpy()
    return pd.DataFrame(
        {
            "meter_id": serials(prefix, n, 10, start),
            "reported": np.where(rng.random(n) < UNMAPPED, -1, reported),
            "share": share,
            "owner": owners,
        }
    )


def _population(rng, n: int, first_index: int) -> Buildings:
    kind = rng.choice(TYPES, n, p=TYPE_SHARE)
    area = np.round(np.array([MEDIAN_AREA[k] for k in kind]) * rng.lognormal(0, 0.5, n), 1)
    ids = serials("HZB", n, 7, first_index)
    frame = pd.DataFrame(
        {
            "building_id": ids,
            "building_type": kind,
            "floor_area": area,
            "year_built": rng.integers(1985, 2025, n),
            "region_code": rng.choice(HUZHOU, n, p=[0.35, 0.2, 0.15, 0.15, 0.15]),
        }
    )
    efficiency = np.clip(rng.lognormal(0, 0.25, n), 0.5, 2.5)
    elec_owner = np.repeat(np.arange(n), 1 + rng.poisson(np.clip(area / 15000, 0, 3)))
    gas_owner = np.flatnonzero(rng.random(n) < np.array([GAS_USERS[k] for k in kind]))
    elec = _meters(rng, elec_owner, n, "E", first_index * 10)
    gas = _meters(rng, gas_owner, n, "G", first_index * 10)
    for meters in (elec, gas):
        meters["building_id"] = np.where(meters["reported"] >= 0, ids[meters["reported"].clip(0)], None)
    return Buildings(frame, efficiency, elec, gas)


@lru_cache(maxsize=4)
def initial_buildings(seed: int, n: int) -> Buildings:
    return _population(np.random.default_rng([seed, 30]), n, 0)


def weather(seed: int, periods: np.ndarray) -> pd.DataFrame:
    """Monthly degree-days per district (base 18 °C for heating, 24 °C for cooling), deterministic per month."""
    rows = []
    for period in periods:
        p = pd.Period(period, "M")
        rng = np.random.default_rng([seed, 31, p.year, p.month])
        mean = 17.0 + 11.5 * np.sin(2 * np.pi * (p.month - 4) / 12) + rng.normal(0, 1.0)
        for region in HUZHOU:
            t = mean + CLIMATE_OFFSET[region] + rng.normal(0, 0.3)
            hdd = p.days_in_month * 3 * np.log1p(np.exp((18 - t) / 3))
            cdd = p.days_in_month * 3 * np.log1p(np.exp((t - 24) / 3))
            rows.append((region, str(period), round(float(hdd), 1), round(float(cdd), 1)))
    return pd.DataFrame(rows, columns=["region_code", "period", "hdd", "cdd"])


def _consumption(rng, b: Buildings, meters: pd.DataFrame, periods: np.ndarray, climate: pd.DataFrame, gas: bool):
    owner = meters["owner"].to_numpy()
    frame = b.frame.iloc[owner]
    kind = frame["building_type"].to_numpy()
    area = frame["floor_area"].to_numpy()
    age = 2026 - frame["year_built"].to_numpy()
    eff = b.efficiency[owner]
    m = len(periods)
    dd = climate.set_index(["region_code", "period"])
    keys = pd.MultiIndex.from_arrays([np.repeat(frame["region_code"].to_numpy(), m), np.tile(periods, len(owner))])
    hdd = dd["hdd"].reindex(keys).to_numpy().reshape(len(owner), m)
    cdd = dd["cdd"].reindex(keys).to_numpy().reshape(len(owner), m)
    if gas:
        base = np.array([GAS_PER_M2[k] for k in kind]) * area * eff**0.8
        use = base[:, None] * (0.4 + hdd / 250)
    else:
        base = np.array([KWH_PER_M2[k] for k in kind]) * area * eff * (1 + 0.006 * age)
        use = base[:, None] * (0.75 + cdd / 120 + hdd / 600)
    use = use * meters["share"].to_numpy()[:, None] * rng.lognormal(0, 0.08, (len(owner), m))
    return pd.DataFrame(
        {
            "meter_id": np.repeat(meters["meter_id"].to_numpy(), m),
            "building_id": np.repeat(meters["building_id"].to_numpy(), m),
            "period": np.tile(periods, len(owner)),
            ("m3" if gas else "kwh"): np.round(use.ravel(), 1),
        }
    )


def _periods_before(asof: date, months: int) -> np.ndarray:
    return pd.period_range(end=pd.Period(asof, "M") - 1, periods=months, freq="M").astype(str).to_numpy()


def building_delivery(seed: int, n_buildings: int, base: date, day: int) -> dict[str, pd.DataFrame]:
    """What the housing bureau, grid, gas company and weather service deliver on `base + day`."""
    asof = base + timedelta(days=day)
    rng = np.random.default_rng([seed, 32, day])
    history = _periods_before(base, HISTORY_MONTHS)
    current = str(pd.Period(asof, "M"))
    if day == 0:
        b = initial_buildings(seed, n_buildings)
        climate = weather(seed, np.append(history, current))
        tables = {
            "bld_buildings": b.frame.copy(),
            "bld_electricity_monthly": _consumption(rng, b, b.electricity_meters, history, climate, gas=False),
            "bld_gas_monthly": _consumption(rng, b, b.gas_meters, history, climate, gas=True),
            "weather_monthly": climate,
        }
    else:
        tables = _daily(rng, seed, n_buildings, base, asof, day, current)
    start = datetime.combine(asof, datetime.min.time())
    for frame in tables.values():
        frame["updated_at"] = stamps(rng, start, len(frame))
    return {name: frame.reset_index(drop=True) for name, frame in tables.items()}


def _daily(rng, seed, n_buildings, base, asof, day, current) -> dict[str, pd.DataFrame]:
    """Newly registered buildings with their meter history; on the first of a month the month just
    closed for every meter; every day a few restated readings and the provisional current weather."""
    b = initial_buildings(seed, n_buildings)
    closed = asof.day == 1 and asof > base
    periods = _periods_before(asof, HISTORY_MONTHS)
    climate = weather(seed, np.append(periods, current))
    fresh = _population(np.random.default_rng([seed, 33, day]), max(1, n_buildings // 500), 1_000_000 + day * 1000)
    elec = [_consumption(rng, fresh, fresh.electricity_meters, periods, climate, gas=False)]
    gas = [_consumption(rng, fresh, fresh.gas_meters, periods, climate, gas=True)]
    last = periods[-1:]
    if closed:
        elec.append(_consumption(rng, b, b.electricity_meters, last, climate, gas=False))
        gas.append(_consumption(rng, b, b.gas_meters, last, climate, gas=True))
    restate = b.electricity_meters.sample(max(1, len(b.electricity_meters) // 200), random_state=rng.integers(1 << 31))
    elec.append(_consumption(rng, b, restate, last, climate, gas=False))
    gas_restate = b.gas_meters.sample(max(1, len(b.gas_meters) // 200), random_state=rng.integers(1 << 31))
    gas.append(_consumption(rng, b, gas_restate, last, climate, gas=True))
    corrected = b.frame.sample(max(1, n_buildings // 300), random_state=rng.integers(1 << 31)).copy()
    corrected["floor_area"] = np.round(corrected["floor_area"] * rng.uniform(0.97, 1.03, len(corrected)), 1)
    provisional = climate[climate["period"].isin([current, *(last if closed else [])])]
    return {
        "bld_buildings": pd.concat([fresh.frame, corrected], ignore_index=True),
        "bld_electricity_monthly": pd.concat(elec, ignore_index=True),
        "bld_gas_monthly": pd.concat(gas, ignore_index=True),
        "weather_monthly": provisional.reset_index(drop=True),
    }
