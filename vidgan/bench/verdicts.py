"""The targets, limits and shortfalls the report states, judged from a run's results as data.

A run's results (``report.json``: the machine, the rows of
:func:`vidgan.bench.summary.summarise`, the profiles) go in; numbers and verdicts come out
as small frozen dataclasses: the fast iteration's share of its peak against its target,
the limit its convolution kernels set, what holds the speed-up back, rows above the
measured peak. :mod:`vidgan.bench.sentences` puts them into words. No torch here.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

HEADLINE = "mocogan-categorical"  # the recipe of the targets: the original's default setting
PASSES = ("forward", "backward")  # a convolution's passes, timed alone
PRECOMPUTED = ", data precomputed"  # the config suffix of an iteration timed without its data
TARGET_SPEEDUP, AIM_SPEEDUP, TARGET_PEAK = 3.0, 4.0, 0.5
# the fast iteration's share of the peak of the dtype it runs in: bf16 where the CPU has it natively
ITERATION_PEAK_TARGET = {"bf16": 0.75, "fp32": 0.85, "fp16": 0.75}
ITERATION_PEAK_AIM = 0.85
SLOWER = 1.15  # a profiled iteration this much slower than the timed median ran under more load
BF16_FLAGS = ("avx512_bf16", "amx_bf16")  # the CPU flags of native bf16 matmuls and convolutions
LAYER_LEVERS = ("precision", "channels_last", "compile", "cudnn_benchmark",  # a conv stack's config
                "conv3d_gemm", "conv2d_gemm", "conv_transpose_gemm")

Row = dict[str, Any]


# rows and profiles ----------------------------------------------------------------------
def find(summary: dict[str, Any], group: str, name: str, config: str, direction: str | None = None) -> Row | None:
    """The timed row of a device's ``summary`` with this group, name and config (and direction)."""
    for row in summary["rows"]:
        if (row["group"], row["name"], row["config"]) == (group, name, config) and "median" in row \
                and direction in (None, row["direction"]):
            return row
    return None


def headline_pair(summary: dict[str, Any]) -> tuple[Row | None, Row | None]:
    """The headline recipe's reference and fast iterations (None where not timed)."""
    return find(summary, "iteration", HEADLINE, "reference"), find(summary, "iteration", HEADLINE, "fast")


def conv3d_row(summary: dict[str, Any]) -> Row | None:
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


def fast_profile(results: dict[str, Any], device: str) -> dict[str, Any]:
    """The profile of the headline recipe's fast iteration on ``device`` ({} when none)."""
    return next((p for p in results["profiles"] if p["device"] == device and p["recipe"] == HEADLINE
                 and p["config"] == "fast"), {})


def profile_peak(profile: dict[str, Any], peaks: dict[str, float]) -> float | None:
    """The peak a profile's lines compare with: its dtype's peak GEMMs run between its passes
    (the median of their sustained rates: the machine's speed in that phase) where the run
    has them, else the rounds' peak (``peaks``) of its dtype."""
    return profile.get("peak_gflops") or peaks.get(profile.get("dtype", ""))


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


# shares of the peak -----------------------------------------------------------------------
@dataclass(frozen=True)
class PeakShare:
    """A row's share of the peak of its dtype against a target: of the peak timed beside its
    runs where it has one (``of_best`` is then its share of the best peak of all rounds),
    else of the rounds' best peak."""

    dtype: str
    fraction: float
    target: float
    of_best: float | None = None

    @property
    def met(self) -> bool:
        return self.fraction >= self.target


def iteration_peak(fast: Row) -> PeakShare | None:
    """The fast iteration's share of its dtype's peak against :data:`ITERATION_PEAK_TARGET`
    (None without a measured peak for its dtype)."""
    if "peak_fraction" not in fast:
        return None
    target = ITERATION_PEAK_TARGET.get(fast["dtype"], ITERATION_PEAK_AIM)
    if "peak_fraction_beside" in fast:
        return PeakShare(fast["dtype"], fast["peak_fraction_beside"], target, fast["peak_fraction"])
    return PeakShare(fast["dtype"], fast["peak_fraction"], target)


def conv3d_peak(row: Row, fast: Row) -> PeakShare:
    """The Conv3d stack's share of its dtype's peak against :data:`TARGET_PEAK`: of the median
    peak timed beside the fast iteration's runs when it runs in their dtype."""
    if fast.get("peaks_beside") and row["dtype"] == fast["dtype"]:  # timed in the same rounds
        return PeakShare(row["dtype"], row["gflops_per_s"] / statistics.median(fast["peaks_beside"]), TARGET_PEAK,
                         row["peak_fraction"])
    return PeakShare(row["dtype"], row["peak_fraction"], TARGET_PEAK)


@dataclass(frozen=True)
class AbovePeak:
    """Rows of one device and dtype above 100% of its measured peak: the peak was under-measured."""

    device: str
    dtype: str
    rows: int
    highest: float  # the largest fraction of the peak
    peak: float  # GFLOP/s
    source: str  # the GEMM that gave the peak


def above_peak(results: dict[str, Any]) -> list[AbovePeak]:
    """Every device and dtype whose rows exceed 100% of the measured peak."""
    out = []
    for device, summary in results["devices"].items():
        over: dict[str, list[float]] = {}
        for row in summary["rows"]:
            if row.get("peak_fraction", 0) > 1:
                over.setdefault(row["dtype"], []).append(row["peak_fraction"])
        for dtype, fractions in over.items():
            out.append(AbovePeak(device, dtype, len(fractions), max(fractions), summary["peaks_gflops"][dtype],
                                 summary.get("peak_sizes", {}).get(dtype, "its GEMMs")))
    return out


@dataclass(frozen=True)
class Libraries:
    """One device and dtype's best matmul (the BLAS) against its best 1×1 convolution (the
    convolution library), the faster first."""

    device: str
    dtype: str
    faster: str  # matmuls | 1×1 convolutions
    faster_gflops: float
    slower: str
    slower_gflops: float


def libraries(results: dict[str, Any]) -> list[Libraries]:
    """Per device and dtype timed both ways, the two libraries' best GEMM speeds."""
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
                out.append(Libraries(device, dtype, fast, a, slow, b))
    return out


# what the profile says about the convolutions --------------------------------------------
@dataclass(frozen=True)
class ConvolutionRate:
    """A profiled iteration's convolutions: their FLOPs over their self time, beside the time
    of every other category."""

    gflop: float
    ms: float
    rest_ms: float
    dtype: str
    peak: float | None

    @property
    def gflops(self) -> float:
        return self.gflop / self.ms * 1e3

    @property
    def share(self) -> float | None:
        return self.gflops / self.peak if self.peak else None


def convolution_rate(profile: dict[str, Any], peaks: dict[str, float]) -> ConvolutionRate | None:
    """How fast the convolutions of a profiled iteration run (None without time or FLOPs)."""
    conv = next(c for c in profile["categories"] if c["category"] == "convolutions")
    if not conv["ms"] or not profile.get("convolution_gflop"):
        return None
    rest = sum(c["ms"] for c in profile["categories"]) - conv["ms"]
    return ConvolutionRate(profile["convolution_gflop"], conv["ms"], rest, profile["dtype"],
                           profile_peak(profile, peaks))


@dataclass(frozen=True)
class KernelLimit:
    """The limit the convolution kernels set: a profiled iteration's convolution passes, each
    timed alone, and their GEMMs as plain matrix products."""

    seconds: float
    gflop: float
    gemm_seconds: float  # 0 in a report from before the GEMMs were timed
    iteration_gflop: float
    dtype: str
    peak: float | None
    peak_between: bool  # the peak is of GEMMs run between the passes, not the rounds'

    @property
    def gflops(self) -> float:
        return self.gflop / self.seconds

    @property
    def share(self) -> float | None:  # the passes' share of the peak
        return self.gflops / self.peak if self.peak else None

    @property
    def iteration_share(self) -> float | None:  # the iteration's, were no time spent outside the passes
        return self.iteration_gflop / self.seconds / self.peak if self.peak else None

    @property
    def gemm_share(self) -> float | None:  # the GEMMs' alone: the BLAS's limit at these shapes
        return self.gflop / self.gemm_seconds / self.peak if self.peak and self.gemm_seconds else None


def kernel_limit(profile: dict[str, Any], peaks: dict[str, float]) -> KernelLimit | None:
    """The limit the kernels of a profiled iteration set (None when it has no passes)."""
    seconds, gflop, gemm_seconds = passes_total(profile)
    if not seconds:
        return None
    return KernelLimit(seconds, gflop, gemm_seconds, profile.get("gflop", 0.0), profile["dtype"],
                       profile_peak(profile, peaks), bool(profile.get("peak_gflops")))


def passes_above_peak(profile: dict[str, Any], peak: float | None) -> list[float]:
    """The fractions of ``peak`` of the profile's passes that ran above it."""
    return [p["gflop"] / p["seconds"] / peak for r in profile.get("passes", []) for n, p in r.items()
            if n in PASSES and peak and p["gflop"] / p["seconds"] > peak]


@dataclass(frozen=True)
class IdealConvolutions:
    """The share of the peak a profiled iteration would reach with its convolutions as fast as
    their GEMMs alone (where timed) or at the peak, and everything else as profiled."""

    rest: float  # seconds of the other categories
    at_peak: float  # seconds of the convolutions at the peak
    share_at_peak: float
    gemms: float  # seconds of their GEMMs as plain matrix products (0 where not timed)
    share_at_gemms: float | None


def ideal_convolutions(profile: dict[str, Any], peaks: dict[str, float]) -> IdealConvolutions | None:
    """See :class:`IdealConvolutions` (None without a peak, FLOPs or categories)."""
    peak = profile_peak(profile, peaks)
    if not peak or not profile.get("gflop") or "categories" not in profile:
        return None
    rest = sum(c["ms"] for c in profile["categories"] if c["category"] != "convolutions") / 1e3

    def share(convolutions: float) -> float:
        return profile["gflop"] / (convolutions + rest) / peak
    at_peak = profile["convolution_gflop"] / peak
    gemms = passes_total(profile)[2]
    return IdealConvolutions(rest, at_peak, share(at_peak), gemms, share(gemms) if gemms else None)


def slower_profile(profile: dict[str, Any], row: Row) -> float | None:
    """The profiled iteration's seconds when it took more than :data:`SLOWER` times the timed
    median ``row``: the profile and the passes then ran on a slower machine and understate
    the kernels. None otherwise."""
    if "categories" not in profile or "median" not in row:
        return None
    profiled = sum(c["ms"] for c in profile["categories"]) / 1e3
    return profiled if profiled > SLOWER * row["median"] else None


# what holds the speed-up back -------------------------------------------------------------
def bf16_flags(machine: dict[str, Any]) -> list[str] | None:
    """The native bf16 flags among the CPU flags a run recorded (None when none were recorded)."""
    flags = machine.get("cpu_flags") or []
    return [f for f in BF16_FLAGS if f in flags] if flags else None


def bf16_probe_ratio(summary: dict[str, Any]) -> float | None:
    """The bf16 Conv3d forward probe's time over the fp32 forward's (a CPU without native bf16)."""
    for row in summary["rows"]:
        if row["group"] == "layer" and "video D" in row["name"] and row["note"].startswith("single run") \
                and "median" in row:
            fp32 = find(summary, "layer", row["name"], "fp32 · contiguous · eager", "fwd")
            if fp32:
                return row["median"] / fp32["median"]
    return None


@dataclass(frozen=True)
class Shortfall:
    """Why the fast iteration misses the speed-up target, from one device's numbers."""

    no_native_bf16: bool  # a CPU without native bf16 kernels: the fast mode runs in fp32
    bf16_probe: float | None  # the bf16 Conv3d probe's time over fp32's
    conv3d_share: float | None  # the video critic's Conv3d stack's share of the fast iteration
    conv3d_fastest: Row | None  # that stack's fastest fwd+bwd config (timed more than once)
    bound: float | None  # the roofline bound of the fast mode's speed-up
    speedup: float  # the measured one
    worst_stack: Row | None  # on CUDA, the conv stack furthest from its peak in the fast config

    @property
    def against_bound(self) -> str | None:
        """``beyond`` the bound, ``short`` of it or ``about`` it (within 5%)."""
        if self.bound is None:
            return None
        if self.speedup > 1.05 * self.bound:
            return "beyond"
        return "short" if self.speedup < self.bound / 1.05 else "about"


def shortfall(device: str, summary: dict[str, Any], machine: dict[str, Any], conv3d: Row | None,
              fast: Row) -> Shortfall:
    """What holds the fast iteration ``fast`` back on ``device``; ``conv3d`` is :func:`conv3d_row`'s."""
    no_bf16 = device == "cpu" and not machine["native_bf16_cpu"]
    share = fastest = None
    if conv3d and "median" in fast:
        share = min(3 * conv3d["median"] / fast["median"], 1)  # fwd+bwd on real and fake clips, and in the G step
        others = [r for r in summary["rows"] if r["group"] == "layer" and r["name"] == conv3d["name"]
                  and r["direction"] == "fwd+bwd" and "speedup" in r and r["runs"] > 1 and not r["baseline"]]
        fastest = max(others, key=lambda r: r["speedup"], default=None)
    worst = None
    if device != "cpu":
        lv = fast["levers"]
        rows = [r for r in summary["rows"] if r["group"] == "layer" and r["direction"] == "fwd+bwd"
                and "peak_fraction" in r and r["levers"].get("precision") == lv["precision"]
                and r["levers"].get("channels_last") == lv["channels_last"]
                and r["levers"].get("compile") == lv["compile"]]
        worst = min(rows, key=lambda r: r["peak_fraction"], default=None)
    return Shortfall(no_bf16, bf16_probe_ratio(summary) if no_bf16 else None, share, fastest,
                     fast.get("bound_speedup"), fast.get("speedup", 0.0), worst)
