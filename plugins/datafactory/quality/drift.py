"""Population stability index (PSI) for distribution checks on model inputs. Pure functions.

PSI = Σ (A% − E%)·ln(A%/E%) over bins fixed on the reference (expected) distribution:
< 0.1 stable, 0.1–0.25 watch, > 0.25 shifted.
"""

from __future__ import annotations

import numpy as np

_FLOOR = 1e-4  # an empty bin would make ln(A/E) infinite


def reference_bins(values: np.ndarray, bins: int = 10) -> tuple[list[float], list[float]]:
    """Inner quantile edges of the reference and the share of the reference in each bin."""
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    if len(values) == 0:
        return [], []
    edges = np.unique(np.quantile(values, np.linspace(0, 1, bins + 1)[1:-1]))
    shares = _shares(values, edges)
    return [float(e) for e in edges], [float(s) for s in shares]


def _shares(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    counts = np.bincount(np.searchsorted(edges, values, side="right"), minlength=len(edges) + 1)
    return counts / max(len(values), 1)


def psi(actual: np.ndarray, edges: list[float], expected_shares: list[float]) -> float:
    """PSI of `actual` against the reference bins from `reference_bins`."""
    actual_shares = np.clip(_shares(np.asarray(actual, dtype=float), np.asarray(edges)), _FLOOR, None)
    expected = np.clip(np.asarray(expected_shares, dtype=float), _FLOOR, None)
    return float(np.sum((actual_shares - expected) * np.log(actual_shares / expected)))
