"""Inline SVG line plots of logged values over training steps (the run page's plots).

An SVG string needs no plotting library and no network, and embeds in an HTML page as is.
"""

from __future__ import annotations

import html
import math

import torch

COLOURS = ["#3b5bdb", "#e8590c", "#2b8a3e", "#c2255c", "#5f3dc4", "#0b7285", "#a61e4d", "#5c940d"]
MAX_POINTS = 600  # per curve: longer runs are averaged over buckets of steps


def _ticks(lo: float, hi: float, count: int = 5, whole: bool = False) -> list[float]:
    """Round numbers spanning ``[lo, hi]``, about ``count`` of them (``whole``: integers only).

    Example:
        >>> _ticks(0.13, 0.91), _ticks(1, 3, whole=True)
        ([0.2, 0.4, 0.6, 0.8], [1, 2, 3])
    """
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / count
    step = 10 ** math.floor(math.log10(raw))
    step *= next(m for m in (1, 2, 5, 10) if m * step >= raw)
    if whole:
        step = max(1, round(step))
    first = math.ceil(lo / step) * step
    return [round(first + i * step, 12) for i in range(int((hi - first) / step + 1e-9) + 1)]


def _bucketed(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """At most :data:`MAX_POINTS` points: means over equal runs of consecutive points."""
    if len(points) <= MAX_POINTS:
        return points
    size = math.ceil(len(points) / MAX_POINTS)
    chunks = [points[i:i + size] for i in range(0, len(points), size)]
    return [(sum(p[0] for p in c) / len(c), sum(p[1] for p in c) / len(c)) for c in chunks]


def _smooth(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """A running mean over ~2% of the points (the noise of GAN losses hides their trend)."""
    window = max(1, len(points) // 50)
    if window == 1:
        return points
    values = torch.tensor([v for _, v in points], dtype=torch.float64)
    means = values.unfold(0, window, 1).mean(1).tolist()
    return list(zip([s for s, _ in points][window - 1:], means))


def svg_plot(series: dict[str, list[tuple[float, float]]], width: int = 640, height: int = 260) -> str:
    """An inline SVG line plot of ``{name: [(step, value), ...]}`` with axes and a legend.

    Each curve is drawn faint as logged (averaged over buckets when long) and strong as
    a running mean.

    Example:
        >>> svg_plot({"g": [(1, 0.5), (2, 0.7)]}).startswith("<svg")
        True
    """
    series = {k: _bucketed(v) for k, v in series.items() if v}
    left, right, top, bottom = 60, 12, 30, 30
    if not series:
        return ""
    xs = [s for points in series.values() for s, _ in points]
    ys = [v for points in series.values() for _, v in points]
    x0, x1 = min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1
    pad = (max(ys) - min(ys)) * 0.05 or abs(ys[0]) * 0.05 or 1.0
    y0, y1 = min(ys) - pad, max(ys) + pad

    def x(s: float) -> float:
        return left + (s - x0) / (x1 - x0) * (width - left - right)

    def y(v: float) -> float:
        return top + (y1 - v) / (y1 - y0) * (height - top - bottom)

    def line(points: list[tuple[float, float]], colour: str, extra: str) -> str:
        coords = " ".join(f"{x(s):.1f},{y(v):.1f}" for s, v in points)
        return f'<polyline fill="none" stroke="{colour}" points="{coords}" {extra}/>'

    parts = [f'<svg class="plot" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img">',
             f'<rect x="{left}" y="{top}" width="{width - left - right}" height="{height - top - bottom}" '
             f'fill="none" stroke="#bbb"/>']
    for v in _ticks(y0, y1):
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#eee"/>'
                     f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v:.4g}</text>')
    for s in _ticks(x0, x1, whole=True):
        parts.append(f'<text x="{x(s):.1f}" y="{height - bottom + 16}" text-anchor="middle">{s:.6g}</text>')
    parts.append(f'<text x="{width - right}" y="{height - 4}" text-anchor="end">step</text>')
    legend_x = left
    for (name, points), colour in zip(series.items(), COLOURS * len(series)):
        faint, strong = line(points, colour, 'stroke-opacity="0.25"'), line(_smooth(points), colour, 'stroke-width="1.6"')
        parts.append(f'<g data-key="{html.escape(name)}">{faint}{strong}</g>')
        parts.append(f'<rect x="{legend_x}" y="10" width="12" height="4" fill="{colour}"/>'
                     f'<text x="{legend_x + 16}" y="16">{html.escape(name)}</text>')
        legend_x += 24 + 7 * len(name)
    return "\n".join(parts) + "\n</svg>"
