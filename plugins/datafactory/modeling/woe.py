"""Weight-of-evidence binning for scorecards: monotonic bins for numbers, grouped levels for categories.

WoE = ln(share of goods in the bin / share of bads in the bin), so a higher WoE means lower risk.
Pure functions over arrays; no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

OTHER = "(other)"
MISSING_BIN = "(missing)"
_SMOOTH = 0.5  # added to good and bad counts so an all-good bin still has a finite WoE


@dataclass(frozen=True)
class BinningRules:
    max_bins: int = 6
    initial_bins: int = 20
    min_bin_share: float = 0.05
    min_iv: float = 0.02


@dataclass
class FeatureBinning:
    feature: str
    categorical: bool
    edges: list[float] = field(default_factory=list)  # numeric: right-closed interior cuts
    levels: dict[str, int] = field(default_factory=dict)  # categorical: level -> bin
    labels: list[str] = field(default_factory=list)
    woe: list[float] = field(default_factory=list)
    missing_woe: float = 0.0
    counts: list[int] = field(default_factory=list)
    bads: list[int] = field(default_factory=list)
    missing_count: int = 0
    missing_bads: int = 0
    iv: float = 0.0
    trend: str = ""  # numeric: bad rate "increasing" or "decreasing" with the value

    def bin_index(self, values: pd.Series) -> np.ndarray:
        """Bin per value; -1 for missing (and for categorical levels never seen in training, see `OTHER`)."""
        if self.categorical:
            other = self.levels.get(OTHER, -1)
            text = values.astype(object)
            return np.array([-1 if pd.isna(v) else self.levels.get(str(v), other) for v in text], dtype=int)
        numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
        index = np.searchsorted(np.asarray(self.edges, dtype=float), numbers, side="left")
        return np.where(np.isnan(numbers), -1, index)

    def transform(self, values: pd.Series) -> np.ndarray:
        index = self.bin_index(values)
        table = np.append(np.asarray(self.woe, dtype=float), self.missing_woe)  # index -1 reads the last
        return table[index]


def woe_values(goods: np.ndarray, bads: np.ndarray, total_good: float, total_bad: float) -> np.ndarray:
    return np.log(((goods + _SMOOTH) / (total_good + _SMOOTH)) / ((bads + _SMOOTH) / (total_bad + _SMOOTH)))


def _merge(counts: list[int], bads: list[int], edges: list[float], i: int) -> None:
    """Merge bin i with bin i+1 (drop the cut between them)."""
    counts[i] += counts.pop(i + 1)
    bads[i] += bads.pop(i + 1)
    edges.pop(i)


def _rates(counts: list[int], bads: list[int]) -> np.ndarray:
    return np.asarray(bads, dtype=float) / np.maximum(np.asarray(counts, dtype=float), 1)


def monotonic_bins(
    values: np.ndarray, y: np.ndarray, rules: BinningRules
) -> tuple[list[float], list[int], list[int], str]:
    """Quantile start, then merge neighbours until bad rates are monotonic, bins big enough and few enough."""
    quantiles = np.quantile(values, np.linspace(0, 1, rules.initial_bins + 1)[1:-1])
    edges = sorted(set(np.round(quantiles, 10).tolist()))
    index = np.searchsorted(np.asarray(edges), values, side="left")
    counts = np.bincount(index, minlength=len(edges) + 1).tolist()
    bads = np.bincount(index, weights=y, minlength=len(edges) + 1).astype(int).tolist()
    while 0 in counts:  # quantile ties can leave an empty bin
        i = counts.index(0)
        _merge(counts, bads, edges, min(i, len(counts) - 2))
    rates = _rates(counts, bads)
    slope = np.polyfit(np.arange(len(rates)), rates, 1, w=np.sqrt(counts))[0] if len(rates) > 1 else 0.0
    increasing = slope >= 0
    while len(counts) > 1:
        rates = _rates(counts, bads)
        steps = np.diff(rates)
        violations = np.flatnonzero(steps < 0 if increasing else steps > 0)
        if violations.size == 0:
            break
        _merge(counts, bads, edges, int(violations[0]))
    minimum = rules.min_bin_share * len(values)
    while len(counts) > 1:
        total_bad = sum(bads)
        small = [
            i
            for i in range(len(counts))
            if counts[i] < minimum or bads[i] == 0 or bads[i] == counts[i] or (total_bad and bads[i] == total_bad)
        ]
        if not small and len(counts) <= rules.max_bins:
            break
        rates = _rates(counts, bads)
        if small:
            i = small[0]
            neighbour = (
                i - 1
                if i == len(counts) - 1 or (i > 0 and abs(rates[i] - rates[i - 1]) <= abs(rates[i] - rates[i + 1]))
                else i + 1
            )
            _merge(counts, bads, edges, min(i, neighbour))
        else:
            _merge(counts, bads, edges, int(np.argmin(np.abs(np.diff(rates)))))
    return edges, counts, bads, "increasing" if increasing else "decreasing"


def _label(edges: list[float], i: int) -> str:
    low = "-inf" if i == 0 else f"{edges[i - 1]:.6g}"
    high = "+inf" if i == len(edges) else f"{edges[i]:.6g}"
    return f"({low}, {high}]"


def fit_numeric(name: str, values: pd.Series, y: np.ndarray, rules: BinningRules) -> FeatureBinning:
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    present = ~np.isnan(numbers)
    binning = FeatureBinning(name, categorical=False)
    if present.sum() > 0:
        binning.edges, binning.counts, binning.bads, binning.trend = monotonic_bins(numbers[present], y[present], rules)
    binning.labels = [_label(binning.edges, i) for i in range(len(binning.counts))]
    binning.missing_count, binning.missing_bads = int((~present).sum()), int(y[~present].sum())
    return _finish(binning, y)


def fit_categorical(name: str, values: pd.Series, y: np.ndarray, rules: BinningRules) -> FeatureBinning:
    text = values.astype(object)
    present = text.notna().to_numpy()
    frame = pd.DataFrame({"level": text[present].astype(str).to_numpy(), "bad": y[present]})
    stats = frame.groupby("level")["bad"].agg(["count", "sum"])
    rare = stats["count"] < rules.min_bin_share * len(values)
    kept = stats[~rare].assign(rate=lambda t: t["sum"] / t["count"]).sort_values("rate")
    binning = FeatureBinning(name, categorical=True)
    binning.labels = list(kept.index)
    binning.counts = kept["count"].astype(int).tolist()
    binning.bads = kept["sum"].astype(int).tolist()
    binning.levels = {level: i for i, level in enumerate(binning.labels)}
    # Rare and unseen levels share one bin so they still get a WoE from real counts.
    binning.levels[OTHER] = len(binning.labels)
    binning.labels.append(OTHER)
    binning.counts.append(int(stats.loc[rare, "count"].sum()))
    binning.bads.append(int(stats.loc[rare, "sum"].sum()))
    binning.missing_count, binning.missing_bads = int((~present).sum()), int(y[~present].sum())
    return _finish(binning, y)


def _finish(binning: FeatureBinning, y: np.ndarray) -> FeatureBinning:
    total_bad = float(y.sum())
    total_good = float(len(y) - total_bad)
    counts = np.append(np.asarray(binning.counts, dtype=float), binning.missing_count)
    bads = np.append(np.asarray(binning.bads, dtype=float), binning.missing_bads)
    goods = counts - bads
    woe = woe_values(goods, bads, total_good, total_bad)
    woe[counts == 0] = 0.0  # an empty bin (no missing values in training) carries no evidence
    binning.woe, binning.missing_woe = woe[:-1].tolist(), float(woe[-1])
    share_good, share_bad = goods / max(total_good, 1), bads / max(total_bad, 1)
    binning.iv = float(np.sum((share_good - share_bad) * woe))
    return binning


def fit_binnings(x: pd.DataFrame, y: np.ndarray, rules: BinningRules) -> list[FeatureBinning]:
    binnings = []
    for name in x.columns:
        if isinstance(x[name].dtype, pd.CategoricalDtype):
            binnings.append(fit_categorical(name, x[name], y, rules))
        else:
            binnings.append(fit_numeric(name, x[name], y, rules))
    return binnings
