"""The measured numbers of the README and the docs, read from the committed reports.

No measured number is typed into a page by hand. A page holds a placeholder such as
``{{ quickstart["layered-small"].c2st | f3 }}`` (a Jinja expression over :func:`context`), and
the number comes from the report that measured it (:data:`REPORTS`):

- the docs build fills the placeholders of every page (``docs/hooks.py``);
- ``python -m docs.numbers`` rewrites the generated blocks of :data:`GENERATED` (the
  README), each between ``<!-- generated: NAME ... -->`` and ``<!-- end generated -->``,
  from the snippet ``docs/snippets/NAME.md``;
- ``python -m docs.numbers --check`` exits 1, naming the stale blocks (a test runs it).

So when a report changes, one command updates the README, the next docs build updates
the pages, and no two pages can disagree. A page includes a snippet with
``<!-- vidgan:snippet NAME -->``: text such as the two commands is written once.

Example:
    >>> fill("{{ 0.598 | pct }}, {{ 2.3456 | x }}", "README.md", {})
    '60%, 2.35x'
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import sys
from pathlib import Path
from typing import Any

import jinja2

from vidgan.bench import verdicts

ROOT = Path(__file__).resolve().parents[1]
SNIPPETS = ROOT / "docs" / "snippets"
REPORTS = {  # the name a placeholder uses: the committed report
    "quickstart": "benchmarks/quality/quickstart/report.json",
    "quality": "benchmarks/quality/report.json",
    "actions": "benchmarks/quality/actions/report.json",
    "critics": "benchmarks/quality/critics/report.json",
    "generators": "benchmarks/quality/generators/report.json",
    "gate": "benchmarks/quality/actions-motion-gate/report.json",
    "bench": "benchmarks/report/report.json",
    "bench_amx": "benchmarks/report-xeon-amx/report.json",
    "data": "benchmarks/data-pipeline/data-pipeline.json",
}
GENERATED = ("README.md",)  # files with generated blocks, relative to the checkout
PLACEHOLDER = re.compile(r"\{\{(.+?)\}\}", re.S)
BLOCK = re.compile(r"(?P<open><!-- generated: (?P<name>[\w-]+)[^\n]*-->\n)(?P<body>.*?)(?P<close><!-- end generated -->)",
                   re.S)
INCLUDE = re.compile(r"^<!-- vidgan:snippet ([\w-]+) -->$", re.M)
FILTERS = {
    "f0": lambda v: f"{v:.0f}", "f1": lambda v: f"{v:.1f}", "f2": lambda v: f"{v:.2f}", "f3": lambda v: f"{v:.3f}",
    "pct": lambda v: f"{100 * v:.0f}%",  # a fraction as a percentage
    "x": lambda v: f"{v:.2f}x",  # a speed-up
    "minutes": lambda s: f"{s / 60:.1f} min",  # seconds as minutes
    "s": lambda s: f"{s:.3f} s", "ms": lambda s: f"{1e3 * s:.0f} ms", "gflops": lambda v: f"{v:.0f} GFLOP/s",
}


def _machine(m: dict[str, Any], threads: bool = True) -> str:
    """The machine a report was measured on, in words: ``a 2-core AMD EPYC (family 26, model 2)
    with native bf16 (avx512_bf16), torch 2.14.1, 1 thread`` (``threads``: with torch's threads)."""
    flags = [f for f in m.get("cpu_flags", []) if "bf16" in f]
    bf16 = f"with native bf16 ({', '.join(flags)})" if m.get("native_bf16_cpu") and flags else (
        "with native bf16" if m.get("native_bf16_cpu") else "without native bf16")
    count = f", {m['threads']} thread{'s' * (m['threads'] != 1)}" if threads and "threads" in m else ""
    torch = f", torch {m['torch'].split('+')[0]}" if "torch" in m else ""
    return f"a {m['cores']}-core {m['cpu']} {bf16}{torch}{count}"


class Named(dict):
    """A report's rows by name (``quality.original``, ``quality["gru-motion"]``) with the
    report's own fields as attributes (``quality.machine``)."""

    def __init__(self, rows: dict[str, Any], **fields: Any):
        super().__init__(rows)
        self.__dict__.update(fields)


def _quality(report: dict[str, Any]) -> Named:
    rows = {}
    for r in report["results"]:
        met = r.get("targets_met_at")
        rows[r["variant"]] = {**r, "curve": {c["step"]: c for c in r["curve"]},
                              "met_step": met["step"] if met else None,
                              "met_seconds": met["train_seconds"] if met else None}
    return Named(rows, machine=_machine(report["machine"]), date=report["date"], num_videos=report["num_videos"],
                 targets=report["targets"], command=report["command"])


def _bench(report: dict[str, Any]) -> Named:
    """Full iterations by recipe, then config (``bench["mocogan-categorical"].fast``); of the
    headline recipe's profiled fast iteration, its time by ``categories`` (seconds), its
    ``kernel_limit`` and ``ideal`` (:mod:`vidgan.bench.verdicts`)."""
    summary = report["devices"]["cpu"]
    recipes: dict[str, dict[str, Any]] = {}
    for row in summary["rows"]:
        if row["group"] == "iteration" and "median" in row:
            recipes.setdefault(row["name"], Named({}))[row["config"]] = row
    peaks = summary["peaks_gflops"]
    profile = verdicts.fast_profile(report, "cpu")
    categories = {c["category"]: c["ms"] / 1e3 for c in profile.get("categories", [])}
    return Named(recipes, machine=_machine(report["machine"]), command=report["command"],
                 seconds=report["seconds"], date=report["started"][:10], peaks=peaks,
                 sustained=summary.get("sustained_peaks_gflops", peaks), categories=categories,
                 kernel_limit=verdicts.kernel_limit(profile, peaks) if profile else None,
                 ideal=verdicts.ideal_convolutions(profile, peaks) if profile else None)


def _data(report: dict[str, Any]) -> Named:
    return Named({r["layout"]: r for r in report["rows"]}, machine=_machine(report["machine"], threads=False),
                 videos=report["videos"], frames=report["frames"], prepare_seconds=report["prepare_seconds"],
                 clip=report["clip"])


VIEWS = {"quickstart": _quality, "quality": _quality, "actions": _quality, "critics": _quality,
         "generators": _quality, "gate": _quality, "bench": _bench, "bench_amx": _bench, "data": _data}


@functools.cache
def reports() -> dict[str, Named]:
    """Every committed report of :data:`REPORTS`, as placeholders see it."""
    return {name: VIEWS[name](json.loads((ROOT / path).read_text())) for name, path in REPORTS.items()}


def quality_table(names: list[str] | None = None, report: str = "quality") -> str:
    """A quality report's rows (all, or ``names`` in that order) as a Markdown table."""
    quality = reports()[report]
    lines = ["| variant | what | ACD ↓ (real clips) | MCS ↑ (real clips) | c2st (0.5 best; real clips) | "
             "targets met at |",
             "|---|---|---|---|---|---|"]
    for name in names or list(quality):
        r = quality[name]
        met = (f"step {r['met_step']} ({FILTERS['minutes'](r['met_seconds'])})" if r["met_step"] is not None
               else "not met")
        control = f" ({r['c2st_real']:.3f})" if r.get("c2st_real") is not None else ""
        lines.append(f"| `{name}` | {r['what']} | {r['acd']:.2f} ({r['acd_real']:.2f}) | "
                     f"{r['mcs']:.3f} ({r['mcs_real']:.3f}) | {r['c2st']:.3f}{control} | {met} |")
    return "\n".join(lines)


def actions_table(report: str = "actions") -> str:
    """A quality report's rows on the human actions, with the real-vs-real controls and
    memorisation, as a Markdown table."""
    lines = ["| variant | steps | c2st (real) | nn-c2st (real) | MCS (real) | ACD (real) | memorisation (copied) |",
             "|---|---|---|---|---|---|---|"]
    for name, r in reports()[report].items():
        lines.append(f"| `{name}` | {r['step']} | {r['c2st']:.3f} ({r['c2st_real']:.3f}) | "
                     f"{r['nn_c2st']:.3f} ({r['nn_c2st_real']:.3f}) | {r['mcs']:.3f} ({r['mcs_real']:.3f}) | "
                     f"{r['acd']:.2f} ({r['acd_real']:.2f}) | {r['memorisation']:.2f} ({100 * r['copied']:.0f}%) |")
    return "\n".join(lines)


def curve_table(report: str, *variants: str) -> str:
    """Quality report variants side by side at each step evaluated for all of them, as a
    Markdown table (train time, c2st, MCS, ACD per variant)."""
    curves = [reports()[report][variant]["curve"] for variant in variants]
    named = len(variants) > 1
    lines = ["| step |" + "".join(f" {f'`{v}` ' if named else ''}train time | c2st | MCS | ACD |" for v in variants),
             "|---|" + "---|---|---|---|" * len(variants)]
    for step in [step for step in curves[0] if all(step in curve for curve in curves[1:])]:
        lines.append(f"| {step} |" + "".join(
            f" {FILTERS['minutes'](c[step]['train_seconds'])} | {c[step]['c2st']:.3f} | {c[step]['mcs']:.3f} | "
            f"{c[step]['acd']:.2f} |" for c in curves))
    return "\n".join(lines)


def same_time_table(report: str, variant: str, other: str) -> str:
    """``variant``'s last evaluation beside the point of ``other``'s curve whose train time is
    nearest it, as a Markdown table: two recipes compared after the same time, not the same steps."""
    row = reports()[report][variant]
    point = min(reports()[report][other]["curve"].values(), key=lambda p: abs(p["train_seconds"] - row["train_seconds"]))
    lines = ["| recipe | steps | train time | c2st | MCS | ACD |", "|---|---|---|---|---|---|"]
    lines += [f"| `{name}` | {r['step']} | {FILTERS['minutes'](r['train_seconds'])} | {r['c2st']:.3f} | {r['mcs']:.3f} | "
              f"{r['acd']:.2f} |" for name, r in ((variant, row), (other, point))]
    return "\n".join(lines)


def iteration_table(report: str, recipe: str = verdicts.HEADLINE, configs: list[str] | None = None) -> str:
    """A benchmark report's full iterations of ``recipe`` (``configs``, or all) as a Markdown table."""
    rows = reports()[report][recipe]
    lines = ["| config | time | speed-up (range over the rounds) | GFLOP | of the peak |", "|---|---|---|---|---|"]
    for config in configs or list(rows):
        r = rows[config]
        low, high = r["speedup_range"]
        peak = f"{100 * r['peak_fraction']:.0f}% of {r['dtype']}" if "peak_fraction" in r else "–"
        if "peak_fraction_beside" in r:
            peak += f" ({100 * r['peak_fraction_beside']:.0f}% beside)"
        lines.append(f"| {config} | {r['median']:.3f} s | {r['speedup']:.2f}x ({low:.2f}x–{high:.2f}x) | "
                     f"{r['gflop']:.0f} | {peak} |")
    return "\n".join(lines)


def categories_table(report: str) -> str:
    """Where a benchmark report's profiled fast iteration spends its time, by category."""
    categories = reports()[report].categories
    total = sum(categories.values())
    lines = ["| category | time | share |", "|---|---|---|"]
    lines += [f"| {name} | {1e3 * seconds:.0f} ms | {100 * seconds / total:.0f}% |" for name, seconds in categories.items()]
    return "\n".join(lines)


def data_table() -> str:
    """The data-pipeline report's layouts as a Markdown table."""
    lines = ["| layout | clips/s | ms per clip | bytes per frame on disk |", "|---|---:|---:|---:|"]
    lines += [f"| {r['layout']} | {r['clips_per_second']:.1f} | {r['ms_per_clip']:.2f} | {r['bytes_per_frame']:.0f} |"
              for r in reports()["data"].values()]
    return "\n".join(lines)


def context(target: str) -> dict[str, Any]:
    """What a placeholder can name, for a page of the docs site or a file of the checkout
    (``README.md``): the reports, the tables, and ``docs``/``assets``, the paths to the docs
    pages and their pictures from there."""
    site = not target.endswith("README.md")
    return {**reports(), "quality_table": quality_table, "actions_table": actions_table, "curve_table": curve_table,
            "same_time_table": same_time_table, "iteration_table": iteration_table,
            "categories_table": categories_table, "data_table": data_table,
            "targets": {"iteration_peak": verdicts.ITERATION_PEAK_TARGET["bf16"]}, "docs": "" if site else "docs/", "assets": "assets" if site else "docs/assets"}


def include(markdown: str) -> str:
    """``markdown`` with each ``<!-- vidgan:snippet NAME -->`` line replaced by the snippet."""
    return INCLUDE.sub(lambda m: snippet(m.group(1)).rstrip("\n"), markdown)


def snippet(name: str) -> str:
    path = SNIPPETS / f"{name}.md"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in SNIPPETS.glob("*.md")))
        raise ValueError(f"no snippet {name!r} in docs/snippets (it has {known})")
    return path.read_text()


@functools.cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)
    env.filters.update(FILTERS)
    return env


def fill(markdown: str, target: str, names: dict[str, Any] | None = None) -> str:
    """``markdown`` with every ``{{ expression }}`` replaced by its value for ``target``
    (:func:`context`, or ``names``); an expression that fails is an error naming it."""
    names = context(target) if names is None else names

    def value(match: re.Match) -> str:
        try:
            return str(_environment().compile_expression(match.group(1), undefined_to_none=False)(**names))
        except (jinja2.TemplateError, KeyError, TypeError, ValueError, AttributeError) as err:
            raise ValueError(f"{target}: {match.group(0)}: {err}") from err

    return PLACEHOLDER.sub(value, markdown)


def regenerate(text: str, target: str) -> str:
    """``text`` with each generated block rendered again from its snippet."""
    return BLOCK.sub(lambda m: m["open"] + fill(include(snippet(m["name"])), target) + m["close"], text)


def stale(root: Path = ROOT) -> list[str]:
    """The generated blocks of :data:`GENERATED` that differ from what their snippets give now."""
    found = []
    for name in GENERATED:
        text = (root / name).read_text()
        fresh = {m["name"]: m["body"] for m in BLOCK.finditer(regenerate(text, name))}
        found += [f"{name}: {m['name']}" for m in BLOCK.finditer(text) if m["body"] != fresh[m["name"]]]
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m docs.numbers", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a generated block is out of date")
    args = parser.parse_args(argv)
    if args.check:
        blocks = stale()
        for block in blocks:
            print(f"out of date: {block} (run python -m docs.numbers)")
        return 1 if blocks else 0
    for name in GENERATED:
        path = ROOT / name
        text = path.read_text()
        fresh = regenerate(text, name)
        if fresh != text:
            path.write_text(fresh)
            print(f"rewrote the generated blocks of {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
