"""The benchmark's report files, from a run's results (plain data).

Writes ``report.json`` (every raw time plus the machine), ``report.md`` (tables with time,
data time, speed-up vs the reference, GFLOP/s and fraction of the measured GEMM peak, the
roofline of the full iterations and where a profiled iteration's time goes, with the
sentences of :mod:`vidgan.bench.sentences` between them) and ``iterations.png`` (a bar
chart of the full iterations). The runner (:mod:`vidgan.bench.run`) imports this module,
never the other way round, so a recorded ``report.json`` renders again without torch.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from vidgan.bench import sentences, verdicts
from vidgan.bench.sentences import speedup_line, speedup_range
from vidgan.bench.verdicts import HEADLINE, PASSES, PRECOMPUTED, Row


def write(results: dict[str, Any], out: Path) -> None:
    """``report.json``, ``report.md`` and ``iterations.png`` of ``results`` in the folder ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(results, indent=1) + "\n")
    (out / "report.md").write_text(markdown(results))
    chart(results, out / "iterations.png")


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms" if seconds < 1 else f"{seconds:.3f} s"


def _num(row: Row, key: str, fmt: str) -> str:
    return format(row[key], fmt) if key in row else "–"


def _pct(row: Row) -> str:
    """``14% of bf16``, with the fraction of the peak timed beside the runs where a row has it."""
    if "peak_fraction" not in row:
        return "–"
    beside = f" ({100 * row['peak_fraction_beside']:.0f}% beside)" if "peak_fraction_beside" in row else ""
    return f"{100 * row['peak_fraction']:.0f}% of {row['dtype']}{beside}"


def _iqr(row: Row) -> str:
    if "median" not in row:
        return "–"
    return "single run" if row["runs"] == 1 else f"±{100 * row['iqr'] / row['median']:.0f}%"


def markdown(results: dict[str, Any]) -> str:
    """The text of ``report.md``."""
    m = results["machine"]
    lines = [
        "# vidgan benchmark report", "",
        f"`{results['command']}` ({results['mode']} mode), "
        f"{results['started']} → {results['finished']}, {results['seconds']:.0f} s.", "",
        f"Machine: {m['cpu']}, {m['cores']} cores ({m['cpu_capability']}; flags "
        f"{' '.join(m['cpu_flags']) or '–'}; native bf16 on CPU: {'yes' if m['native_bf16_cpu'] else 'no'}); "
        f"CUDA: {m['cuda'] or 'none'}; torch {m['torch']}, {m['threads']} threads; "
        f"load average (1/5/15 min) {results['load_average_start']} at the start, "
        f"{results['load_average_end']} at the end.", "",
    ]
    if results["load_average_start"] and results["load_average_start"][0] > (m["cores"] or 1):
        lines += [
            f"The load average exceeded the {m['cores']} cores: other processes shared them, so times "
            "are noisy.", "",
        ]
    lines += [
        "Times are medians of interleaved runs (± is the interquartile range relative to the "
        "median). Speed-ups are against the reference row of the same table in the same run: for "
        "full iterations the median of per-round ratios (each round runs the reference and then "
        "every config, so drifting load cancels; the range is over the rounds), for conv stacks "
        "the ratio of medians. GFLOP counts come from `torch.utils.flop_counter`; the peak is this "
        "run's own GEMM measurement for the row's dtype: the best GFLOP/s over matmuls and 1×1 "
        "convolutions of three sizes and all their runs (a peak is what the machine reaches at "
        "best; slower runs are other processes' load), timed in the same rounds as every other "
        "case. A full iteration's *beside* fraction pairs each of its runs with those GEMMs run "
        "right before it (each back to back for 0.1 s, the best sustained rate) and takes the "
        "median over its runs: the peak of the moment, where the best of all rounds may come "
        "from a burst of speed the iteration never saw. The fast iteration's target is judged "
        "on it.", "",
    ]
    lines += sentences.above_peak(results)
    for device, summary in results["devices"].items():
        lines += headline(device, summary)
        lines += sentences.targets(device, summary, results)
    lines += ["## GEMM peaks", "",
              "The same GEMM sizes as matmuls (the BLAS library) and as 1×1 convolutions (the "
              "convolution library, which runs the models' convolutions). GFLOP/s of the best run; "
              "the peak of a dtype is its best GEMM's.", "",
              "| device | dtype | size | time (median) | best | GFLOP/s | |", "|---|---|---|---|---|---|---|"]
    for device, summary in results["devices"].items():
        for row in summary["rows"]:
            if row["group"] == "peak" and "median" in row:
                lines.append(f"| {device} | {row['config']} | {row['name']} | {_ms(row['median'])} | "
                             f"{_ms(row['best'])} | {_num(row, 'best_gflops_per_s', '.1f')} | "
                             f"{'**peak**' if row.get('gives_peak') else ''} |")
    lines += [""] + sentences.libraries(results) + sentences.sustained(results)
    lines += ["", "## Full iterations", "",
              "*data*: the median time an iteration waited for its real batches, within its time: "
              "drawing them in the step, or taking them from the prefetch thread (`train.prefetch`, "
              "whose queue is refilled before the next case runs). Every config is also timed as "
              "*<config>, data precomputed*: the batches are drawn once before timing, so the "
              "iteration runs without its data (the model's computation alone); its speed-up is "
              "against the reference's precomputed row.", "",
              "| device | recipe | config | time / iteration | data | spread | speed-up | GFLOP | GFLOP/s "
              "| of peak |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for device, summary in results["devices"].items():
        for row in summary["rows"]:
            if row["group"] == "iteration":
                lines.append(iteration_row(device, row))
    lines += roofline(results)
    layers = [(d, r) for d, s in results["devices"].items() for r in s["rows"] if r["group"] == "layer"]
    if layers:
        lines += ["", "## Conv stacks", "",
                  "Forward runs without autograd; forward+backward computes the weight gradients "
                  "(as a D step does). Speed-ups are against fp32 · contiguous · eager.", "",
                  "| device | stack | pass | config | time | spread | speed-up | GFLOP | GFLOP/s | of peak | note |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]
        for device, row in layers:
            lines.append(f"| {device} | {row['name']} | {row['direction']} | {row['config']} | "
                         f"{_ms(row['median']) if 'median' in row else '–'} | {_iqr(row)} | "
                         f"{_num(row, 'speedup', '.2f')}{'x' if 'speedup' in row else ''} | "
                         f"{_num(row, 'gflop', '.3g')} | {_num(row, 'gflops_per_s', '.1f')} | {_pct(row)} | "
                         f"{row['note']} |")
    if results["profiles"]:
        lines += ["", "## Profiles (one iteration each)", "",
                  "Where the time goes: the profiler's self times (CPU time, device time on CUDA) by "
                  "category. An op counts in the innermost category scope it ran in (`vidgan.data`: "
                  "drawing or taking the real batches; `vidgan.losses`: the losses, with any gradient "
                  "penalty; `vidgan.latents`: the latent samplers with the motion GRU); else a copy "
                  "(`to`, `copy_`, `contiguous`, `clone`) counts as a cast or layout conversion "
                  "wherever it runs (autocast's weight casts, the weight-gradient layout changes in a "
                  "convolution's backward and in fused Adam); else an op counts by the name of the "
                  "outermost op or scope it ran in (convolutions; batch norm, ReLU, tanh, sigmoid; GRU "
                  "and random sampling; loss functions; `Optimizer.step`/`zero_grad` and Adam); a "
                  "backward op counts as the forward op whose autograd node it runs. Then the top ops.",
                  ""]
        for p in results["profiles"]:
            lines += [f"**{p['device']} {p['recipe']} {p['config']}** ([{p['file']}]({p['file']})):", ""]
            peaks = results["devices"][p["device"]]["peaks_gflops"]
            if "categories" in p:
                lines += ["| category | time | share |", "|---|---|---|"]
                lines += [f"| {c['category']} | {c['ms']:.1f} ms | {100 * c['share']:.0f}% |"
                          for c in p["categories"]]
                lines += ["", sentences.convolution_line(p, peaks), ""]
            lines += passes_table(p, peaks)
            lines += ["| op | self time | calls | share |", "|---|---|---|---|"]
            lines += [f"| `{t['op']}` | {t['self_ms']:.1f} ms | {t['calls']} | {100 * t['share']:.0f}% |"
                      for t in p["top"]]
            lines.append("")
    lines += ["", "Chart: [iterations.png](iterations.png). Raw numbers: [report.json](report.json).", ""]
    return "\n".join(lines)


def roofline(results: dict[str, Any]) -> list[str]:
    """The roofline table of the full iterations: how far each is from its dtype's peak, and
    how much of the speed-up the hardware allows its FLOPs it reaches."""
    rows = [(d, r) for d, s in results["devices"].items() for r in s["rows"]
            if r["group"] == "iteration" and "bound_speedup" in r]
    if not rows:
        return []
    out = ["", "## Roofline", "",
           "Each full iteration against the machine's measured peaks: *of peak* is its GFLOP/s over "
           "the peak of the dtype it runs in (its autocast precision; in brackets, of the peak timed "
           "beside its runs); *bound* is the speed-up over "
           "the reference that its FLOPs allow at the peaks, (reference GFLOP / fp32 peak) / (GFLOP / "
           "its dtype's peak), at the sustained peaks (the median of each dtype's peaks timed beside "
           "the iterations); *reached* is the measured speed-up over that bound (above 100%: the "
           "reference runs further below the peak than this config).", "",
           "| device | recipe | config | GFLOP | GFLOP/s | of peak | bound | measured | reached |",
           "|---|---|---|---|---|---|---|---|---|"]
    for device, row in rows:
        out.append(f"| {device} | {row['name']} | {row['config']} | {row['gflop']:.3g} | "
                   f"{_num(row, 'gflops_per_s', '.1f')} | {_pct(row)} | {row['bound_speedup']:.2f}x | "
                   f"{row['speedup']:.2f}x | {100 * row['bound_reached']:.0f}% |")
    return out


def iteration_row(device: str, row: Row) -> str:
    """A full iteration's line of the iterations table."""
    if "median" not in row:
        return f"| {device} | {row['name']} | {row['config']} | {row['note']} | | | | | | |"
    data = "precomputed" if row.get("precomputed") else _ms(row["data_median"]) if "data_median" in row else "–"
    return (f"| {device} | {row['name']} | {row['config']} | {_ms(row['median'])} | {data} | {_iqr(row)} | "
            f"{_num(row, 'speedup', '.2f')}x{speedup_range(row)} | {_num(row, 'gflop', '.3g')} | "
            f"{_num(row, 'gflops_per_s', '.1f')} | {_pct(row)} |")


def headline(device: str, summary: dict[str, Any]) -> list[str]:
    """The headline recipe's reference, standard and fast iterations, and the speed-up line."""
    rows = [r for r in summary["rows"] if r["group"] == "iteration" and r["name"] == HEADLINE]
    out = [f"## Headline: {HEADLINE} on {device}, one full training iteration", "",
           "| config | time / iteration | spread | speed-up vs reference | GFLOP | GFLOP/s |",
           "|---|---|---|---|---|---|"]
    for row in rows:
        if row["config"].removesuffix(PRECOMPUTED) in ("reference", "fast", "standard") and "median" in row:
            out.append(f"| {row['config']} | {_ms(row['median'])} | {_iqr(row)} | "
                       f"{_num(row, 'speedup', '.2f')}x{speedup_range(row)} | {_num(row, 'gflop', '.3g')} | "
                       f"{_num(row, 'gflops_per_s', '.1f')} |")
    return out + ["", f"**{speedup_line(summary, device)}**", ""]


def passes_table(profile: dict[str, Any], peaks: dict[str, float]) -> list[str]:
    """Per convolution of a profiled iteration: each pass's time alone and its share of the
    peak (:func:`~vidgan.bench.verdicts.profile_peak`; the rounds' ``peaks`` beside it)."""
    if not profile.get("passes"):
        return []
    peak = verdicts.profile_peak(profile, peaks)

    def cell(row: Row, name: str) -> str:
        if name not in row:
            return "–"
        p = row[name]
        share = f" ({100 * p['gflop'] / p['seconds'] / peak:.0f}%)" if peak else ""
        return f"{1e3 * p['seconds']:.2f} ms{share}"

    def gemms(row: Row) -> str:
        timed = [row[n] for n in PASSES if n in row and "gemm_seconds" in row[n]]
        if not timed:
            return "–"
        seconds, gflop = sum(p["gemm_seconds"] for p in timed), sum(p["gflop"] for p in timed)
        return f"{1e3 * seconds:.2f} ms" + (f" ({100 * gflop / seconds / peak:.0f}%)" if peak else "")

    measured = (f" The fractions of the peak in this profile are of that one; the rounds measured "
                f"{peaks[profile['dtype']]:.0f} GFLOP/s."
                if profile.get("peak_gflops") and profile["dtype"] in peaks else "")
    over = verdicts.passes_above_peak(profile, peak)
    if over:
        measured += (f" {len(over)} pass(es) ran above 100% of it (up to {100 * max(over):.0f}%): the GEMMs "
                     f"under-measured the machine's peak, so the fractions here overstate the efficiency.")
    lines = [sentences.passes_line(profile, peaks) + measured, "",
             "| convolution | input | calls | forward | backward | gradients | both as plain GEMMs |",
             "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['layer']} | {r['input']} | {r['calls']} | {cell(r, 'forward')} | {cell(r, 'backward')} | "
              f"{r['gradients'] or '–'} | {gemms(r)} |" for r in profile["passes"]]
    return lines + [""]


def chart(results: dict[str, Any], path: Path) -> None:
    """A horizontal bar per full-iteration case: its time and speed-up vs the reference."""
    bars = [(f"{device} {r['name']} · {r['config']}", r["median"], r.get("speedup"))
            for device, s in results["devices"].items() for r in s["rows"]
            if r["group"] == "iteration" and "median" in r]
    row_h, top = 26, 40
    font = ImageFont.load_default()  # the font ImageDraw.text writes with when given none
    left = 20 + int(max((font.getlength(b[0]) for b in bars), default=400))  # labels in full
    width = left + 680
    image = Image.new("RGB", (width, top + row_h * max(len(bars), 1) + 20), "white")
    draw = ImageDraw.Draw(image)
    draw.text((10, 10), "Full training iteration: seconds (speed-up vs reference); shorter is faster",
              fill="black")
    longest = max((b[1] for b in bars), default=1.0)
    for i, (label, seconds, speedup) in enumerate(bars):
        y = top + i * row_h
        length = int((width - left - 160) * seconds / longest)
        colour = (200, 90, 60) if label.endswith("· reference") else (60, 120, 200)
        draw.text((10, y + 6), label, fill="black")
        draw.rectangle([left, y + 4, left + max(length, 1), y + row_h - 4], fill=colour)
        ratio = f" ({speedup:.2f}x)" if speedup else ""
        draw.text((left + length + 6, y + 6), f"{seconds:.3g} s{ratio}", fill="black")
    image.save(path)
