"""SVG charts for the reports: line charts of logged values and bar charts of timings.

Both report writers draw with this module: the run page (:mod:`vidgan.run_page`) embeds
its line charts inline, and the benchmark report (:mod:`vidgan.bench.tables`) writes its
bar chart of full iterations to ``iterations.svg``. An SVG is text: it needs no plotting
library, no font file and no network, it embeds in an HTML page as is, and Markdown shows
it as an image. This module imports neither torch nor anything else of vidgan, so a
recorded report renders anywhere.
"""

from __future__ import annotations

import html
import math
from typing import NamedTuple

COLOURS = ["#3b5bdb", "#e8590c", "#2b8a3e", "#c2255c", "#5f3dc4", "#0b7285", "#a61e4d", "#5c940d"]
MAX_POINTS = 600  # per curve: longer runs are averaged over buckets of steps
CHAR_WIDTH = 6.5  # pixels per character of the 11 px sans-serif text, a generous estimate


class Scale(NamedTuple):
    """A linear map from data values ``lo..hi`` to pixels ``start..end``."""

    lo: float
    hi: float
    start: float
    end: float

    def __call__(self, value: float) -> float:
        return self.start + (value - self.lo) / (self.hi - self.lo) * (self.end - self.start)


class Bar(NamedTuple):
    """One bar of :func:`bar_chart`: its label, length, the text after it and its colour's index."""

    label: str
    value: float
    text: str
    colour: int = 0


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
    """A running mean over ~2% of the points (the noise of GAN losses hides their trend).

    Example:
        >>> _smooth([(s, s % 2) for s in range(100)])[:2]
        [(1, 0.5), (2, 0.5)]
    """
    window = max(1, len(points) // 50)
    if window == 1:
        return points
    values = [v for _, v in points]
    sums = [0.0]
    for v in values:
        sums.append(sums[-1] + v)
    return [(points[i][0], (sums[i + 1] - sums[i + 1 - window]) / window) for i in range(window - 1, len(points))]


def _text(x: float, y: float, text: object, anchor: str = "start") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}">{html.escape(str(text))}</text>'


def _svg(width: int, height: int, parts: list[str]) -> str:
    """A standalone SVG document of ``parts``, styled in itself (no page stylesheet needed)."""
    head = (f'<svg class="plot" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" font-family="sans-serif" font-size="11" fill="#444">'
            f'<rect width="{width}" height="{height}" fill="white"/>')
    return "\n".join([head, *parts, "</svg>"])


def _frame(x: Scale, y: Scale) -> str:
    """The outline of the plotting area."""
    return (f'<rect x="{x.start}" y="{min(y.start, y.end)}" width="{x.end - x.start}" '
            f'height="{abs(y.end - y.start)}" fill="none" stroke="#bbb"/>')


def line_chart(series: dict[str, list[tuple[float, float]]], width: int = 640, height: int = 260) -> str:
    """An SVG line chart of ``{name: [(step, value), ...]}`` with axes and a legend.

    Each curve is drawn faint as logged (averaged over buckets when long) and strong as
    a running mean. Empty series are left out; with none, the chart is ``""``.

    Example:
        >>> line_chart({"g": [(1, 0.5), (2, 0.7)]}).startswith("<svg")
        True
    """
    series = {k: _bucketed(v) for k, v in series.items() if v}
    if not series:
        return ""
    steps = [s for points in series.values() for s, _ in points]
    values = [v for points in series.values() for _, v in points]
    lo, hi = min(steps), max(steps) if max(steps) > min(steps) else min(steps) + 1
    pad = (max(values) - min(values)) * 0.05 or abs(values[0]) * 0.05 or 1.0
    x = Scale(lo, hi, 60, width - 12)
    y = Scale(min(values) - pad, max(values) + pad, height - 30, 30)

    def line(points: list[tuple[float, float]], colour: str, extra: str) -> str:
        coords = " ".join(f"{x(s):.1f},{y(v):.1f}" for s, v in points)
        return f'<polyline fill="none" stroke="{colour}" points="{coords}" {extra}/>'

    parts = [_frame(x, y)]
    for v in _ticks(y.lo, y.hi):
        parts.append(f'<line x1="{x.start}" x2="{x.end}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#eee"/>'
                     + _text(x.start - 6, y(v) + 4, f"{v:.4g}", "end"))
    parts += [_text(x(s), y.start + 16, f"{s:.6g}", "middle") for s in _ticks(lo, hi, whole=True)]
    parts.append(_text(x.end, height - 4, "step", "end"))
    legend_x = x.start
    for (name, points), colour in zip(series.items(), COLOURS * len(series)):
        faint, strong = line(points, colour, 'stroke-opacity="0.25"'), line(_smooth(points), colour, 'stroke-width="1.6"')
        parts.append(f'<g data-key="{html.escape(name)}">{faint}{strong}</g>')
        parts.append(f'<rect x="{legend_x}" y="10" width="12" height="4" fill="{colour}"/>'
                     + _text(legend_x + 16, 16, name))
        legend_x += 24 + CHAR_WIDTH * len(name)
    return _svg(width, height, parts)


def bar_chart(bars: list[Bar], title: str, axis: str, row_height: int = 22, plot_width: int = 480) -> str:
    """An SVG chart of horizontal bars, one per :class:`Bar`, on a common axis from zero.

    Labels stand left of the bars, each bar's ``text`` after it; ``axis`` names the unit
    of the values. The chart is as wide as its longest label needs. With no bars, ``""``.

    Example:
        >>> svg = bar_chart([Bar("reference", 1.0, "1.00 s"), Bar("fast", 0.4, "0.40 s (2.50x)", 1)],
        ...                 "One iteration", "seconds")
        >>> svg.count("<rect class=\\"bar\\"")
        2
    """
    if not bars:
        return ""
    left = 16 + CHAR_WIDTH * max(len(b.label) for b in bars)
    top = 40
    width = int(left + plot_width + 16 + CHAR_WIDTH * max(len(b.text) for b in bars))
    height = top + row_height * len(bars) + 36
    x = Scale(0, max(b.value for b in bars) or 1.0, left, left + plot_width)
    y = Scale(0, len(bars), top, top + row_height * len(bars))
    parts = [_text(8, 20, title), _frame(x, y)]
    for v in _ticks(x.lo, x.hi):
        parts.append(f'<line x1="{x(v):.1f}" x2="{x(v):.1f}" y1="{y.start}" y2="{y.end}" stroke="#eee"/>'
                     + _text(x(v), y.end + 16, f"{v:.4g}", "middle"))
    parts.append(_text(x.end, height - 4, axis, "end"))
    for i, bar in enumerate(bars):
        middle = y(i + 0.5)
        parts.append(_text(left - 8, middle + 4, bar.label, "end"))
        parts.append(f'<rect class="bar" x="{x.start}" y="{y(i) + 4:.1f}" width="{max(x(bar.value) - x.start, 1):.1f}" '
                     f'height="{row_height - 8}" fill="{COLOURS[bar.colour % len(COLOURS)]}"/>')
        parts.append(_text(x(bar.value) + 6, middle + 4, bar.text))
    return _svg(width, height, parts)
