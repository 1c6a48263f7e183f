"""The report's sentences: each puts a verdict of :mod:`vidgan.bench.verdicts` into words.

The targets and whether they are met, the limits the kernels set, what holds the speed-up
back, the peaks' notes. Every number in them comes from the recorded results; the
document around them is :mod:`vidgan.bench.tables`'.
"""

from __future__ import annotations

from typing import Any

from vidgan.bench import verdicts
from vidgan.bench.verdicts import (AIM_SPEEDUP, BF16_FLAGS, HEADLINE, ITERATION_PEAK_AIM, TARGET_PEAK, TARGET_SPEEDUP,
                                   PeakShare, Row)


def speedup_range(row: Row) -> str:
    """The spread of a paired speed-up over the rounds, e.g. " (1.21x–1.63x over 3 rounds)"."""
    if "speedup_range" not in row or row["runs"] < 2:
        return ""
    low, high = row["speedup_range"]
    return f" ({low:.2f}x–{high:.2f}x over {row['runs']} rounds)"


def peak_share(share: PeakShare | None) -> str:
    """``47% of the bf16 peak (target 75%: NOT met)``, with the share of the best peak of all
    rounds where the share is of the peak timed beside the runs."""
    if share is None:
        return "share of peak unknown (no measured peak for its dtype)"
    where = (f" timed beside it ({100 * share.of_best:.0f}% of the best of all rounds)"
             if share.of_best is not None else "")
    return (f"{100 * share.fraction:.0f}% of the {share.dtype} peak{where} (target {100 * share.target:.0f}%: "
            f"{'met' if share.met else 'NOT met'})")


def speedup_line(summary: dict[str, Any], device: str) -> str:
    """The one line quick mode exists for: the headline recipe's fast vs reference iteration."""
    ref, fast = verdicts.headline_pair(summary)
    if not ref or not fast:
        return f"{HEADLINE} on {device}: no full-iteration numbers"
    ratio = fast["speedup"]
    verdict = "met" if ratio >= TARGET_SPEEDUP else "NOT met"
    return (f"{HEADLINE} full iteration on {device}: reference {ref['median']:.3f} s, "
            f"fast {fast['median']:.3f} s -> {ratio:.2f}x faster{speedup_range(fast)} "
            f"(target {TARGET_SPEEDUP:g}x: {verdict}); fast at {peak_share(verdicts.iteration_peak(fast))}")


def above_peak(results: dict[str, Any]) -> list[str]:
    """A note for every device and dtype whose rows exceed 100% of the measured peak: that
    peak was under-measured, so the fractions against it overstate the efficiency."""
    out = []
    for a in verdicts.above_peak(results):
        out += [f"**Above the peak on {a.device}:** {a.rows} row(s) run at more than 100% of the "
                f"{a.dtype} peak (up to {100 * a.highest:.0f}%): this run under-measured the {a.dtype} "
                f"peak ({a.peak:.1f} GFLOP/s, from {a.source}), so every fraction of "
                f"the {a.dtype} peak here overstates the efficiency.", ""]
    return out


def libraries(results: dict[str, Any]) -> list[str]:
    """Per device and dtype, the best matmul against the best 1×1 convolution."""
    out = [f"- {g.device} {g.dtype}: {g.faster} {g.faster_gflops:.1f} GFLOP/s, {g.slower} {g.slower_gflops:.1f} "
           f"({g.faster_gflops / g.slower_gflops:.2f}x)." for g in verdicts.libraries(results)]
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


def convolution_line(profile: dict[str, Any], peaks: dict[str, float]) -> str:
    """How fast the convolutions of a profiled iteration run: their FLOPs over their time."""
    rate = verdicts.convolution_rate(profile, peaks)
    if rate is None:
        return "Convolutions: no time or FLOPs recorded."
    share = f", {100 * rate.share:.0f}% of the {rate.dtype} peak" if rate.peak else ""
    return (f"Convolutions: {rate.gflop:.0f} GFLOP in {rate.ms:.0f} ms of self time, "
            f"{rate.gflops:.0f} GFLOP/s{share}; the other categories take {rate.rest_ms:.0f} ms.")


def passes_line(profile: dict[str, Any], peaks: dict[str, float]) -> str:
    """The limit the convolution kernels themselves set: the iteration's FLOPs over the time
    of its convolution passes timed alone."""
    limit = verdicts.kernel_limit(profile, peaks)
    if limit is None:
        return ""
    text = (f"Each convolution of this iteration timed alone, forward and backward (best of 5; its shapes, "
            f"dtype, layout and gradients): "
            f"{1e3 * limit.seconds:.0f} ms for {limit.gflop:.0f} GFLOP, {limit.gflops:.0f} GFLOP/s")
    if not limit.peak:
        return text + "."
    where = (f" (its peak GEMMs run back to back between the passes, median: {limit.peak:.0f} GFLOP/s)"
             if limit.peak_between else "")
    text += (f", {100 * limit.share:.0f}% of the {limit.dtype} peak{where}. With no time spent outside "
             f"them, the iteration ({limit.iteration_gflop:.0f} GFLOP) would run at "
             f"{100 * limit.iteration_share:.0f}% of the peak: the limit of these kernels.")
    if limit.gemm_seconds:
        text += (f" Their GEMMs as plain matrix products of the same shapes (im2col's rows × depth × columns, "
                 f"the better of two operand layouts, best of 5): {1e3 * limit.gemm_seconds:.0f} ms, "
                 f"{100 * limit.gemm_share:.0f}% of the peak: the BLAS's limit at these shapes; "
                 f"lowering the convolutions onto them (patch copies and sums, oneDNN's own kernels) costs the "
                 f"other {1e3 * (limit.seconds - limit.gemm_seconds):.0f} ms.")
    return text


def ideal_convolutions_line(profile: dict[str, Any], peaks: dict[str, float]) -> str:
    """The share of the peak a profiled iteration would reach with faster convolutions."""
    ideal = verdicts.ideal_convolutions(profile, peaks)
    if ideal is None:
        return ""
    if ideal.share_at_gemms is None:
        return (f"With every convolution at the peak ({1e3 * ideal.at_peak:.0f} ms) and the rest as profiled "
                f"({1e3 * ideal.rest:.0f} ms), it would run at {100 * ideal.share_at_peak:.0f}% of the peak.")
    return (f"With every convolution as fast as its GEMMs alone ({1e3 * ideal.gemms:.0f} ms) and the rest as "
            f"profiled ({1e3 * ideal.rest:.0f} ms), it would run at {100 * ideal.share_at_gemms:.0f}% of the peak; "
            f"with every convolution at the peak ({1e3 * ideal.at_peak:.0f} ms), at {100 * ideal.share_at_peak:.0f}%.")


def slower_profile_line(profile: dict[str, Any], row: Row) -> str:
    """A warning when the profile (and the passes timed after it) ran on a slower machine than
    the timed iterations: then the lines drawn from them understate the kernels."""
    profiled = verdicts.slower_profile(profile, row)
    if profiled is None:
        return ""
    return (f"The profiled iteration took {1e3 * profiled:.0f} ms against the timed median "
            f"{1e3 * row['median']:.0f} ms: the machine ran slower while the profile and the passes were "
            f"taken, and the two lines above understate these kernels by about {profiled / row['median']:.2f}x.")


def targets(device: str, summary: dict[str, Any], results: dict[str, Any]) -> list[str]:
    """The targets on ``device`` and whether this run meets them; what holds it back if not."""
    ref, fast = verdicts.headline_pair(summary)
    if not ref or not fast:
        return []
    peaks = summary["peaks_gflops"]
    ratio = fast["speedup"]
    out = [f"### Targets on {device}", "",
           f"- Full iteration, fast vs reference: **{ratio:.2f}x** (target {TARGET_SPEEDUP:g}x, aim "
           f"{AIM_SPEEDUP:g}x): {'met' if ratio >= TARGET_SPEEDUP else 'not met'}.",
           f"- Full fast iteration at the machine's limit: {peak_share(verdicts.iteration_peak(fast))}; aim "
           f"{100 * ITERATION_PEAK_AIM:.0f}%."]
    profile = verdicts.fast_profile(results, device)
    for bound in (passes_line(profile, peaks), ideal_convolutions_line(profile, peaks),
                  slower_profile_line(profile, fast)):
        if bound:
            out[-1] += " " + bound
    row = verdicts.conv3d_row(summary)
    if row and "peak_fraction" in row:
        share = verdicts.conv3d_peak(row, fast)
        where = (f" timed beside the fast iteration's runs ({100 * share.of_best:.0f}% of the best of all rounds)"
                 if share.of_best is not None else "")
        text = (f"- Video discriminator Conv3d stack (`{row['name']}`), forward+backward in the fast "
                f"mode's config ({row['config']}): {row['gflops_per_s']:.1f} GFLOP/s = "
                f"**{100 * share.fraction:.0f}% of the {row['dtype']} peak**{where}")
        if row["dtype"] == "bf16":
            text += f" (target {100 * TARGET_PEAK:.0f}%): {'met' if share.met else 'not met'}."
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


def holds_back(device: str, summary: dict[str, Any], results: dict[str, Any], conv3d: Row | None,
               fast: Row) -> str:
    """Why the target is not met (:func:`vidgan.bench.verdicts.shortfall`), in words."""
    peaks = summary["peaks_gflops"]
    why = verdicts.shortfall(device, summary, results["machine"], conv3d, fast)
    text = []
    if why.no_native_bf16:
        bf16, fp32 = peaks.get("bf16"), peaks.get("fp32")
        peak_text = f": bf16 GEMMs peak at {bf16:.1f} GFLOP/s against {fp32:.1f} in fp32" if bf16 and fp32 else ""
        probe = why.bf16_probe
        probe_text = f", and the bf16 Conv3d forward probe took {probe:.0f}x the fp32 time" if probe else ""
        text.append(f"What holds it back: oneDNN has no native bf16 kernels on this CPU "
                    f"({bf16_flags_text(results['machine'])}){peak_text}{probe_text}. So the fast mode "
                    f"ran in {fast['levers']['precision']}.")
    if why.conv3d_share is not None:
        eff = f" at {100 * conv3d['peak_fraction']:.0f}% of the {conv3d['dtype']} peak" \
            if "peak_fraction" in conv3d else ""
        best = why.conv3d_fastest
        if best is None:
            best_text = ""
        elif best["config"] == conv3d["config"]:
            best_text = f", the fastest of its layout/precision/compiler configs: {best['speedup']:.2f}x " \
                "over fp32 · contiguous · eager"
        else:
            best_text = f"; its fastest layout/precision/compiler config ({best['config']}) gives " \
                f"{best['speedup']:.2f}x over fp32 · contiguous · eager"
        text.append(f"The video discriminator's Conv3d stack takes about {100 * why.conv3d_share:.0f}% of the "
                    f"fast iteration (an iteration runs it forward+backward three times: real and fake clips "
                    f"in the video-D step, fakes in the G step), and it runs{eff}{best_text}.")
    if why.bound is not None:
        text.append(f"At the measured peaks the FLOPs bound the gain at {why.bound:.2f}x (the reference's "
                    f"GFLOP at the fp32 peak against the fast mode's at the {fast['dtype']} peak)")
        text[-1] += {"beyond": "; the measured speed-up goes beyond that, so it does not come from FLOPs alone "
                               "(the reference also runs more small operators: the motion GRU over 2·T latent "
                               "videos per frame, unfused Adam).",
                     "short": f"; the measured {why.speedup:.2f}x falls short of it.",
                     "about": ", and the measured speed-up is about that."}[why.against_bound]
    profile = verdicts.fast_profile(results, device)
    if "categories" in profile:
        text.append(f"In the fast iteration's profile: {convolution_line(profile, peaks)}")
    if why.no_native_bf16:
        text.append("Levers this run could not use: native bf16 (a CPU with avx512_bf16 or amx_bf16) "
                    "and a GPU.")
    worst = why.worst_stack
    if worst:
        text.append(f"The conv stack furthest from its peak in the fast mode's config is {worst['name']} "
                    f"({100 * worst['peak_fraction']:.0f}% of the {worst['dtype']} peak); the fast "
                    "iteration's profile shows where the rest of the time goes.")
    return " ".join(text)


def bf16_flags_text(machine: dict[str, Any]) -> str:
    """What the recorded CPU flags say about bf16, e.g. "its recorded flags, avx avx2 fma, include
    neither avx512_bf16 nor amx_bf16"."""
    present = verdicts.bf16_flags(machine)
    if present is None:
        return "its CPU flags were not recorded"
    if present:
        return f"although its flags include {' and '.join(present)}"
    return f"its recorded flags, {' '.join(machine['cpu_flags'])}, include neither {' nor '.join(BF16_FLAGS)}"
