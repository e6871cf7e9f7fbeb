"""Metrics with the names modellers see in every scenario and run. Pure functions."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from sklearn.metrics import confusion_matrix, f1_score, mean_absolute_error, r2_score

# Metrics where a smaller value is better; every other metric is "higher is better".
LOWER_IS_BETTER = frozenset({"mae", "mape", "rmse", "under_grading_cost", "high_risk_under_graded_rate", "psi"})
PSI_SHIFTED = 0.25  # DOMAIN.md: < 0.1 stable, 0.1-0.25 watch, > 0.25 shifted
_EPS = 1e-6


def better(metric: str, challenger: float, incumbent: float, margin: float) -> bool:
    """True when the challenger beats the incumbent by more than `margin` in the metric's direction."""
    if metric in LOWER_IS_BETTER:
        return challenger < incumbent - margin
    return challenger > incumbent + margin


def rank_auc(y: np.ndarray, score: np.ndarray) -> float:
    """Mann-Whitney AUC of a score against a 0/1 label (ties count half): roc_auc_score's value without
    its input checks, for the bootstrap's hundreds of calls. A single class gives 0.5."""
    from scipy.stats import rankdata

    positives = np.asarray(y) == 1
    n1, n0 = int(positives.sum()), int((~positives).sum())
    if n1 == 0 or n0 == 0:
        return 0.5
    ranks = rankdata(score)
    return float((ranks[positives].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def binary_curve(y_true: np.ndarray, y_score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative (false positives, true positives) above each distinct score, highest score first:
    the one sort that AUC, KS, average precision and the ROC plot all read (sklearn sorts once for
    each). Raises ValueError, as sklearn does, on a single class or a missing or infinite score."""
    positive = np.asarray(y_true) == 1
    score = np.asarray(y_score, dtype=float)
    if not np.isfinite(score).all():
        raise ValueError("scores contain NaN or infinity")
    if positive.all() or not positive.any():
        raise ValueError("only one class is present; the curve is not defined")
    order = np.argsort(score, kind="stable")[::-1]
    score, positive = score[order], positive[order]
    last_of_each = np.r_[np.flatnonzero(np.diff(score)), len(score) - 1]  # ties share one point
    tps = np.cumsum(positive, dtype=np.int64)[last_of_each]
    return 1 + last_of_each - tps, tps


def roc_points(fps: np.ndarray, tps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(fpr, tpr) from (0, 0) through every distinct score."""
    return np.r_[0.0, fps / fps[-1]], np.r_[0.0, tps / tps[-1]]


def trapezoid_auc(fpr: np.ndarray, tpr: np.ndarray) -> float:
    """Area under the ROC points: a tie's diagonal step counts half, as in the Mann-Whitney form."""
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def _curve_metrics(y_true: np.ndarray, y_score: np.ndarray) -> dict[str, float]:
    fps, tps = binary_curve(y_true, y_score)
    fpr, tpr = roc_points(fps, tps)
    auc = trapezoid_auc(fpr, tpr)
    recall_gain = np.diff(np.r_[0, tps]) / tps[-1]
    return {
        "auc": auc,
        "ks": float(np.max(tpr - fpr)),
        "gini": 2 * auc - 1,
        "pr_auc": float(np.sum(recall_gain * tps / (tps + fps))),  # average precision
    }


def ranking_metrics(y_true: np.ndarray, y_score: np.ndarray) -> dict[str, float]:
    return {k: v for k, v in _curve_metrics(y_true, y_score).items() if k != "pr_auc"}


def binary_metrics(y_true: np.ndarray, y_score: np.ndarray, cutoff: float) -> dict[str, float]:
    flagged = y_score >= cutoff
    positives = y_true == 1
    hits = int(np.sum(flagged & positives))
    return {
        **_curve_metrics(y_true, y_score),
        "precision_at_cutoff": hits / max(int(flagged.sum()), 1),
        "recall_at_cutoff": hits / max(int(positives.sum()), 1),
    }


def grading_cost_matrix(n_classes: int, under_per_step: float, over_per_step: float) -> np.ndarray:
    """cost[true, predicted]: grading k steps too low costs k*under, k steps too high costs k*over."""
    true, pred = np.indices((n_classes, n_classes))
    return np.where(pred < true, (true - pred) * under_per_step, (pred - true) * over_per_step).astype(float)


def ordinal_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, n_classes: int, under_per_step: float, high_risk_from: int
) -> dict[str, float]:
    """Classes are ranks 0..n-1, riskier upwards. High risk means rank >= high_risk_from."""
    under_steps = np.clip(y_true - y_pred, 0, None)
    high = y_true >= high_risk_from
    return {
        "macro_f1": float(f1_score(y_true, y_pred, labels=list(range(n_classes)), average="macro", zero_division=0)),
        "accuracy": float(np.mean(y_true == y_pred)),
        "under_grading_cost": float(np.mean(under_steps * under_per_step)),
        "high_risk_under_graded_rate": float(np.mean(y_pred[high] < high_risk_from)) if high.any() else 0.0,
    }


def confusion(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    return confusion_matrix(y_true, y_pred, labels=list(range(n_classes)))


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    nonzero = np.abs(y_true) > _EPS
    return {
        "mae": float(mean_absolute_error(y_true, y_pred)),
        "mape": float(np.mean(np.abs((y_true[nonzero] - y_pred[nonzero]) / y_true[nonzero]))),
        "r2": float(r2_score(y_true, y_pred)),
    }


def psi(expected_share: np.ndarray, actual_share: np.ndarray) -> float:
    """Population stability index over matching bins: sum((A - E) * ln(A / E))."""
    e = np.clip(np.asarray(expected_share, dtype=float), _EPS, None)
    a = np.clip(np.asarray(actual_share, dtype=float), _EPS, None)
    return float(np.sum((a - e) * np.log(a / e)))


def paired_bootstrap_se(
    y: np.ndarray,
    a: pd.DataFrame,
    b: pd.DataFrame,
    score: Callable[[np.ndarray, pd.DataFrame], float],
    rounds: int = 50,
    limit: int = 2000,
    seed: int = 0,
) -> float:
    """Standard error of score(a) - score(b) on the same rows, by resampling rows (both models together).
    Above `limit` rows the resampling runs on a fixed sample and the error is scaled by sqrt(sample / n)."""
    rng = np.random.default_rng(seed)
    n = len(y)
    rows = np.arange(n) if n <= limit else np.sort(rng.choice(n, limit, replace=False))
    diffs = []
    for _ in range(rounds):
        pick = rows[rng.integers(0, len(rows), len(rows))]
        try:
            diffs.append(
                score(y[pick], a.iloc[pick].reset_index(drop=True))
                - score(y[pick], b.iloc[pick].reset_index(drop=True))
            )
        except ValueError:  # a resample with one class
            continue
    if len(diffs) < 2:
        return 0.0
    return float(np.std(diffs, ddof=1) * np.sqrt(len(rows) / n))


def least_p_value(y: np.ndarray, rounds: int = 99, limit: int = 5_000) -> float:
    """The p that `shuffled_outputs_p_value` expects for a perfect model on these labels: a shuffle
    scores as well as perfect outputs only when it leaves the labels in the same arrangement, one in
    n! / (the product of each value's count!) (for 1 bad row among 10: one in 10). Above 0.05 no
    model can show signal on this holdout, however good."""
    from math import exp, lgamma

    if len(y) > limit:
        return 1 / (rounds + 1)
    counts = pd.Series(y).value_counts().to_numpy()
    arrangements_log = lgamma(len(y) + 1) - sum(lgamma(c + 1) for c in counts)
    return (1 + rounds * exp(-arrangements_log)) / (rounds + 1)


def shuffled_outputs_p_value(
    y: np.ndarray,
    outputs: pd.DataFrame,
    score: Callable[[np.ndarray, pd.DataFrame], float],
    lower_is_better: bool,
    rounds: int = 99,
    limit: int = 5_000,
    seed: int = 0,
) -> float:
    """Permutation test of "the outputs carry no information about y": the share of shuffles of the
    outputs' rows (which keep their distribution and break their link to y) that score at least as
    well as the outputs as they are, counting the unshuffled outputs once (so never 0). Any metric and
    any family: a shuffled model is chance level by construction. Above `limit` rows a fixed sample."""
    rng = np.random.default_rng(seed)
    n = len(y)
    rows = np.arange(n) if n <= limit else np.sort(rng.choice(n, limit, replace=False))
    truth, taken = y[rows], outputs.iloc[rows].reset_index(drop=True)
    sign = -1.0 if lower_is_better else 1.0
    observed = sign * score(truth, taken)
    as_good = 1
    for _ in range(rounds):
        shuffled = taken.iloc[rng.permutation(len(rows))].reset_index(drop=True)
        if sign * score(truth, shuffled) >= observed:
            as_good += 1
    return as_good / (rounds + 1)
