"""Charts for the reviewers' report: small multiples drawn with matplotlib, inlined as SVG.

One sparkline per series (a feed, a suite, a model), each on its own axis, so 19 feeds never share a
palette. A threshold (the PSI limit, a feed's quarantine budget) is a dashed red line, and a point
past it is red. Text stays text in the SVG (the browser draws it, Chinese included).
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")

from matplotlib import pyplot as plt

plt.rcParams.update(
    {
        "svg.fonttype": "none",  # keep text as text: the browser renders it with the page's fonts
        "svg.hashsalt": "datafactory",  # stable ids, so an unchanged chart renders the same bytes
        "font.family": ["DejaVu Sans", "Noto Sans CJK SC", "sans-serif"],
        "font.size": 7,
    }
)
LINE, OVER, LIMIT = "#1f5fa8", "#b00020", "#b00020"
_PROLOGUE = re.compile(r"^.*?(?=<svg)", re.S)


@dataclass(frozen=True)
class Sparkline:
    """One small chart: its series name, the SVG, the latest value and how far it is from its limit."""

    name: str
    svg: str
    latest: float | None
    limit: float | None
    over: bool


def _svg(fig) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", pad_inches=0.02, metadata={"Date": None})
    plt.close(fig)
    return _PROLOGUE.sub("", buffer.getvalue(), count=1).strip()


def sparkline(
    x_labels: list[str],
    values: list[float | None],
    limit: float | None = None,
    y_format: Callable[[float], str] = "{:.2f}".format,
    floor: float = 0.0,
) -> str:
    """A 2.4 x 0.9 inch line over the runs: first and last date on the x axis, 0 and the top on y."""
    fig, ax = plt.subplots(figsize=(2.4, 0.9), dpi=96)
    xs = [i for i, v in enumerate(values) if v is not None]
    ys = [v for v in values if v is not None]
    top = max([*ys, limit or 0.0, floor]) * 1.15 or 1.0
    if len(xs) > 1:
        ax.plot(xs, ys, color=LINE, linewidth=1.4)
    colors = [OVER if limit is not None and y > limit else LINE for y in ys]
    ax.scatter(xs, ys, s=9, c=colors, zorder=3)
    if limit is not None:
        ax.axhline(limit, color=LIMIT, linestyle="--", linewidth=0.9, gid="threshold")
    ax.set_ylim(0, top)
    ax.set_xlim(-0.5, max(len(values) - 0.5, 0.5))
    ax.set_yticks([0, top / 1.15 if ys or limit else top])
    ax.set_yticklabels([y_format(0), y_format(top / 1.15)])
    ticks = sorted({0, len(x_labels) - 1}) if x_labels else []
    ax.set_xticks(ticks)
    ax.set_xticklabels([x_labels[i][5:] for i in ticks])  # MM-DD
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(length=2, pad=1)
    return _svg(fig)


def small_multiples(
    x_labels: list[str],
    series: dict[str, list[float | None]],
    limits: dict[str, float | None] | float | None = None,
    y_format: Callable[[float], str] = "{:.2f}".format,
    higher_is_worse: bool = True,
    floor: float = 0.0,
) -> list[Sparkline]:
    """One sparkline per series, worst first: past its limit first (by how far), then by the latest value."""
    charts = []
    for name, values in series.items():
        limit = limits.get(name) if isinstance(limits, dict) else limits
        seen = [v for v in values if v is not None]
        latest = seen[-1] if seen else None
        over = latest is not None and limit is not None and (latest > limit if higher_is_worse else latest < limit)
        charts.append(Sparkline(name, sparkline(x_labels, values, limit, y_format, floor), latest, limit, over))

    def badness(chart: Sparkline) -> tuple:
        value = chart.latest if chart.latest is not None else -math.inf
        signed = value if higher_is_worse else -value
        ratio = signed / chart.limit if chart.limit else signed
        return (not chart.over, -ratio, -signed, chart.name)

    return sorted(charts, key=badness)
