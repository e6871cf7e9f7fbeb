"""Declared post-processing of model outputs: ratio-to-expected grades and CO2 from activity data.

Both read their parameters from the scenario's model.yaml (`efficiency`, `emissions`); nothing here
knows a threshold or an emission factor. Pure functions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from datafactory.specs.model import EmissionFactor, Emissions, ModelSpec

NATIONAL = "national"


def ratio_grades(
    actual: np.ndarray, expected: np.ndarray, bounds: dict[Any, float | None]
) -> tuple[np.ndarray, np.ndarray]:
    """K = actual / expected, graded by right-closed upper bounds in order (the last bound is null).

    With Zhejiang's bounds {1: 0.6, 2: 0.8, 3: 1.2, 4: 2.0, 5: null}: K <= 0.6 is grade 1, K > 2.0 grade 5.
    """
    names = list(bounds)
    limits = [bounds[n] for n in names]
    if limits[-1] is not None or any(v is None for v in limits[:-1]):
        raise ValueError("efficiency grades: every grade but the last needs an upper bound; the last is null")
    edges = np.asarray(limits[:-1], dtype=float)
    if np.any(np.diff(edges) <= 0):
        raise ValueError(f"efficiency grade bounds must increase: {bounds}")
    expected = np.asarray(expected, dtype=float)
    k = np.asarray(actual, dtype=float) / np.where(expected > 0, expected, np.nan)
    index = np.searchsorted(edges, k, side="left")
    grades = np.array(names, dtype=object)[np.minimum(index, len(names) - 1)]
    return k, np.where(np.isnan(k), None, grades)


@dataclass(frozen=True)
class Factor:
    region: str  # a GB/T 2260 code (330000 covers 33xxxx) or "national"
    year: int
    value: float
    source: str = ""

    def covers(self, region_code: str) -> int:
        """How specifically this factor covers the region: -1 not at all, 0 national, else prefix length."""
        if self.region == NATIONAL:
            return 0
        prefix = self.region
        while prefix.endswith("00"):
            prefix = prefix[:-2]
        return len(prefix) if str(region_code).startswith(prefix) else -1


def factors_from(entries: Iterable[EmissionFactor | Mapping[str, Any]]) -> list[Factor]:
    typed = [EmissionFactor.model_validate(e) for e in entries]  # a typed entry passes through as is
    return [Factor(e.region, e.year, e.value, e.source) for e in typed]


def factor_for(factors: list[Factor], year: int, region_code: str) -> Factor:
    """The latest factor published for a year up to `year`, most specific region first; if every
    factor is newer than `year`, the earliest one. National factors cover every region."""
    usable = [f for f in factors if f.covers(region_code) >= 0]
    if not usable:
        raise LookupError(f"no emission factor covers region {region_code}; add a '{NATIONAL}' entry")
    past = [f for f in usable if f.year <= year]
    if past:
        return max(past, key=lambda f: (f.year, f.covers(region_code)))
    return min(usable, key=lambda f: (f.year, -f.covers(region_code)))


def emissions(frame: pd.DataFrame, spec: Emissions) -> pd.DataFrame:
    """kg CO2 per activity (e.g. electricity kWh x grid factor, gas m3 x gas factor) and their total."""
    years = pd.to_numeric(frame[spec.year_column], errors="coerce").fillna(0).astype(int).to_numpy()
    regions = frame[spec.region_column].astype(str).to_numpy()
    out = pd.DataFrame(index=frame.index)
    total = np.zeros(len(frame))
    for activity, declared in spec.activities.items():
        factors = factors_from(spec.factors[declared.factor])
        lookup = {key: factor_for(factors, *key) for key in set(zip(years.tolist(), regions.tolist(), strict=True))}
        per_row = np.array([lookup[key].value for key in zip(years.tolist(), regions.tolist(), strict=True)])
        amount = pd.to_numeric(frame[declared.column], errors="coerce").fillna(0).to_numpy(dtype=float)
        out[f"co2_{activity}_kg"] = amount * per_row
        out[f"{activity}_factor_year"] = [
            lookup[key].year for key in zip(years.tolist(), regions.tolist(), strict=True)
        ]
        total += out[f"co2_{activity}_kg"].to_numpy()
    out["co2_kg"] = total
    return out


def declared_outputs(outputs: pd.DataFrame, features: pd.DataFrame, spec: ModelSpec) -> pd.DataFrame:
    """The model's outputs plus whatever the spec declares on top (K and its grade, CO2)."""
    out = outputs.copy()
    efficiency = getattr(spec, "efficiency", None)  # a regression spec's section
    if efficiency is not None:
        k, grade = ratio_grades(
            features[efficiency.actual].to_numpy(dtype=float),
            out[efficiency.expected].to_numpy(dtype=float),
            efficiency.grades,
        )
        out["k_value"], out["efficiency_grade"] = k, grade
    if spec.emissions is not None:
        out = pd.concat([out, emissions(features.reset_index(drop=True), spec.emissions)], axis=1)
    return out
