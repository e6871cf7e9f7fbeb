"""Binary-classification metrics with the names modellers see in every scenario. Pure functions."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve


def ks_statistic(y_true: np.ndarray, y_score: np.ndarray) -> float:
    fpr, tpr, _ = roc_curve(y_true, y_score)
    return float(np.max(tpr - fpr))


def binary_metrics(y_true: np.ndarray, y_score: np.ndarray, cutoff: float) -> dict[str, float]:
    flagged = y_score >= cutoff
    positives = y_true == 1
    hits = int(np.sum(flagged & positives))
    return {
        "auc": float(roc_auc_score(y_true, y_score)),
        "ks": ks_statistic(y_true, y_score),
        "pr_auc": float(average_precision_score(y_true, y_score)),
        "precision_at_cutoff": hits / max(int(flagged.sum()), 1),
        "recall_at_cutoff": hits / max(int(positives.sum()), 1),
    }
