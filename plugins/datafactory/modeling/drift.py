"""Population stability: the training population's output distribution, and PSI against a new one. Pure."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from datafactory.modeling.metrics import psi


@dataclass(frozen=True)
class Reference:
    """Shares of the training population per bin of one model output."""

    column: str
    discrete: bool
    edges: tuple[float, ...]  # continuous: interior cut points; discrete: the values themselves
    shares: tuple[float, ...]

    def shares_of(self, values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype=float)
        if self.discrete:
            counts = np.array([np.sum(values == v) for v in self.edges], dtype=float)
        else:
            counts = np.bincount(np.searchsorted(self.edges, values, side="right"), minlength=len(self.shares))
        return counts / max(len(values), 1)

    def psi(self, values: np.ndarray) -> float:
        return psi(np.asarray(self.shares), self.shares_of(values))


ROWS_PER_BIN = 50  # fewer rows per bin and sampling noise alone pushes PSI towards "watch"


def reference_from(column: str, values: np.ndarray, discrete: bool, bins: int = 10) -> Reference:
    values = np.asarray(values, dtype=float)
    bins = max(2, min(bins, len(values) // ROWS_PER_BIN))
    if discrete:
        edges = np.unique(values)
        shares = np.array([np.mean(values == v) for v in edges])
    else:
        edges = np.unique(np.quantile(values, np.linspace(0, 1, bins + 1)[1:-1]))
        shares = np.bincount(np.searchsorted(edges, values, side="right"), minlength=len(edges) + 1) / len(values)
    return Reference(column, discrete, tuple(float(e) for e in edges), tuple(float(s) for s in shares))
