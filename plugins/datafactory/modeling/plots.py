"""Plots logged with a run, as small SVG documents (the MLflow UI shows them as images).

Plain SVG keeps plotting libraries out of the training path: it costs milliseconds, not the
seconds a plotting stack needs to import. Pure functions returning text.
"""

from __future__ import annotations

from html import escape

import numpy as np

from datafactory.modeling.metrics import binary_curve, roc_points, trapezoid_auc

SIZE, MARGIN = 420, 50
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728")
MAX_POINTS = 400


def _frame(title: str, x_label: str, y_label: str, body: str, ticks: str = "") -> str:
    inner = SIZE - 2 * MARGIN
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{SIZE}' height='{SIZE}' font-family='sans-serif' "
        f"font-size='12'><rect width='100%' height='100%' fill='white'/>"
        f"<text x='{SIZE / 2}' y='20' text-anchor='middle' font-size='14'>{escape(title)}</text>"
        f"<rect x='{MARGIN}' y='{MARGIN}' width='{inner}' height='{inner}' fill='none' stroke='#888'/>"
        f"<text x='{SIZE / 2}' y='{SIZE - 12}' text-anchor='middle'>{escape(x_label)}</text>"
        f"<text x='14' y='{SIZE / 2}' text-anchor='middle' transform='rotate(-90 14 {SIZE / 2})'>"
        f"{escape(y_label)}</text>{ticks}{body}</svg>"
    )


def _xy(x: np.ndarray, y: np.ndarray, low: float, high: float) -> tuple[np.ndarray, np.ndarray]:
    inner = SIZE - 2 * MARGIN
    span = (high - low) or 1.0
    return MARGIN + (x - low) / span * inner, SIZE - MARGIN - (y - low) / span * inner


def _thin(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if len(x) <= MAX_POINTS:
        return x, y
    keep = np.unique(np.linspace(0, len(x) - 1, MAX_POINTS).astype(int))
    return x[keep], y[keep]


def _polyline(x: np.ndarray, y: np.ndarray, colour: str, dashed: bool = False) -> str:
    points = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(x, y, strict=True))
    dash = " stroke-dasharray='4 4'" if dashed else ""
    return f"<polyline points='{points}' fill='none' stroke='{colour}' stroke-width='1.5'{dash}/>"


def _legend(labels: list[str]) -> str:
    return "".join(
        f"<text x='{SIZE - MARGIN - 8}' y='{SIZE - MARGIN - 10 - 16 * i}' text-anchor='end' "
        f"fill='{COLOURS[i % len(COLOURS)]}'>{escape(label)}</text>"
        for i, label in enumerate(labels)
    )


def roc_svg(y: np.ndarray, curves: dict[str, np.ndarray]) -> str:
    body = _polyline(*_xy(np.array([0.0, 1.0]), np.array([0.0, 1.0]), 0, 1), "#aaa", dashed=True)
    labels = []
    for i, (label, scores) in enumerate(curves.items()):
        fpr, tpr = roc_points(*binary_curve(y, scores))
        body += _polyline(*_xy(*_thin(fpr, tpr), 0, 1), COLOURS[i % len(COLOURS)])
        labels.append(f"{label} (AUC {trapezoid_auc(fpr, tpr):.3f})")
    return _frame("ROC on holdout", "false positive rate", "true positive rate", body + _legend(labels))


def actual_vs_predicted_svg(actual: np.ndarray, predicted: np.ndarray) -> str:
    """Log-log when every value is positive, so buildings of every size are visible."""
    log = bool(np.all(actual > 0) and np.all(predicted > 0))
    a, p = (np.log10(actual), np.log10(predicted)) if log else (actual, predicted)
    low, high = float(min(a.min(), p.min())), float(max(a.max(), p.max()))
    keep = np.unique(np.linspace(0, len(a) - 1, min(len(a), 1500)).astype(int))
    xs, ys = _xy(p[keep], a[keep], low, high)
    dots = "".join(
        f"<circle cx='{x:.1f}' cy='{y:.1f}' r='1.6' fill='{COLOURS[0]}' opacity='0.5'/>"
        for x, y in zip(xs, ys, strict=True)
    )
    body = _polyline(*_xy(np.array([low, high]), np.array([low, high]), low, high), "#aaa", dashed=True) + dots
    suffix = " (log10)" if log else ""
    return _frame("Actual vs predicted on holdout", f"predicted{suffix}", f"actual{suffix}", body)


def confusion_svg(matrix: np.ndarray, labels: list[str]) -> str:
    """Counts per (actual, predicted); cells below the diagonal are under-graded."""
    n = len(labels)
    cell = (SIZE - 2 * MARGIN) / n
    peak = max(int(matrix.max()), 1)
    body = ""
    for (i, j), value in np.ndenumerate(matrix):
        x, y = MARGIN + j * cell, MARGIN + i * cell
        shade = int(255 - 180 * value / peak)
        fill = f"rgb({shade},{shade},255)" if i <= j else f"rgb(255,{shade},{shade})"
        body += (
            f"<rect x='{x:.1f}' y='{y:.1f}' width='{cell:.1f}' height='{cell:.1f}' fill='{fill}' stroke='white'/>"
            f"<text x='{x + cell / 2:.1f}' y='{y + cell / 2 + 4:.1f}' text-anchor='middle'>{int(value)}</text>"
        )
    ticks = "".join(
        f"<text x='{MARGIN + (k + 0.5) * cell:.1f}' y='{MARGIN - 6}' text-anchor='middle' font-size='10'>"
        f"{escape(label)}</text><text x='{MARGIN - 4}' y='{MARGIN + (k + 0.5) * cell + 4:.1f}' text-anchor='end' "
        f"font-size='10'>{escape(label[:4])}</text>"
        for k, label in enumerate(labels)
    )
    return _frame("Confusion on holdout (red: under-graded)", "predicted", "actual", body, ticks)
