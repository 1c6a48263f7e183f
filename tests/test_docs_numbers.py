"""The README's and the docs' numbers come from the committed reports (docs/numbers.py).

The README's generated blocks must equal what the snippets give from the reports now; every
page's placeholders must resolve; a changed report must change every page that quotes it;
and no page may type a measured number by hand.
"""

import doctest
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from docs import numbers

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "docs").glob("*.md"))
CODE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
# a time, a speed-up, a rate, a percentage or a metric's value: what a measurement looks like
MEASURED = re.compile(r"\b\d+(?:\.\d+)?\s?(?:ms|s|min|h|GFLOP/s|x)\b|\b\d+(?:\.\d+)?\s?%|\b(?:ACD|MCS|c2st) \d")


def prose(text: str) -> str:
    """The text a person writes: no code blocks, no generated blocks, no placeholders."""
    text = numbers.BLOCK.sub("", text)
    return numbers.PLACEHOLDER.sub("", CODE.sub("", text))


def test_the_readme_is_up_to_date():
    """``python -m docs.numbers --check``: every generated block equals what its snippet gives now."""
    result = subprocess.run([sys.executable, "-m", "docs.numbers", "--check"], cwd=ROOT, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    readme = (ROOT / "README.md").read_text()
    assert {m["name"] for m in numbers.BLOCK.finditer(readme)} == {"samples", "commands", "results", "speed"}


def test_the_readmes_numbers_equal_the_reports():
    readme = (ROOT / "README.md").read_text()
    quality = {r["variant"]: r for r in json.loads((ROOT / numbers.REPORTS["quickstart"]).read_text())["results"]}
    q = quality["layered-small"]
    results = next(m["body"] for m in numbers.BLOCK.finditer(readme) if m["name"] == "results")
    row = next(line for line in results.splitlines() if line.startswith("| `layered-small` |"))
    assert (f"| {q['acd']:.2f} ({q['acd_real']:.2f}) | {q['mcs']:.3f} ({q['mcs_real']:.3f}) | "
            f"{q['c2st']:.3f} ({q['c2st_real']:.3f}) |") in row
    assert f"recipe={q['recipe']} run_dir=runs/quickstart" in readme  # the main job trains the benchmark's recipe
    assert f"in {100 * q['mcs']:.0f}% of cases" in readme
    bench = json.loads((ROOT / numbers.REPORTS["bench"]).read_text())
    fast = next(r for r in bench["devices"]["cpu"]["rows"]
                if r["group"] == "iteration" and r["name"] == "mocogan-categorical" and r["config"] == "fast")
    assert f"That is {fast['speedup']:.2f}x faster" in readme


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_placeholder_of_a_page_resolves(page):
    filled = numbers.fill(numbers.include(page.read_text()), page.name)
    assert "{{" not in filled and "vidgan:snippet" not in filled


@pytest.mark.parametrize("path", ["README.md", *[f"docs/{p.name}" for p in PAGES],
                                  *[f"docs/snippets/{p.name}" for p in sorted((ROOT / "docs" / "snippets").glob("*.md"))]])
def test_no_measured_number_is_typed_by_hand(path):
    found = MEASURED.findall(prose((ROOT / path).read_text()))
    assert not found, f"{path} quotes {found}: give them as {{{{ placeholders }}}} from a report (docs/numbers.py)"


def test_a_changed_report_changes_every_page(tmp_path, monkeypatch):
    report = json.loads((ROOT / numbers.REPORTS["quickstart"]).read_text())
    quickstart = next(r for r in report["results"] if r["variant"] == "layered-small")
    quickstart["mcs"], quickstart["recipe"] = 0.4321, "another-recipe"
    (tmp_path / "report.json").write_text(json.dumps(report))
    monkeypatch.setitem(numbers.REPORTS, "quickstart", str(tmp_path / "report.json"))
    numbers.reports.cache_clear()
    try:
        (tmp_path / "README.md").write_text((ROOT / "README.md").read_text())
        monkeypatch.setattr(numbers, "GENERATED", ("README.md",))
        assert numbers.stale(tmp_path) == ["README.md: samples", "README.md: commands", "README.md: results"]
        readme = numbers.regenerate((tmp_path / "README.md").read_text(), "README.md")
        assert "| 0.432 (0.992) |" in readme and "in 43% of cases" in readme and "recipe=another-recipe" in readme
        page = numbers.fill(numbers.include((ROOT / "docs" / "quickstart.md").read_text()), "quickstart.md")
        assert "in\n43% of the videos" in page and "recipe=another-recipe run_dir" in page
    finally:
        numbers.reports.cache_clear()


def test_a_bad_placeholder_is_an_error_naming_it():
    with pytest.raises(ValueError, match=r"page.md: \{\{ quality.no_such_variant.mcs \}\}: .*no_such_variant"):
        numbers.fill("MCS {{ quality.no_such_variant.mcs }}", "page.md")
    with pytest.raises(ValueError, match="no snippet 'nope' in docs/snippets .*commands"):
        numbers.include("<!-- vidgan:snippet nope -->")


def test_the_filters_and_paths():
    assert numbers.fill("{{ 0.1234 | f3 }} {{ 1.5 | f1 }} {{ 92.0 | minutes }} {{ 0.0042 | ms }} {{ 0.4179 | s }}",
                        "x.md") == "0.123 1.5 1.5 min 4 ms 0.418 s"
    assert numbers.fill("{{ assets }} {{ docs }}", "README.md") == "docs/assets docs/"
    assert numbers.fill("{{ assets }} {{ docs }}", "index.md") == "assets "


def test_the_modules_examples():
    result = doctest.testmod(numbers)
    assert result.attempted and not result.failed


def test_a_curve_table_puts_variants_side_by_side_at_the_steps_they_share(monkeypatch):
    def curve(*points):
        return {step: {"train_seconds": 60.0 * step, "c2st": c2st, "mcs": 0.5, "acd": 2.0} for step, c2st in points}
    report = {"fast": {"curve": curve((250, 0.9), (500, 0.8))}, "ref": {"curve": curve((250, 0.95), (750, 0.7))}}
    monkeypatch.setattr(numbers, "reports", lambda: {"actions": report})
    assert numbers.curve_table("actions", "fast").splitlines() == [
        "| step | train time | c2st | MCS | ACD |", "|---|---|---|---|---|",
        "| 250 | 250.0 min | 0.900 | 0.500 | 2.00 |", "| 500 | 500.0 min | 0.800 | 0.500 | 2.00 |"]
    assert numbers.curve_table("actions", "fast", "ref").splitlines() == [
        "| step | `fast` train time | c2st | MCS | ACD | `ref` train time | c2st | MCS | ACD |",
        "|---|---|---|---|---|---|---|---|---|",
        "| 250 | 250.0 min | 0.900 | 0.500 | 2.00 | 250.0 min | 0.950 | 0.500 | 2.00 |"]  # 500, 750: one each


def test_a_same_time_table_puts_a_run_beside_the_nearest_point_of_another_curve(monkeypatch):
    def point(step, minutes, c2st):
        return {"step": step, "train_seconds": 60.0 * minutes, "c2st": c2st, "mcs": 0.5, "acd": 2.0}
    curve = {step: point(step, step / 10, 0.9 - step / 10000) for step in (250, 500, 750)}
    report = {"slow": point(300, 64.0, 1.0), "fast": {"curve": curve}}
    monkeypatch.setattr(numbers, "reports", lambda: {"actions": report})
    assert numbers.same_time_table("actions", "slow", "fast").splitlines() == [
        "| recipe | steps | train time | c2st | MCS | ACD |", "|---|---|---|---|---|---|",
        "| `slow` | 300 | 64.0 min | 1.000 | 0.500 | 2.00 |",
        "| `fast` | 750 | 75.0 min | 0.825 | 0.500 | 2.00 |"]  # 75 min is nearer 64 than 50 is
    report["slow"] = point(300, 40.0, 1.0)  # 50 min is nearer than 25
    assert numbers.same_time_table("actions", "slow", "fast").splitlines()[3].startswith("| `fast` | 500 |")
