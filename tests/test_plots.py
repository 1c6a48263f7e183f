"""The SVG charts both report writers draw: line charts (the run page) and bar charts (the bench)."""

import xml.etree.ElementTree as ET

import pytest

from vidgan.plots import MAX_POINTS, Bar, bar_chart, line_chart

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    """The chart as XML: a well-formed, standalone SVG document."""
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg" and root.get("font-family") == "sans-serif"
    return root


def coordinates(polyline: ET.Element) -> list[tuple[float, float]]:
    return [tuple(map(float, p.split(","))) for p in polyline.get("points").split()]


def test_a_line_chart_draws_each_series_faint_and_smoothed():
    series = {"g": [(s, 1.0 + (s % 2)) for s in range(1, 201)], "d_video": [(s, 0.5) for s in range(1, 201)]}
    root = parse(line_chart(series, width=500, height=200))
    groups = [g for g in root.iter(f"{SVG}g")]
    assert [g.get("data-key") for g in groups] == ["g", "d_video"]
    faint, smooth = groups[0].findall(f"{SVG}polyline")
    assert len(coordinates(faint)) == 200 and len(coordinates(smooth)) == 200 - 3  # a running mean over 4 steps
    ys = [y for _, y in coordinates(smooth)]
    assert max(ys) - min(ys) < 1e-6  # the alternating 1, 2 averages out to a flat line
    xs = [x for x, _ in coordinates(faint)]
    assert xs == sorted(xs) and 60 <= xs[0] < xs[-1] <= 500 - 12  # steps run left to right inside the frame
    legend = [t.text for t in root.iter(f"{SVG}text")]
    assert "g" in legend and "d_video" in legend and "step" in legend


def test_a_long_line_is_averaged_into_buckets():
    root = parse(line_chart({"g": [(s, float(s)) for s in range(3 * MAX_POINTS)]}))
    assert len(coordinates(root.find(f".//{SVG}polyline"))) == MAX_POINTS


def test_nothing_to_draw_gives_no_chart():
    assert line_chart({"g": []}) == "" and bar_chart([], "t", "s") == ""


def test_a_bar_chart_draws_bars_as_long_as_their_values():
    bars = [Bar("reference", 1.2, "1.20 s (1.00x)", 1), Bar("fast", 0.4, "0.40 s (3.00x)"),
            Bar("a <long> label & more", 0.6, "0.60 s")]
    root = parse(bar_chart(bars, "One iteration", "seconds"))
    rects = [r for r in root.iter(f"{SVG}rect") if r.get("class") == "bar"]
    widths = [float(r.get("width")) for r in rects]
    assert widths == pytest.approx([480.0, 160.0, 240.0], abs=0.1)  # the longest bar spans the plot
    assert rects[0].get("fill") != rects[1].get("fill") == rects[2].get("fill")  # the colour index
    ys = [float(r.get("y")) for r in rects]
    assert ys == sorted(ys)  # in the given order, top to bottom
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert {"reference", "a <long> label & more", "0.40 s (3.00x)", "One iteration", "seconds"} <= set(texts)
    label_right = float(next(t for t in root.iter(f"{SVG}text") if t.text == "a <long> label & more").get("x"))
    assert label_right < float(rects[0].get("x"))  # labels end left of the bars
