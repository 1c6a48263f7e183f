"""The benchmark report, from the runner's results (plain data): the headline, the targets,
tables, a chart. Every sentence is built from the recorded numbers and machine facts.

Writes ``report.json`` (every raw time plus the machine), ``report.md`` (tables with time,
data time, speed-up vs the reference, GFLOP/s and fraction of the measured GEMM peak, the
roofline of the full iterations and where a profiled iteration's time goes) and
``iterations.png`` (a bar chart of the full iterations). The runner
(:mod:`vidgan.bench.runner`) imports this module, never the other way round.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

HEADLINE = "mocogan-categorical"  # the recipe of the targets: the original's default setting
PASSES = ("forward", "backward")  # a convolution's passes, timed alone
PRECOMPUTED = ", data precomputed"  # the config suffix of an iteration timed without its data
TARGET_SPEEDUP, AIM_SPEEDUP, TARGET_PEAK = 3.0, 4.0, 0.5
# the fast iteration's share of the peak of the dtype it runs in: bf16 where the CPU has it natively
ITERATION_PEAK_TARGET = {"bf16": 0.75, "fp32": 0.85, "fp16": 0.75}
ITERATION_PEAK_AIM = 0.85


def peak_verdict(fast: dict[str, Any]) -> str:
    """``47% of the bf16 peak (target 75%: NOT met)`` for the fast iteration's row: of the
    peak timed beside its runs where the run has it (the rounds' best peak given too)."""
    if "peak_fraction" not in fast:
        return "share of peak unknown (no measured peak for its dtype)"
    target = ITERATION_PEAK_TARGET.get(fast["dtype"], ITERATION_PEAK_AIM)
    fraction, where = fast["peak_fraction"], ""
    if "peak_fraction_beside" in fast:
        fraction = fast["peak_fraction_beside"]
        where = f" timed beside it ({100 * fast['peak_fraction']:.0f}% of the best of all rounds)"
    verdict = "met" if fraction >= target else "NOT met"
    return f"{100 * fraction:.0f}% of the {fast['dtype']} peak{where} (target {100 * target:.0f}%: {verdict})"


# numbers ------------------------------------------------------------------------------
def find(summary: dict[str, Any], group: str, name: str, config: str, direction: str | None = None
         ) -> dict[str, Any] | None:
    for row in summary["rows"]:
        if (row["group"], row["name"], row["config"]) == (group, name, config) and "median" in row \
                and direction in (None, row["direction"]):
            return row
    return None


def speedup_line(summary: dict[str, Any], device: str) -> str:
    """The one line quick mode exists for: the headline recipe's fast vs reference iteration."""
    ref, fast = (find(summary, "iteration", HEADLINE, c) for c in ("reference", "fast"))
    if not ref or not fast:
        return f"{HEADLINE} on {device}: no full-iteration numbers"
    ratio = fast["speedup"]
    verdict = "met" if ratio >= TARGET_SPEEDUP else "NOT met"
    return (f"{HEADLINE} full iteration on {device}: reference {ref['median']:.3f} s, "
            f"fast {fast['median']:.3f} s -> {ratio:.2f}x faster{_range(fast)} "
            f"(target {TARGET_SPEEDUP:g}x: {verdict}); fast at {peak_verdict(fast)}")


# writing ------------------------------------------------------------------------------
def write(results: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(results, indent=1) + "\n")
    (out / "report.md").write_text(markdown(results))
    chart(results, out / "iterations.png")


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms" if seconds < 1 else f"{seconds:.3f} s"


def _num(row: dict[str, Any], key: str, fmt: str) -> str:
    return format(row[key], fmt) if key in row else "–"


def _pct(row: dict[str, Any]) -> str:
    """``14% of bf16``, with the fraction of the peak timed beside the runs where a row has it."""
    if "peak_fraction" not in row:
        return "–"
    beside = f" ({100 * row['peak_fraction_beside']:.0f}% beside)" if "peak_fraction_beside" in row else ""
    return f"{100 * row['peak_fraction']:.0f}% of {row['dtype']}{beside}"


def _range(row: dict[str, Any]) -> str:
    """The spread of a paired speed-up over the rounds, e.g. " (1.21x–1.63x over 3 rounds)"."""
    if "speedup_range" not in row or row["runs"] < 2:
        return ""
    low, high = row["speedup_range"]
    return f" ({low:.2f}x–{high:.2f}x over {row['runs']} rounds)"


def _iqr(row: dict[str, Any]) -> str:
    if "median" not in row:
        return "–"
    return "single run" if row["runs"] == 1 else f"±{100 * row['iqr'] / row['median']:.0f}%"


def markdown(results: dict[str, Any]) -> str:
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
    lines += above_peak(results)
    for device, summary in results["devices"].items():
        lines += headline(device, summary)
        lines += targets(device, summary, results)
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
    lines += [""] + libraries(results) + sustained(results)
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
                lines += ["", convolution_line(p, peaks), ""]
            lines += passes_table(p, peaks)
            lines += ["| op | self time | calls | share |", "|---|---|---|---|"]
            lines += [f"| `{t['op']}` | {t['self_ms']:.1f} ms | {t['calls']} | {100 * t['share']:.0f}% |"
                      for t in p["top"]]
            lines.append("")
    lines += ["", "Chart: [iterations.png](iterations.png). Raw numbers: [report.json](report.json).", ""]
    return "\n".join(lines)


def above_peak(results: dict[str, Any]) -> list[str]:
    """A note for every device and dtype whose rows exceed 100% of the measured peak: that
    peak was under-measured, so the fractions against it overstate the efficiency."""
    out = []
    for device, summary in results["devices"].items():
        over: dict[str, list[float]] = {}
        for row in summary["rows"]:
            if row.get("peak_fraction", 0) > 1:
                over.setdefault(row["dtype"], []).append(row["peak_fraction"])
        for dtype, fractions in over.items():
            size = summary.get("peak_sizes", {}).get(dtype, "its GEMMs")
            out += [f"**Above the peak on {device}:** {len(fractions)} row(s) run at more than 100% of the "
                    f"{dtype} peak (up to {100 * max(fractions):.0f}%): this run under-measured the {dtype} "
                    f"peak ({summary['peaks_gflops'][dtype]:.1f} GFLOP/s, from {size}), so every fraction of "
                    f"the {dtype} peak here overstates the efficiency.", ""]
    return out


def libraries(results: dict[str, Any]) -> list[str]:
    """Per device and dtype, the best matmul against the best 1×1 convolution: the two
    libraries' GEMM speeds, and which one gave the peak."""
    out = []
    for device, summary in results["devices"].items():
        best: dict[str, dict[str, float]] = {}
        for row in summary["rows"]:
            if row["group"] == "peak" and "best_gflops_per_s" in row:
                kind = "matmuls" if row["name"].startswith("matmul") else "1×1 convolutions"
                rates = best.setdefault(row["config"], {})
                rates[kind] = max(rates.get(kind, 0.0), row["best_gflops_per_s"])
        for dtype, rates in best.items():
            if len(rates) == 2:
                (fast, a), (slow, b) = sorted(rates.items(), key=lambda kv: -kv[1])
                out.append(f"- {device} {dtype}: {fast} {a:.1f} GFLOP/s, {slow} {b:.1f} ({a / b:.2f}x).")
    return out + [""] if out else []


def sustained(results: dict[str, Any]) -> list[str]:
    """Per device the median of the peaks timed beside the full iterations, per dtype."""
    out = []
    for device, summary in results["devices"].items():
        rates = summary.get("sustained_peaks_gflops")
        if rates:
            out.append(f"- {device}, sustained beside the full iterations (each GEMM run back to back for 0.1 s "
                       f"right before each timed iteration; median over the iterations' runs, the roofline's "
                       f"bound uses it): " + ", ".join(f"{d} {r:.1f} GFLOP/s" for d, r in rates.items()) + ".")
    return out + [""] if out else []


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


def iteration_row(device: str, row: dict[str, Any]) -> str:
    if "median" not in row:
        return f"| {device} | {row['name']} | {row['config']} | {row['note']} | | | | | | |"
    data = "precomputed" if row.get("precomputed") else _ms(row["data_median"]) if "data_median" in row else "–"
    return (f"| {device} | {row['name']} | {row['config']} | {_ms(row['median'])} | {data} | {_iqr(row)} | "
            f"{_num(row, 'speedup', '.2f')}x{_range(row)} | {_num(row, 'gflop', '.3g')} | "
            f"{_num(row, 'gflops_per_s', '.1f')} | {_pct(row)} |")


def headline(device: str, summary: dict[str, Any]) -> list[str]:
    rows = [r for r in summary["rows"] if r["group"] == "iteration" and r["name"] == HEADLINE]
    out = [f"## Headline: {HEADLINE} on {device}, one full training iteration", "",
           "| config | time / iteration | spread | speed-up vs reference | GFLOP | GFLOP/s |",
           "|---|---|---|---|---|---|"]
    for row in rows:
        if row["config"].removesuffix(PRECOMPUTED) in ("reference", "fast", "standard") and "median" in row:
            out.append(f"| {row['config']} | {_ms(row['median'])} | {_iqr(row)} | "
                       f"{_num(row, 'speedup', '.2f')}x{_range(row)} | {_num(row, 'gflop', '.3g')} | "
                       f"{_num(row, 'gflops_per_s', '.1f')} |")
    return out + ["", f"**{speedup_line(summary, device)}**", ""]


LAYER_LEVERS = ("precision", "channels_last", "compile", "cudnn_benchmark", "conv3d_gemm", "conv2d_gemm",
                "conv_transpose_gemm")


def conv3d_row(summary: dict[str, Any]) -> dict[str, Any] | None:
    """The headline video discriminator's Conv3d stack, fwd+bwd, in the fast mode's layer config."""
    fast = find(summary, "iteration", HEADLINE, "fast")
    if fast is None:
        return None
    lv = fast["levers"]
    for row in summary["rows"]:
        if row["group"] == "layer" and row["direction"] == "fwd+bwd" and "video D" in row["name"] \
                and all(row["levers"].get(k, False) == lv.get(k, False) for k in LAYER_LEVERS) \
                and "categorical" in row["name"] and "median" in row:
            return row
    return None


def targets(device: str, summary: dict[str, Any], results: dict[str, Any]) -> list[str]:
    ref, fast = (find(summary, "iteration", HEADLINE, c) for c in ("reference", "fast"))
    if not ref or not fast:
        return []
    peaks = summary["peaks_gflops"]
    ratio = fast["speedup"]
    out = [f"### Targets on {device}", "",
           f"- Full iteration, fast vs reference: **{ratio:.2f}x** (target {TARGET_SPEEDUP:g}x, aim "
           f"{AIM_SPEEDUP:g}x): {'met' if ratio >= TARGET_SPEEDUP else 'not met'}.",
           f"- Full fast iteration at the machine's limit: {peak_verdict(fast)}; aim "
           f"{100 * ITERATION_PEAK_AIM:.0f}%."]
    profile = fast_profile(results, device)
    for bound in (passes_line(profile, peaks), ideal_convolutions_line(profile, peaks),
                  slower_profile_line(profile, fast)):
        if bound:
            out[-1] += " " + bound
    row = conv3d_row(summary)
    if row and "peak_fraction" in row:
        fraction, where = row["peak_fraction"], ""
        if fast.get("peaks_beside") and row["dtype"] == fast["dtype"]:  # timed in the same rounds
            fraction = row["gflops_per_s"] / statistics.median(fast["peaks_beside"])
            where = (f" timed beside the fast iteration's runs ({100 * row['peak_fraction']:.0f}% of the best "
                     f"of all rounds)")
        text = (f"- Video discriminator Conv3d stack (`{row['name']}`), forward+backward in the fast "
                f"mode's config ({row['config']}): {row['gflops_per_s']:.1f} GFLOP/s = **{100 * fraction:.0f}% "
                f"of the {row['dtype']} peak**{where}")
        if row["dtype"] == "bf16":
            text += f" (target {100 * TARGET_PEAK:.0f}%): {'met' if fraction >= TARGET_PEAK else 'not met'}."
        elif "bf16" in peaks:
            text += (f". The target ({100 * TARGET_PEAK:.0f}% of the bf16 peak) assumes a bf16 fast mode; "
                     f"here bf16 is not used because its peak is only {peaks['bf16']:.1f} GFLOP/s, "
                     f"{peaks['fp32'] / peaks['bf16']:.0f}x below fp32 (the fp32 stack alone runs "
                     f"{row['gflops_per_s'] / peaks['bf16']:.0f}x faster than the bf16 peak).")
        out.append(text)
    else:
        out.append("- Conv3d fraction of peak: run the full mode (the layer tables) for this number.")
    if ref.get("gflop") and fast.get("gflop"):
        out.append(f"- Work: reference {ref['gflop']:.3g} GFLOP per iteration, fast {fast['gflop']:.3g} "
                   f"GFLOP ({100 * (1 - fast['gflop'] / ref['gflop']):.0f}% removed).")
    if ratio < TARGET_SPEEDUP:
        out += ["", holds_back(device, summary, results, row, fast)]
    return out + [""]


def fast_profile(results: dict[str, Any], device: str) -> dict[str, Any]:
    """The profile of the headline recipe's fast iteration on ``device`` ({} when none)."""
    return next((p for p in results["profiles"] if p["device"] == device and p["recipe"] == HEADLINE
                 and p["config"] == "fast"), {})


def profile_peak(profile: dict[str, Any], peaks: dict[str, float]) -> float | None:
    """The peak a profile's lines compare with: its dtype's peak GEMMs run between its passes
    (the median of their sustained rates: the machine's speed in that phase) where the run
    has them, else the rounds' peak (``peaks``) of its dtype."""
    return profile.get("peak_gflops") or peaks.get(profile.get("dtype", ""))


def convolution_line(profile: dict[str, Any], peaks: dict[str, float]) -> str:
    """How fast the convolutions of a profiled iteration run: their FLOPs over their time."""
    conv = next(c for c in profile["categories"] if c["category"] == "convolutions")
    if not conv["ms"] or not profile.get("convolution_gflop"):
        return "Convolutions: no time or FLOPs recorded."
    rate = profile["convolution_gflop"] / conv["ms"] * 1e3
    peak = profile_peak(profile, peaks)
    share = f", {100 * rate / peak:.0f}% of the {profile['dtype']} peak" if peak else ""
    rest = sum(c["ms"] for c in profile["categories"]) - conv["ms"]
    return (f"Convolutions: {profile['convolution_gflop']:.0f} GFLOP in {conv['ms']:.0f} ms of self time, "
            f"{rate:.0f} GFLOP/s{share}; the other categories take {rest:.0f} ms.")


def passes_total(profile: dict[str, Any]) -> tuple[float, float, float]:
    """Seconds and GFLOP of a profiled iteration's convolutions, each pass timed alone, and
    the seconds of their GEMMs as plain matrix products (0 in a report from before them)."""
    seconds = gflop = gemm_seconds = 0.0
    for row in profile.get("passes", []):
        for name in PASSES:
            if name in row:
                seconds += row["calls"] * row[name]["seconds"]
                gflop += row["calls"] * row[name]["gflop"]
                gemm_seconds += row["calls"] * row[name].get("gemm_seconds", 0.0)
    return seconds, gflop, gemm_seconds


def passes_line(profile: dict[str, Any], peaks: dict[str, float]) -> str:
    """The limit the convolution kernels themselves set: the iteration's FLOPs over the time
    of its convolution passes timed alone."""
    seconds, gflop, gemm_seconds = passes_total(profile)
    if not seconds:
        return ""
    rate, peak = gflop / seconds, profile_peak(profile, peaks)
    text = (f"Each convolution of this iteration timed alone, forward and backward (best of 5; its shapes, "
            f"dtype, layout and gradients): "
            f"{1e3 * seconds:.0f} ms for {gflop:.0f} GFLOP, {rate:.0f} GFLOP/s")
    if not peak:
        return text + "."
    where = (f" (its peak GEMMs run back to back between the passes, median: {peak:.0f} GFLOP/s)"
             if profile.get("peak_gflops") else "")
    text += (f", {100 * rate / peak:.0f}% of the {profile['dtype']} peak{where}. With no time spent outside "
             f"them, the iteration ({profile['gflop']:.0f} GFLOP) would run at "
             f"{100 * profile['gflop'] / seconds / peak:.0f}% of the peak: the limit of these kernels.")
    if gemm_seconds:
        text += (f" Their GEMMs as plain matrix products of the same shapes (im2col's rows × depth × columns, "
                 f"the better of two operand layouts, best of 5): {1e3 * gemm_seconds:.0f} ms, "
                 f"{100 * gflop / gemm_seconds / peak:.0f}% of the peak: the BLAS's limit at these shapes; "
                 f"lowering the convolutions onto them (patch copies and sums, oneDNN's own kernels) costs the "
                 f"other {1e3 * (seconds - gemm_seconds):.0f} ms.")
    return text


def ideal_convolutions_line(profile: dict[str, Any], peaks: dict[str, float]) -> str:
    """The share of the peak a profiled iteration would reach with its convolutions as fast as
    their GEMMs alone (where the profile timed them) or at the peak, and everything else
    taking the time it took in the profile."""
    peak = profile_peak(profile, peaks)
    if not peak or not profile.get("gflop") or "categories" not in profile:
        return ""
    rest = sum(c["ms"] for c in profile["categories"] if c["category"] != "convolutions") / 1e3

    def share(convolutions: float) -> str:
        return f"{100 * profile['gflop'] / (convolutions + rest) / peak:.0f}%"
    at_peak = profile["convolution_gflop"] / peak
    gemms = passes_total(profile)[2]
    if not gemms:
        return (f"With every convolution at the peak ({1e3 * at_peak:.0f} ms) and the rest as profiled "
                f"({1e3 * rest:.0f} ms), it would run at {share(at_peak)} of the peak.")
    return (f"With every convolution as fast as its GEMMs alone ({1e3 * gemms:.0f} ms) and the rest as profiled "
            f"({1e3 * rest:.0f} ms), it would run at {share(gemms)} of the peak; with every convolution at the "
            f"peak ({1e3 * at_peak:.0f} ms), at {share(at_peak)}.")


SLOWER = 1.15  # a profiled iteration this much slower than the timed median ran under more load


def slower_profile_line(profile: dict[str, Any], row: dict[str, Any]) -> str:
    """A warning when the profile (and the passes timed after it) ran on a slower machine than
    the timed iterations: then the lines drawn from them understate the kernels."""
    if "categories" not in profile or "median" not in row:
        return ""
    profiled = sum(c["ms"] for c in profile["categories"]) / 1e3
    if profiled <= SLOWER * row["median"]:
        return ""
    return (f"The profiled iteration took {1e3 * profiled:.0f} ms against the timed median "
            f"{1e3 * row['median']:.0f} ms: the machine ran slower while the profile and the passes were "
            f"taken, and the two lines above understate these kernels by about {profiled / row['median']:.2f}x.")


def passes_table(profile: dict[str, Any], peaks: dict[str, float]) -> list[str]:
    """Per convolution of a profiled iteration: each pass's time alone and its share of the
    peak (:func:`profile_peak`; the rounds' ``peaks`` beside it)."""
    if not profile.get("passes"):
        return []
    peak = profile_peak(profile, peaks)

    def cell(row: dict[str, Any], name: str) -> str:
        if name not in row:
            return "–"
        p = row[name]
        share = f" ({100 * p['gflop'] / p['seconds'] / peak:.0f}%)" if peak else ""
        return f"{1e3 * p['seconds']:.2f} ms{share}"

    def gemms(row: dict[str, Any]) -> str:
        timed = [row[n] for n in PASSES if n in row and "gemm_seconds" in row[n]]
        if not timed:
            return "–"
        seconds, gflop = sum(p["gemm_seconds"] for p in timed), sum(p["gflop"] for p in timed)
        return f"{1e3 * seconds:.2f} ms" + (f" ({100 * gflop / seconds / peak:.0f}%)" if peak else "")

    measured = (f" The fractions of the peak in this profile are of that one; the rounds measured "
                f"{peaks[profile['dtype']]:.0f} GFLOP/s."
                if profile.get("peak_gflops") and profile["dtype"] in peaks else "")
    over = [p["gflop"] / p["seconds"] / peak for r in profile["passes"] for n, p in r.items()
            if n in PASSES and peak and p["gflop"] / p["seconds"] > peak]
    if over:
        measured += (f" {len(over)} pass(es) ran above 100% of it (up to {100 * max(over):.0f}%): the GEMMs "
                     f"under-measured the machine's peak, so the fractions here overstate the efficiency.")
    lines = [passes_line(profile, peaks) + measured, "",
             "| convolution | input | calls | forward | backward | gradients | both as plain GEMMs |",
             "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['layer']} | {r['input']} | {r['calls']} | {cell(r, 'forward')} | {cell(r, 'backward')} | "
              f"{r['gradients'] or '–'} | {gemms(r)} |" for r in profile["passes"]]
    return lines + [""]


def holds_back(device: str, summary: dict[str, Any], results: dict[str, Any],
               conv3d: dict[str, Any] | None, fast: dict[str, Any]) -> str:
    """Why the target is not met, from this run's numbers."""
    peaks = summary["peaks_gflops"]
    text = []
    if device == "cpu" and not results["machine"]["native_bf16_cpu"]:
        bf16, fp32 = peaks.get("bf16"), peaks.get("fp32")
        peak_text = f": bf16 GEMMs peak at {bf16:.1f} GFLOP/s against {fp32:.1f} in fp32" if bf16 and fp32 else ""
        probe = _bf16_probe_ratio(summary)
        probe_text = f", and the bf16 Conv3d forward probe took {probe:.0f}x the fp32 time" if probe else ""
        text.append(f"What holds it back: oneDNN has no native bf16 kernels on this CPU "
                    f"({bf16_flags_text(results['machine'])}){peak_text}{probe_text}. So the fast mode "
                    f"ran in {fast['levers']['precision']}.")
    if conv3d and "median" in fast:
        share = 3 * conv3d["median"] / fast["median"]
        eff = f" at {100 * conv3d['peak_fraction']:.0f}% of the {conv3d['dtype']} peak" \
            if "peak_fraction" in conv3d else ""
        others = [r for r in summary["rows"] if r["group"] == "layer" and r["name"] == conv3d["name"]
                  and r["direction"] == "fwd+bwd" and "speedup" in r and r["runs"] > 1 and not r["baseline"]]
        best = max(others, key=lambda r: r["speedup"], default=None)
        if best is None:
            best_text = ""
        elif best["config"] == conv3d["config"]:
            best_text = f", the fastest of its layout/precision/compiler configs: {best['speedup']:.2f}x " \
                "over fp32 · contiguous · eager"
        else:
            best_text = f"; its fastest layout/precision/compiler config ({best['config']}) gives " \
                f"{best['speedup']:.2f}x over fp32 · contiguous · eager"
        text.append(f"The video discriminator's Conv3d stack takes about {min(share, 1) * 100:.0f}% of the "
                    f"fast iteration (an iteration runs it forward+backward three times: real and fake clips "
                    f"in the video-D step, fakes in the G step), and it runs{eff}{best_text}.")
    if "bound_speedup" in fast:
        bound = fast["bound_speedup"]
        text.append(f"At the measured peaks the FLOPs bound the gain at {bound:.2f}x (the reference's "
                    f"GFLOP at the fp32 peak against the fast mode's at the {fast['dtype']} peak)")
        measured = fast.get("speedup", 0)
        if measured > 1.05 * bound:
            text[-1] += ("; the measured speed-up goes beyond that, so it does not come from FLOPs alone "
                         "(the reference also runs more small operators: the motion GRU over 2·T latent "
                         "videos per frame, unfused Adam).")
        elif measured < bound / 1.05:
            text[-1] += f"; the measured {measured:.2f}x falls short of it."
        else:
            text[-1] += ", and the measured speed-up is about that."
    profile = fast_profile(results, device)
    if "categories" in profile:
        text.append(f"In the fast iteration's profile: {convolution_line(profile, peaks)}")
    if device == "cpu":
        if not results["machine"]["native_bf16_cpu"]:
            text.append("Levers this run could not use: native bf16 (a CPU with avx512_bf16 or amx_bf16) "
                        "and a GPU.")
    else:
        lv = fast["levers"]
        rows = [r for r in summary["rows"] if r["group"] == "layer" and r["direction"] == "fwd+bwd"
                and "peak_fraction" in r and r["levers"].get("precision") == lv["precision"]
                and r["levers"].get("channels_last") == lv["channels_last"]
                and r["levers"].get("compile") == lv["compile"]]
        worst = min(rows, key=lambda r: r["peak_fraction"], default=None)
        if worst:
            text.append(f"The conv stack furthest from its peak in the fast mode's config is {worst['name']} "
                        f"({100 * worst['peak_fraction']:.0f}% of the {worst['dtype']} peak); the fast "
                        "iteration's profile shows where the rest of the time goes.")
    return " ".join(text)


BF16_FLAGS = ("avx512_bf16", "amx_bf16")  # the CPU flags of native bf16 matmuls and convolutions


def bf16_flags_text(machine: dict[str, Any]) -> str:
    """What the recorded CPU flags say about bf16, e.g. "its recorded flags, avx avx2 fma, include
    neither avx512_bf16 nor amx_bf16"."""
    flags = machine.get("cpu_flags") or []
    if not flags:
        return "its CPU flags were not recorded"
    present = [f for f in BF16_FLAGS if f in flags]
    if present:
        return f"although its flags include {' and '.join(present)}"
    return f"its recorded flags, {' '.join(flags)}, include neither {' nor '.join(BF16_FLAGS)}"


def _bf16_probe_ratio(summary: dict[str, Any]) -> float | None:
    for row in summary["rows"]:
        if row["group"] == "layer" and "video D" in row["name"] and row["note"].startswith("single run") \
                and "median" in row:
            fp32 = find(summary, "layer", row["name"], "fp32 · contiguous · eager", "fwd")
            if fp32:
                return row["median"] / fp32["median"]
    return None


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
