"""Small inline-SVG charts for the reviewers' report (no JavaScript, no files). Pure functions."""

from __future__ import annotations

from html import escape

WIDTH, HEIGHT = 900, 260
LEFT, RIGHT, TOP, BOTTOM = 56, 330, 28, 48
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")


def _height(series: dict) -> int:
    """Tall enough for the plot and for one legend line per series."""
    return max(HEIGHT, TOP + 14 * len(series) + BOTTOM)


def _frame(title: str, x_labels: list[str], y_max: float, y_format: str, height: int) -> list[str]:
    plot_w, plot_h = WIDTH - LEFT - RIGHT, height - TOP - BOTTOM
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{WIDTH}' height='{height}' role='img' "
        f"aria-label='{escape(title)}' class='chart'>",
        f"<text x='{LEFT}' y='16' font-size='13' font-weight='bold'>{escape(title)}</text>",
    ]
    for i in range(5):
        value = y_max * i / 4
        y = TOP + plot_h - plot_h * i / 4
        parts.append(f"<line x1='{LEFT}' y1='{y:.1f}' x2='{LEFT + plot_w}' y2='{y:.1f}' stroke='#e5e5e5'/>")
        parts.append(
            f"<text x='{LEFT - 6}' y='{y + 4:.1f}' font-size='10' text-anchor='end'>{y_format.format(value)}</text>"
        )
    step = max(1, len(x_labels) // 8)
    for i, label in enumerate(x_labels):
        if i % step == 0 or i == len(x_labels) - 1:
            x = _x(i, len(x_labels))
            y = height - BOTTOM + 16
            parts.append(f"<text x='{x:.1f}' y='{y}' font-size='10' text-anchor='middle'>{escape(label)}</text>")
    return parts


def _x(i: int, n: int) -> float:
    plot_w = WIDTH - LEFT - RIGHT
    return LEFT + (plot_w / 2 if n == 1 else plot_w * i / (n - 1))


def _y(value: float, y_max: float, height: int) -> float:
    plot_h = height - TOP - BOTTOM
    return TOP + plot_h - plot_h * (value / y_max if y_max else 0)


def _legend(names: list[str]) -> list[str]:
    parts = []
    for k, name in enumerate(names):
        y = TOP + 14 * k
        color = PALETTE[k % len(PALETTE)]
        parts.append(f"<rect x='{WIDTH - RIGHT + 10}' y='{y}' width='10' height='10' fill='{color}'/>")
        parts.append(f"<text x='{WIDTH - RIGHT + 24}' y='{y + 9}' font-size='10'>{escape(name[:60])}</text>")
    return parts


def nice_max(values: list[float], floor: float) -> float:
    top = max([v for v in values if v is not None] + [floor])
    return top * 1.1


def line_chart(
    title: str, x_labels: list[str], series: dict[str, list[float | None]], y_max: float, y_format: str
) -> str:
    """One line per series over the x labels (e.g. run dates); None leaves a gap."""
    height = _height(series)
    parts = _frame(title, x_labels, y_max, y_format, height)
    for k, (name, values) in enumerate(series.items()):
        color = PALETTE[k % len(PALETTE)]
        points = [(_x(i, len(x_labels)), _y(v, y_max, height)) for i, v in enumerate(values) if v is not None]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            parts.append(f"<polyline fill='none' stroke='{color}' stroke-width='2' points='{path}'/>")
        for (x, y), value in zip(points, [v for v in values if v is not None], strict=True):
            parts.append(
                f"<circle cx='{x:.1f}' cy='{y:.1f}' r='3' fill='{color}'><title>{escape(name)}: "
                f"{y_format.format(value)}</title></circle>"
            )
    parts += _legend(list(series))
    return "".join(parts) + "</svg>"


def stacked_bars(title: str, x_labels: list[str], series: dict[str, list[float]], y_format: str = "{:.0f}") -> str:
    """Stacked bars per x label: e.g. failing rows per expectation per run."""
    totals = [sum(values[i] for values in series.values()) for i in range(len(x_labels))]
    y_max = nice_max(totals, 1.0)
    height = _height(series)
    parts = _frame(title, x_labels, y_max, y_format, height)
    plot_w = WIDTH - LEFT - RIGHT
    bar = min(36.0, plot_w / max(len(x_labels), 1) * 0.6)
    for i in range(len(x_labels)):
        base = 0.0
        for k, (name, values) in enumerate(series.items()):
            value = values[i]
            if not value:
                continue
            top, bottom = _y(base + value, y_max, height), _y(base, y_max, height)
            parts.append(
                f"<rect x='{_x(i, len(x_labels)) - bar / 2:.1f}' y='{top:.1f}' width='{bar:.1f}' "
                f"height='{bottom - top:.1f}' fill='{PALETTE[k % len(PALETTE)]}'><title>{escape(name)}: "
                f"{y_format.format(value)}</title></rect>"
            )
            base += value
    parts += _legend(list(series))
    return "".join(parts) + "</svg>"
