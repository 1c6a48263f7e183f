"""The benchmark runner: what is timed, how, and in which order.

Every speed-up is a ratio measured side by side in one run: the cases of a table are
timed in interleaved rounds (reference, lever, lever, ..., reference, lever, ...), so
load from other processes hits them alike. Each case is warmed up first (the warm-up of
an eager case also counts its FLOPs with ``torch.utils.flop_counter.FlopCounterMode``);
its times come from ``torch.utils.benchmark.Timer`` and are summarised by median and
interquartile range.

Cases:

- ``peak``: GEMMs per dtype at three sizes (up to the largest that the time budget allows),
  as square matmuls and as 1×1 convolutions; the peak of a dtype is the best GFLOP/s over
  them and their runs, the machine's measured peak that achieved GFLOP/s are compared with;
  they are also run right before each timed iteration of their dtype (each back to back
  for 0.1 s): the sustained peak beside that run, which follows a machine whose speed drifts;
- ``layer``: each conv stack of the MoCoGAN models alone, forward (no autograd) and
  forward+backward (weight gradients, as in a D step), at the recipes' batch sizes;
- ``iteration``: one ``Trainer.train_step`` (image-D step, video-D step, G step) per
  recipe, in ``train.mode=reference`` and with the levers, each timed twice: with its
  real batches as in training (drawn in the step, or from the prefetch thread, which
  refills its queue before the next case runs), recording the time it waited for them,
  and as ``<config>, data precomputed``, the batches drawn once before timing (the
  iteration without its data).

All cases of a device, peaks included, are timed in the same interleaved rounds. glibc's
malloc policy is process-wide, so it is set before every warm-up and timed call: an
iteration's as its ``keep_memory`` lever says, freed memory kept for peaks and layers.

Shape:
    layer inputs: latents ``b d`` (generator), frames ``b c h w`` (image D), clips
    ``b c t h w`` (video D).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import itertools
import logging
import math
import os
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

import torch
from omegaconf import DictConfig
from torch import nn
from torch.nn import functional as F
from torch.utils.flop_counter import FlopCounterMode

from vidgan import config as C
from vidgan.bench import data_pipeline, report
from vidgan.bench.report import HEADLINE, PASSES, PRECOMPUTED
from vidgan.errors import VidganError
from vidgan.gemm_conv import gemm_passes, space_to_depth_passes, takes_gemm, takes_space_to_depth
from vidgan.registry import DISCRIMINATORS
from vidgan.training import levers
from vidgan.training.levers import Levers


@contextlib.contextmanager
def _no_warnings_from(logger: str) -> Iterator[None]:
    log = logging.getLogger(logger)
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


# torch.utils.benchmark imports torch.utils.cpp_extension, which warns on import about a
# missing CUDA runtime when torch is built with CUDA and none is present: irrelevant here
with _no_warnings_from("torch.utils.cpp_extension"):
    from torch.utils.benchmark import Measurement, Timer
    from torch.utils.benchmark.utils.common import TaskSpec
    from torch.utils.benchmark.utils.timer import timer as clock  # synchronises CUDA

RECIPES = ("mocogan-categorical", "mocogan", "mocogan-patch")
PROFILED = ("reference", "fast")  # the iterations profiled
PEAK_EVERY = 4  # a profile times its peak GEMMs before every 4th convolution and after the last
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass
class Options:
    """What to run; ``min_time`` is the seconds each layer case is timed per round."""

    quick: bool = False
    out: Path = Path("benchmarks/report")
    device: str = "all"  # all (the CPU, and CUDA when present), cpu or cuda
    threads: int | None = None
    compile: bool = True
    min_time: float = 0.5
    rounds: int = 3
    overrides: tuple[str, ...] = ()
    data: bool = False  # time the data pipeline only (vidgan.bench.data_pipeline)
    data_root: Path | None = None


@dataclass
class Case:
    """One thing to time: ``fn`` runs it once."""

    group: str  # peak | layer | iteration
    device: str
    name: str  # what: a recipe, a conv stack, a GEMM
    config: str  # how: reference, fast, "bf16 · channels_last · eager", ...
    direction: str  # iteration | fwd | fwd+bwd | gemm
    dtype: str  # the peak this case is compared with
    fn: Callable[[], Any]
    flops_key: tuple = ()  # cases with the same key do the same FLOPs; () counts nothing
    baseline: bool = False  # the case the rows of its ``key`` are compared with
    single: bool = False  # too slow to repeat: one run, no spread
    skipped: bool = False  # not run at all; ``note`` says why
    precomputed: bool = False  # an iteration whose real batches were drawn before timing
    warmup: int = 1
    note: str = ""
    levers: dict[str, Any] = field(default_factory=dict)
    data_time: Callable[[], float] | None = None  # seconds the last call waited for its data
    modules: list[nn.Module] = field(default_factory=list)  # an iteration's networks
    settle: Callable[[], None] | None = None  # after a timed call: finish background work
    measurement: Measurement | None = None
    flops: float | None = None
    convolution_flops: float | None = None  # the convolutions' share of ``flops``
    warmup_s: float = 0.0
    data_times: list[float] = field(default_factory=list)
    peaks_beside: list[float] = field(default_factory=list)  # an iteration's: see peak_beside

    @property
    def key(self) -> tuple[str, str, str, str, bool]:
        return self.group, self.device, self.name, self.direction, self.precomputed


# timing ------------------------------------------------------------------------------
def warm_up(case: Case, flops: dict[tuple, tuple[float, float]]) -> None:
    """Run the warm-up calls, counting FLOPs (all, and the convolutions') on the first call
    of an eager case."""
    start = time.perf_counter()
    memory_policy(case)
    for i in range(case.warmup):
        if i == 0 and case.flops_key and case.flops_key not in flops and not case.levers.get("compile"):
            with FlopCounterMode(display=False) as counter:
                case.fn()
            counts = counter.get_flop_counts()["Global"]
            flops[case.flops_key] = (counter.get_total_flops(),
                                     sum(n for op, n in counts.items() if "convolution" in str(op)))
        else:
            case.fn()
    case.warmup_s = time.perf_counter() - start


def memory_policy(case: Case) -> None:
    """Set the process's malloc policy for ``case``: an iteration's ``keep_memory`` lever;
    freed memory kept for the peaks and layers (no page faults in what they measure)."""
    if levers.malloc_tunable():
        levers.keep_memory(case.levers.get("keep_memory", case.group != "iteration"))


def time_once(case: Case) -> Measurement:
    """One timed call (``Timer.timeit`` would add two warm-up calls: too many for slow cases)."""
    memory_policy(case)
    start = clock()
    case.fn()
    elapsed = clock() - start
    return Measurement(1, [elapsed], TaskSpec("fn()", "pass", label=case.name, sub_label=case.config,
                                              description=f"{case.device} {case.direction}",
                                              num_threads=torch.get_num_threads()))


def peak_beside(gemms: list[Case], seconds: float = 0.1) -> float:
    """The machine's sustained peak now, for what is timed next: each of ``gemms`` (one
    dtype's peak cases, warm, their FLOPs counted) run back to back for ``seconds`` (at least
    twice), its FLOPs over that time; the best of them. Sustained as an iteration is: on a
    shared machine single short calls can catch bursts of speed that a long iteration
    averages over."""
    memory_policy(gemms[0])
    rates = []
    for gemm in gemms:
        calls, start = 0, clock()
        while calls < 2 or clock() - start < seconds:
            gemm.fn()
            calls += 1
        rates.append(calls * gemm.flops / (clock() - start) / 1e9)
    return max(rates)


def measure(cases: list[Case], rounds: int, min_time: float, log: Callable[[str], None]) -> None:
    """Warm every case up, then time them in ``rounds`` interleaved rounds; right before each
    timed iteration its dtype's peak GEMMs are timed too (:func:`peak_beside`)."""
    flops: dict[tuple, tuple[float, float]] = {}
    for case in cases:
        log(f"  warm-up {case.device} {case.name} {case.direction} [{case.config}]")
        warm_up(case, flops)
        if case.settle:
            case.settle()
    gemms: dict[str, list[Case]] = {}
    for case in cases:
        case.flops, case.convolution_flops = flops.get(case.flops_key, (None, None))
        if case.group == "peak" and case.flops:
            gemms.setdefault(case.dtype, []).append(case)
    parts: dict[int, list[Measurement]] = {id(c): [] for c in cases}
    for r in range(rounds):
        for case in cases:
            if case.single and r > 0:
                continue
            if case.group == "iteration" or case.single:
                if case.group == "iteration" and case.dtype in gemms:
                    case.peaks_beside.append(peak_beside(gemms[case.dtype]))
                parts[id(case)].append(time_once(case))
                if case.data_time:
                    case.data_times.append(case.data_time())
                if case.settle:
                    case.settle()
            else:
                memory_policy(case)
                t = Timer("fn()", globals={"fn": case.fn}, label=case.name, sub_label=case.config,
                          description=f"{case.device} {case.direction}", num_threads=torch.get_num_threads())
                parts[id(case)].append(t.blocked_autorange(min_run_time=min_time))
    for case in cases:
        case.measurement = Measurement.merge(parts[id(case)])[0]


# peaks -------------------------------------------------------------------------------
def matmul_size(device: torch.device, dtype: torch.dtype, limit: int, budget: float = 0.25) -> int:
    """The largest power-of-two size up to ``limit`` whose matmul takes under ``budget`` s
    (or the first that takes longer): slow dtypes get small matrices."""
    n = 256
    while True:
        a = torch.randn(n, n, device=device, dtype=dtype)
        start = time.perf_counter()
        a @ a
        if device.type == "cuda":
            torch.cuda.synchronize()
        if time.perf_counter() - start > budget or n >= limit:
            return n
        n *= 2


def peak_sizes(n: int) -> tuple[int, ...]:
    """The matmul sizes timed for a peak: ``n/2``, ``3n/4`` and ``n``, none slower than the
    size the time budget chose."""
    return n // 2, 3 * n // 4, n


def pointwise_conv(n: int, device: torch.device, dtype: torch.dtype) -> tuple[Callable[[], Any], str]:
    """A 1×1 convolution that is an ``n``-sized GEMM (``n`` → ``n`` channels over ``n``
    pixels, channels-last) run by the convolution library, and its name."""
    batch, pixels = max(1, n // 256), 256
    x = torch.randn(batch, n, 16, 16, device=device, dtype=dtype).contiguous(memory_format=torch.channels_last)
    w = torch.randn(n, n, 1, 1, device=device, dtype=dtype).contiguous(memory_format=torch.channels_last)
    return (lambda: F.conv2d(x, w)), f"1×1 conv {n}→{n} ch × {batch * pixels} px"


def peak_cases(device: torch.device) -> list[Case]:
    """Per dtype, GEMMs at three sizes through both libraries that run the models' work:
    matmuls (the BLAS library) and 1×1 convolutions (the convolution library). Either can be
    the faster on a CPU (MKL's fp32 matmul runs at half oneDNN's speed on some AMD CPUs), and
    the peak is the best of all."""
    dtypes = ["fp32", "bf16"] + (["fp16"] if device.type == "cuda" else [])
    limit = 8192 if device.type == "cuda" else 2048
    cases = []
    for name in dtypes:
        dtype = DTYPES[name]
        for n in peak_sizes(matmul_size(device, dtype, limit)):
            a = torch.randn(n, n, device=device, dtype=dtype)
            b = torch.randn(n, n, device=device, dtype=dtype)
            cases.append(Case("peak", device.type, f"matmul {n}×{n}", name, "gemm", name,
                              lambda a=a, b=b: a @ b, flops_key=("matmul", name, n)))
            conv, label = pointwise_conv(n, device, dtype)
            cases.append(Case("peak", device.type, label, name, "gemm", name, conv, flops_key=("conv1x1", name, n)))
    return cases


# layer stacks ------------------------------------------------------------------------
@dataclass
class Stack:
    """A conv stack with an input of the recipe's batch size."""

    kind: str  # generator ConvTranspose2d | image D Conv2d | video D Conv3d
    name: str
    module: nn.Module
    input: torch.Tensor
    target: bool  # also timed with torch.compile and reduced precision probes


def stacks(configs: dict[str, DictConfig], device: torch.device) -> list[Stack]:
    """The decoder at the image and the video batch, and every recipe's discriminators."""
    from vidgan.training.trainer import build_generator

    headline = configs[HEADLINE]
    decoder = build_generator(headline).decoder
    data = headline.data
    images = headline.discriminators.image.batch
    frames = headline.discriminators.video.batch * data.video_length
    out = [Stack("generator ConvTranspose2d", f"dcgan-frames ×{n} frames", decoder,
                 torch.randn(n, decoder.dim_z), target=n == frames) for n in (images, frames)]
    seen = set()
    for recipe, cfg in configs.items():
        for critic, section in cfg.discriminators.items():
            if section.name in seen:
                continue
            seen.add(section.name)
            net = DISCRIMINATORS.build(section.name, **C.discriminator_kwargs(cfg, critic))
            size, c, b = cfg.data.image_size, cfg.data.channels, section.batch
            if net.view == "frames":
                kind, x, what = "image D Conv2d", torch.randn(b, c, size, size), f"×{b} frames"
            else:
                t = cfg.data.video_length
                kind, x, what = "video D Conv3d", torch.randn(b, c, t, size, size), f"×{b} clips of {t}"
            out.append(Stack(kind, f"{section.name} {what}", net, x,
                             target=recipe == HEADLINE))
    for s in out:
        s.module.to(device).train()
        s.input = s.input.to(device)
    return out


def _total(out: Any) -> torch.Tensor:
    parts = out if isinstance(out, tuple) else (out,)
    return sum(p.float().sum() for p in parts if isinstance(p, torch.Tensor))


def layer_fn(stack: Stack, lv: Levers, device: torch.device, backward: bool) -> Callable[[], Any]:
    module = copy.deepcopy(stack.module)
    levers.apply(replace(lv, cudnn_benchmark=False), module, [])
    x = levers.to_layout(lv, stack.input)
    cuda = device.type == "cuda"

    def prepare() -> None:
        if cuda:
            torch.backends.cudnn.benchmark = lv.cudnn_benchmark
        if lv.cuda_graphs:
            torch.compiler.cudagraph_mark_step_begin()

    def fwd() -> Any:
        prepare()
        with torch.no_grad(), levers.autocast(lv, device):
            return module(x)

    def fwd_bwd() -> None:
        prepare()
        module.zero_grad(set_to_none=True)
        with levers.autocast(lv, device):
            out = module(x)
        _total(out).backward()

    return fwd_bwd if backward else fwd


def describe(lv: Levers) -> str:
    parts = [lv.precision, "channels_last" if lv.channels_last else "contiguous"]
    if lv.cudnn_benchmark:
        parts.append("cudnn.benchmark")
    parts += [name for name in levers.GEMM_LAYERS if getattr(lv, name)]
    parts.append(("compile+cuda_graphs" if lv.cuda_graphs else "compile") if lv.compile else "eager")
    return " · ".join(parts)


def layer_levers(device: torch.device, compile: bool) -> list[tuple[Levers, bool]]:
    """(levers, target stacks only) pairs timed for every layer; the first is the baseline."""
    grid = [Levers(), Levers(channels_last=True)]
    if device.type == "cuda":
        for precision in ("bf16", "fp16"):
            grid += [Levers(precision=precision), Levers(precision=precision, channels_last=True)]
        amp = "bf16" if levers.native_bf16(device) else "fp16"
        best = Levers(precision=amp, channels_last=True, cudnn_benchmark=True)
        pairs = [(lv, False) for lv in grid] + [(best, False)]
        if compile:
            pairs += [(replace(best, compile=True), True), (replace(best, compile=True, cuda_graphs=True), True)]
        return pairs
    pairs = [(lv, False) for lv in grid]
    if levers.native_bf16(device):
        pairs += [(Levers(precision="bf16"), False), (Levers(precision="bf16", channels_last=True), False),
                  (Levers(precision="bf16", channels_last=True, conv3d_gemm=True, conv2d_gemm=True,
                          conv_transpose_gemm=True), False)]
    if compile:
        pairs.append((Levers(compile=True), True))
    return pairs


def layer_cases(configs: dict[str, DictConfig], device: torch.device, options: Options) -> list[Case]:
    cases = []
    for stack in stacks(configs, device):
        for lv, target_only in layer_levers(device, options.compile):
            if target_only and not stack.target:
                continue
            for backward in (False, True):
                direction = "fwd+bwd" if backward else "fwd"
                cases.append(Case("layer", device.type, f"{stack.kind}: {stack.name}", describe(lv),
                                  direction, lv.precision, layer_fn(stack, lv, device, backward),
                                  flops_key=("layer", stack.name, direction), baseline=lv == Levers(),
                                  warmup=2 if lv.compile else 1, levers=lv.__dict__.copy()))
        if device.type == "cpu" and stack.target and not levers.native_bf16(device):
            lv = Levers(precision="bf16")  # a probe: one forward, bf16 has no native kernels here
            cases.append(Case("layer", device.type, f"{stack.kind}: {stack.name}", describe(lv), "fwd",
                              "bf16", layer_fn(stack, lv, device, False),
                              flops_key=("layer", stack.name, "fwd"), single=True, warmup=0,
                              note="single run: this CPU has no native bf16", levers=lv.__dict__.copy()))
    return cases


# full iterations ---------------------------------------------------------------------
def iteration_configs(recipe: str, device: torch.device, options: Options) -> list[tuple[str, list[str]]]:
    """(label, overrides) of the iterations timed for ``recipe``: the reference and fast first."""
    pairs = [("reference", ["train.mode=reference"]), ("fast", ["train.mode=fast"])]  # adjacent in each round
    if options.quick or recipe != HEADLINE:
        return pairs
    cuda = device.type == "cuda"
    fast = levers.fast_levers(device)
    singles = ["reuse_fakes", "skip_critic_grads", "fused_optim", "channels_last"]
    singles += [name for name in ("keep_memory", "fuse_critic_batches") if getattr(fast, name)]
    if cuda:
        singles += ["cudnn_benchmark"]
    precisions = ["bf16", "fp16"] if cuda else (["bf16"] if levers.native_bf16(device) else [])
    pairs.append(("standard", ["train.mode=standard"]))
    pairs += [(f"standard + {s}", [f"train.{s}=true"]) for s in singles]
    pairs += [(f"standard + {p}", [f"train.precision={p}"]) for p in precisions]
    if levers.native_bf16(device):
        pairs.append(("reference + bf16 + channels_last",
                      ["train.mode=reference", "train.precision=bf16", "train.channels_last=true"]))
    if options.compile:
        pairs.append(("standard + compile", ["train.compile=true"]))
    if not fast.channels_last:
        pairs.append(("fast + channels_last", ["train.mode=fast", "train.channels_last=true"]))
    pairs += [(f"fast without {name}", ["train.mode=fast", f"train.{name}=false"])
              for name in levers.GEMM_LAYERS if getattr(fast, name)]
    if options.compile:
        pairs.append(("fast + compile", ["train.mode=fast", "train.compile=true"]))
        if cuda:
            pairs.append(("fast + cuda_graphs", ["train.mode=fast", "train.cuda_graphs=true"]))
    return pairs


def recipe_config(recipe: str, device: torch.device, overrides: list[str]) -> DictConfig:
    return C.load_config([f"recipe={recipe}", f"device={device.type}", "run_dir=unused", *overrides])


def iteration_case(recipe: str, label: str, overrides: list[str], device: torch.device,
                   options: Options, stack: contextlib.ExitStack, precomputed: bool = False) -> Case:
    """One full iteration of ``recipe``: its real batches as the training loop gets them
    (prefetched in a thread while ``stack`` is open, when the config says so), or
    ``precomputed`` once before timing (the iteration without its data, labelled
    ``<label>, data precomputed`` and compared with the reference's precomputed case)."""
    from vidgan.training.trainer import Trainer

    trainer = Trainer(recipe_config(recipe, device, [*options.overrides, *overrides]))
    lv = trainer.levers
    algorithm = (recipe, trainer.cfg.train.mode == "reference", lv.reuse_fakes, lv.skip_critic_grads)
    reals = trainer.real_batches() if precomputed else None
    prefetcher = None if precomputed else stack.enter_context(trainer.prefetching())

    def step() -> dict[str, float]:
        if device.type == "cuda":
            torch.backends.cudnn.benchmark = lv.cudnn_benchmark
        return trainer.train_step(reals)

    return Case("iteration", device.type, recipe, label + PRECOMPUTED if precomputed else label,
                "iteration", lv.precision, step, flops_key=("iteration", *algorithm),
                baseline=label == "reference", precomputed=precomputed, warmup=2 if lv.compile else 1,
                levers=lv.__dict__.copy(), data_time=lambda: trainer.data_seconds,
                modules=[trainer.generator, *(c.net for c in trainer.critics)],
                settle=prefetcher.wait_full if prefetcher else None)


def iteration_cases(device: torch.device, options: Options, stack: contextlib.ExitStack) -> list[Case]:
    """Every recipe's iterations, each with its data and then with its real batches
    precomputed. Prefetch threads run until ``stack`` closes."""
    cases = []
    for recipe in (HEADLINE,) if options.quick else RECIPES:
        for label, overrides in iteration_configs(recipe, device, options):
            cases += [iteration_case(recipe, label, overrides, device, options, stack, precomputed)
                      for precomputed in (False, True)]
        if recipe == HEADLINE and device.type == "cpu" and not options.quick \
                and not levers.native_bf16(device):
            cases.append(Case("iteration", device.type, recipe, "standard + bf16", "iteration", "bf16",
                              lambda: None, skipped=True, note="skipped: no native bf16 on this CPU (see the bf16 "
                              "layer probes); one iteration would take minutes",
                              levers={"precision": "bf16"}))
    return cases


def peaks_of(cases: list[Case]) -> tuple[dict[str, float], dict[str, str]]:
    """Per dtype the peak GFLOP/s, the best over its GEMMs of FLOPs / the best time (a peak
    is what the machine reaches at best: slower runs are load from other processes), and the
    GEMM that gave it."""
    peaks: dict[str, float] = {}
    sizes: dict[str, str] = {}
    for c in cases:
        if c.group == "peak" and c.flops and c.measurement:
            gflops = c.flops / min(c.measurement.times) / 1e9
            if gflops > peaks.get(c.dtype, 0.0):
                peaks[c.dtype], sizes[c.dtype] = gflops, c.name
    return peaks, sizes


def roofline_bound(base_flops: float, base_peak: float, flops: float, peak: float) -> float:
    """The speed-up the hardware allows over the baseline: the baseline's FLOPs at its dtype's
    peak against this case's FLOPs at its own dtype's peak (both as fast as the machine goes).

    Example:
        >>> roofline_bound(220e9, 100e9, 110e9, 400e9)  # half the work at four times the peak
        8.0
    """
    return (base_flops / base_peak) / (flops / peak)


def summarise(cases: list[Case]) -> dict[str, Any]:
    """Rows of raw times and derived numbers; peaks in GFLOP/s per dtype and the GEMM that
    gave each; per dtype the median of the peaks timed beside the iterations' runs (the
    sustained peaks). Full iterations also get the roofline: ``bound_speedup`` (see
    :func:`roofline_bound`; at the sustained peaks, the rounds' best for a dtype without) and
    ``bound_reached``, the measured speed-up over that bound."""
    peaks, peak_sizes = peaks_of(cases)
    beside: dict[str, list[float]] = {}
    for c in cases:
        beside.setdefault(c.dtype, []).extend(c.peaks_beside)
    sustained = {dtype: statistics.median(rates) for dtype, rates in beside.items() if rates}
    bound_peaks = {**peaks, **sustained}
    baselines = {c.key: c for c in cases if c.baseline and c.measurement}
    rows = []
    for c in cases:
        row: dict[str, Any] = {"group": c.group, "name": c.name, "config": c.config,
                               "direction": c.direction, "dtype": c.dtype, "levers": c.levers,
                               "note": c.note, "warmup_s": round(c.warmup_s, 3), "baseline": c.baseline}
        if c.group == "iteration":
            row["precomputed"] = c.precomputed
        m = c.measurement
        if m is not None:
            row.update(times=list(m.times), median=m.median, iqr=m.iqr, runs=len(m.times))
            if c.group == "peak" and c.flops:
                row.update(best=min(m.times), best_gflops_per_s=c.flops / min(m.times) / 1e9,
                           gives_peak=peak_sizes.get(c.dtype) == c.name)
        if c.data_times:
            row.update(data_times=c.data_times, data_median=statistics.median(c.data_times))
        if c.flops:
            row["gflop"] = c.flops / 1e9
            if m is not None:
                row["gflops_per_s"] = c.flops / m.median / 1e9
                if c.dtype in peaks:
                    row["peak_fraction"] = row["gflops_per_s"] / peaks[c.dtype]
                if c.peaks_beside and len(c.peaks_beside) == len(m.times):
                    # paired: each run against the peak timed right before it, as the speed-ups are
                    fractions = sorted(c.flops / t / 1e9 / p for t, p in zip(m.times, c.peaks_beside))
                    row.update(peaks_beside=c.peaks_beside, peak_fraction_beside=statistics.median(fractions),
                               peak_fraction_beside_range=[fractions[0], fractions[-1]])
        base = baselines.get(c.key)
        if m is not None and base is not None:
            b = base.measurement
            if c.group == "iteration" and len(b.times) == len(m.times):
                # paired: round r's reference run against round r's run of this config, which
                # ran next to it; load that drifts between rounds cancels out
                ratios = sorted(r / t for r, t in zip(b.times, m.times))
                row["speedup"] = statistics.median(ratios)
                row["speedup_range"] = [ratios[0], ratios[-1]]
            else:
                row["speedup"] = b.median / m.median
            if c.group == "iteration" and c.flops and base.flops and {c.dtype, base.dtype} <= bound_peaks.keys():
                row["bound_speedup"] = roofline_bound(base.flops, bound_peaks[base.dtype], c.flops,
                                                      bound_peaks[c.dtype])
                row["bound_reached"] = row["speedup"] / row["bound_speedup"]
        rows.append(row)
    return {"peaks_gflops": peaks, "peak_sizes": peak_sizes, "sustained_peaks_gflops": sustained, "rows": rows}


# kineto, the profiler's C++ library, prints these to stderr itself: its start and stop, and on a
# torch built with CUDA but run without a GPU, the failed device query
KINETO_CHATTER = re.compile(r"^USDT:.*\] profiler_(start|stop)$|^ERROR:.*\] gpuGetDeviceCount failed")


# where an iteration's time goes ----------------------------------------------------------
CATEGORIES = ("convolutions", "batch norm and activations", "motion GRU and samplers", "losses",
              "optimiser steps", "data", "casts and layout conversions", "other")
# record_function scopes of the trainer and the generator: the innermost one wins
SCOPES = (("vidgan.data", "data"), ("vidgan.losses", "losses"), ("vidgan.latents", "motion GRU and samplers"))
# a copy outside those scopes, whichever op it runs in: autocast's casts of the weights, the
# layout changes of weight gradients in a convolution's backward and of fused Adam's tensors
COPIES = re.compile(r"^(to|tocopy|copy|contiguous|clone)$|reorder")
# op names (lower case, without namespace and underscores) and torch.optim's scopes: the
# outermost that matches wins, the one the code called (aten::gru_cell, not the sigmoid inside it)
OPS = ((re.compile(r"conv(olution|transpose|\d)"), "convolutions"),
       (re.compile(r"crossentropy|softplus|nllloss|hinge|mseloss"), "losses"),
       (re.compile(r"batchnorm|relu|tanh|sigmoid"), "batch norm and activations"),
       (re.compile(r"gru|rnn|rand|normal"), "motion GRU and samplers"),
       (re.compile(r"^optimizer\.|adam|addcdiv"), "optimiser steps"))
BACKWARD = "autograd::engine::evaluate_function"  # the profiler's event of one autograd node


def category(names: list[str]) -> str:
    """The category (one of ``CATEGORIES``) of an op, from its name and the names of the ops
    and ``record_function`` scopes it ran in, innermost first.

    Example:
        >>> category(["aten::addmm", "aten::linear", "aten::gru_cell", "vidgan.latents"])
        'motion GRU and samplers'
        >>> category(["aten::mkldnn_convolution", "aten::_convolution", "aten::convolution", "aten::conv3d"])
        'convolutions'
        >>> category(["aten::copy_", "aten::_to_copy", "aten::to", "aten::conv3d"])
        'casts and layout conversions'
    """
    for name in names:
        for prefix, found in SCOPES:
            if name.startswith(prefix):
                return found
    ops = [name.rsplit("::", 1)[-1].replace("_", "").lower() for name in names]
    if ops and COPIES.search(ops[0]):
        return "casts and layout conversions"
    for op in reversed(ops):
        for pattern, found in OPS:
            if pattern.search(op):
                return found
    return "other"


def breakdown(events: list, attr: str) -> dict[str, float]:
    """Milliseconds per category of the self times ``attr`` (``self_cpu_time_total``, or
    ``self_device_time_total`` on CUDA) of a profile's CPU-side events (``prof.events()``).

    A backward op counts where the forward op that made its autograd node does, matched by
    sequence number and thread as the profiler itself matches them (the last forward op with
    that number made the node): the motion GRU's backward counts as the motion GRU.
    """
    from torch.autograd import DeviceType

    def callers(event: Any) -> list[Any]:  # the event and the ops and scopes it ran in, innermost first
        out = []
        while event is not None:
            out.append(event)
            event = event.cpu_parent
        return out

    chains = [callers(e) for e in events if e.device_type == DeviceType.CPU]
    nodes = [next((c for c in chain if c.name.startswith(BACKWARD)), None) for chain in chains]
    forward = {(chain[0].sequence_nr, chain[0].thread): chain for chain, node in zip(chains, nodes)
               if node is None and chain[0].sequence_nr >= 0}
    totals = dict.fromkeys(CATEGORIES, 0.0)
    for chain, node in zip(chains, nodes):
        made_by = forward.get((node.sequence_nr, node.fwd_thread), []) if node is not None else []
        totals[category([e.name for e in chain + made_by])] += getattr(chain[0], attr) / 1e3
    return totals


@contextlib.contextmanager
def kineto_quiet() -> Iterator[None]:
    """Drop kineto's own start/stop and missing-GPU lines from stderr inside the block.

    Everything else written to file descriptor 2 meanwhile is written out at the end.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            caught.seek(0)
            lines = caught.read().decode(errors="replace").splitlines(keepends=True)
            sys.stderr.write("".join(line for line in lines if not KINETO_CHATTER.match(line.rstrip("\n"))))


def profile_iterations(cases: list[Case], device: torch.device, out: Path) -> list[dict[str, Any]]:
    """One profiled iteration of each recipe's reference and fast case: the top ops, the
    time per category (:func:`breakdown`), the convolutions' FLOPs (counted at warm-up) and
    passes (:func:`convolution_passes`), with its dtype's peak GEMMs run back to back before
    every :data:`PEAK_EVERY`-th pass and after the last (:func:`peak_beside`; the machine's
    speed can change between the rounds and this phase), whose median rate is the profile's
    peak; the profiler's tables to files."""
    from torch.profiler import ProfilerActivity, profile

    out.mkdir(parents=True, exist_ok=True)
    cuda = device.type == "cuda"
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    attr = "self_device_time_total" if cuda else "self_cpu_time_total"
    found = []
    for case in cases:
        if case.group != "iteration" or case.config not in PROFILED:
            continue
        with kineto_quiet():
            with profile(activities=activities) as prof:
                case.fn()
            events = prof.key_averages()
            categories = breakdown(prof.events(), attr)
        if case.settle:
            case.settle()
        name = f"profile-{device.type}-{case.name}-{case.config}.txt"
        (out / name).write_text(events.table(sort_by="self_cuda_time_total" if cuda else attr, row_limit=25) + "\n")
        gemms, peak = [c for c in cases if c.group == "peak" and c.dtype == case.dtype and c.flops], []
        passes_seen = itertools.count()

        def time_peak() -> None:
            if gemms:
                peak.append(peak_beside(gemms))

        def before_pass() -> None:
            if next(passes_seen) % PEAK_EVERY == 0:
                time_peak()

        passes = convolution_passes(case, device, between=before_pass)
        time_peak()
        total = sum(getattr(e, attr) for e in events) or 1.0
        spent = sum(categories.values()) or 1.0
        top = sorted(events, key=lambda e: getattr(e, attr), reverse=True)[:8]
        found.append({"device": device.type, "recipe": case.name, "config": case.config, "file": name,
                      "dtype": case.dtype, "convolution_gflop": (case.convolution_flops or 0) / 1e9,
                      "gflop": (case.flops or 0) / 1e9, "passes": passes,
                      **({"peak_gflops": statistics.median(peak)} if peak else {}),
                      "top": [{"op": e.key, "self_ms": getattr(e, attr) / 1e3, "calls": e.count,
                               "share": getattr(e, attr) / total} for e in top],
                      "categories": [{"category": k, "ms": ms, "share": ms / spent} for k, ms in categories.items()]})
    return found


# convolution passes --------------------------------------------------------------------
CONVOLUTIONS = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)


def convolution_calls(case: Case) -> list[tuple[nn.Module, tuple[int, ...], tuple[bool, bool], int]]:
    """The convolutions one call of ``case`` runs, per distinct module, input shape and the
    gradients autograd needs of it (to the input, to the weight): ``(module, shape, grads,
    calls)``."""
    calls: dict[tuple, list] = {}

    def record(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: Any) -> None:
        grad = torch.is_grad_enabled()
        grads = (grad and inputs[0].requires_grad, grad and module.weight.requires_grad)
        key = (id(module), tuple(inputs[0].shape), grads)
        calls.setdefault(key, [module, key[1], grads, 0])[-1] += 1

    hooks = [m.register_forward_hook(record) for net in case.modules for m in net.modules()
             if isinstance(m, CONVOLUTIONS)]
    try:
        case.fn()
    finally:
        for hook in hooks:
            hook.remove()
    if case.settle:
        case.settle()
    return [tuple(c) for c in calls.values()]


def best_seconds(fn: Callable[[], Any], repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = clock()
        fn()
        times.append(clock() - start)
    return min(times)


def gemm_shapes(conv: nn.Module, input_shape: tuple[int, ...], output_shape: tuple[int, ...],
                grads: tuple[bool, bool]) -> dict[str, list[tuple[int, int, int]]]:
    """The matrix products (rows × depth × columns) one call of ``conv`` comes to, per pass,
    lowered as im2col does: the forward, then the input's and the weight's gradients that
    ``grads`` asks for; one per group. A convolution has a row per output position, a depth
    of input channels × kernel positions and a column per output channel; a transposed one
    is the input gradient of the convolution it transposes (a row per input position)."""
    kernel, groups = math.prod(conv.kernel_size), conv.groups
    if isinstance(conv, nn.modules.conv._ConvTransposeNd):
        rows = input_shape[0] * math.prod(input_shape[2:])
        depth, columns = conv.out_channels // groups * kernel, conv.in_channels // groups
        forward, input_grad = (rows, columns, depth), (rows, depth, columns)
    else:
        rows = output_shape[0] * math.prod(output_shape[2:])
        depth, columns = conv.in_channels // groups * kernel, conv.out_channels // groups
        forward, input_grad = (rows, depth, columns), (rows, columns, depth)
    backward = [g for g, needed in zip((input_grad, (columns, rows, depth)), grads) if needed]
    return {"forward": [forward] * groups, "backward": backward * groups}


def matmul_seconds(shape: tuple[int, int, int], device: torch.device, dtype: torch.dtype, repeats: int) -> float:
    """The best time of a plain matrix product of ``shape`` (rows × depth × columns), over
    both layouts of its second operand (depth-major, as im2col's weight, or column-major)."""
    m, k, n = shape
    a = torch.randn(m, k, device=device, dtype=dtype)
    return min(best_seconds(lambda: a @ b, repeats) for b in (torch.randn(k, n, device=device, dtype=dtype),
                                                               torch.randn(n, k, device=device, dtype=dtype).t()))


def convolution_passes(case: Case, device: torch.device, repeats: int = 5,
                       between: Callable[[], None] = lambda: None) -> list[dict[str, Any]]:
    """Each convolution of one call of ``case`` timed alone (best of ``repeats``), forward and
    backward (one call for the gradients autograd needs, as in the iteration), with the
    iteration's shapes, dtype and layout: what its convolutions take when nothing else runs;
    and its :func:`gemm_shapes` as plain matrix products (:func:`matmul_seconds`): what the
    BLAS takes for the same FLOPs with no patches to copy or sum. ``between`` runs before
    each. Rows: the layer, its input, its calls, per pass its seconds, GFLOP and GEMMs'
    seconds (and the backward's gradients)."""
    dtype = DTYPES[case.levers.get("precision", "fp32")]
    rows = []
    for module, shape, grads, count in convolution_calls(case):
        between()
        x = torch.randn(shape, device=device, dtype=dtype)
        w = module.weight.detach().to(dtype)
        if case.levers.get("channels_last") and x.dim() in (4, 5):
            x, w = (t.contiguous(memory_format=levers.memory_format(x)) for t in (x, w))
        gemm, space_to_depth = takes_gemm(module, shape, device), takes_space_to_depth(module, shape, device)
        if gemm or space_to_depth:  # as GEMMs or space-to-depth (train.conv3d_gemm, conv2d_gemm, conv_transpose_gemm)
            forward, other_backward = (gemm_passes if gemm else space_to_depth_passes)(module, x, w, grads)

            def backward() -> Any:
                return other_backward(grad)
        else:
            transposed = isinstance(module, nn.modules.conv._ConvTransposeNd)
            geometry = (module.stride, module.padding, module.dilation, transposed, module.output_padding,
                        module.groups)

            def forward() -> Any:
                return torch.ops.aten.convolution(x, w, None, *geometry)

            def backward() -> Any:
                return torch.ops.aten.convolution_backward(grad, x, w, None, *geometry, [*grads, False])
        grad = torch.randn_like(forward())
        shapes = gemm_shapes(module, shape, tuple(grad.shape), grads)
        passes = {"forward": forward, "backward": backward} if any(grads) else {"forward": forward}
        kind = next(c.__name__ for c in type(module).__mro__ if c.__module__.startswith("torch.nn"))
        row: dict[str, Any] = {"layer": f"{kind} {module.in_channels}→{module.out_channels}, "
                                        f"kernel {'×'.join(map(str, module.kernel_size))}, "
                                        f"stride {'×'.join(map(str, module.stride))}"
                                        + (", as GEMMs" if gemm else ", space-to-depth" if space_to_depth else ""),
                               "input": "×".join(map(str, shape)), "calls": count,
                               "gradients": " and ".join(n for n, g in zip(("input", "weight"), grads) if g)}
        for name, fn in passes.items():
            with FlopCounterMode(display=False) as counter:
                fn()
            row[name] = {"seconds": best_seconds(fn, repeats), "gflop": counter.get_total_flops() / 1e9,
                         "gemm_seconds": sum(n * matmul_seconds(s, device, dtype, repeats)  # a group's once
                                             for s, n in Counter(shapes[name]).items())}
        rows.append(row)
    return rows


# the run -----------------------------------------------------------------------------
def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    info: dict[str, Any] = {"cpu": _cpu_model(), "cores": os.cpu_count(),
                            "cpu_capability": torch.backends.cpu.get_cpu_capability(),
                            "native_bf16_cpu": levers.native_bf16(torch.device("cpu")),
                            "torch": torch.__version__, "threads": torch.get_num_threads(),
                            "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None}
    try:
        flags = _cpu_flags()
        info["cpu_flags"] = sorted(f for f in flags if f.startswith(("avx", "amx", "fma")))
    except OSError:
        info["cpu_flags"] = []
    return info


def _cpuinfo_field(name: str) -> str:
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith(name):
                return line.split(":", 1)[1].strip()
    return ""


def _cpu_model() -> str:
    """The model name, with the family and model numbers that tell CPU generations apart
    where a virtual machine's name does not (``AMD EPYC (family 26, model 2)``)."""
    try:
        name = _cpuinfo_field("model name") or "unknown"
        family, model = _cpuinfo_field("cpu family"), _cpuinfo_field("model\t")
    except OSError:
        return "unknown"
    return f"{name} (family {family}, model {model})" if family and model else name


def _cpu_flags() -> set[str]:
    return set(_cpuinfo_field("flags").split())


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else []


def command(options: Options) -> str:
    """The ``vidgan bench`` command line that gives ``options``."""
    default = Options()
    parts = ["vidgan bench"]
    parts += ["--quick"] if options.quick else []
    parts += [f"--device {options.device}"] if options.device != default.device else []
    parts += [f"--threads {options.threads}"] if options.threads else []
    parts += ["--no-compile"] if not options.compile else []
    parts += [f"--min-time {options.min_time:g}"] if options.min_time != default.min_time else []
    parts += [f"--rounds {options.rounds}"] if options.rounds != default.rounds else []
    return " ".join(parts + list(options.overrides))


def run(options: Options, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run every case on every device; write the report; return it as a dict."""
    if options.threads:
        torch.set_num_threads(options.threads)
    if options.data:
        return data_pipeline.run(options.out, machine(), log, options.data_root, options.min_time)
    started, load_start, began = datetime.now(timezone.utc), load(), time.perf_counter()
    results: dict[str, Any] = {"machine": machine(), "mode": "quick" if options.quick else "full",
                               "command": command(options),
                               "started": started.isoformat(timespec="seconds"),
                               "load_average_start": load_start, "overrides": list(options.overrides),
                               "devices": {}}
    profiles: list[dict[str, Any]] = []
    for device in devices(options.device):
        name = device.type
        torch.manual_seed(0)
        log(f"{name}: peaks, {'' if options.quick else 'layers, '}full iterations")
        cases = peak_cases(device)
        if not options.quick:
            configs = {r: recipe_config(r, device, list(options.overrides)) for r in RECIPES}
            cases += layer_cases(configs, device, options)
        with contextlib.ExitStack() as prefetch_threads:
            cases += iteration_cases(device, options, prefetch_threads)
            timed = [c for c in cases if not c.skipped]
            measure(timed, 2 if options.quick else options.rounds, options.min_time, log)
            if not options.quick:
                profiles += profile_iterations(timed, device, options.out)
        results["devices"][name] = summarise(cases)
    results["finished"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    results["load_average_end"] = load()
    results["seconds"] = round(time.perf_counter() - began, 1)
    results["profiles"] = profiles
    report.write(results, options.out)
    for name, summary in results["devices"].items():
        log(report.speedup_line(summary, name))
    log(f"report: {options.out / 'report.md'} ({results['seconds']:.0f} s)")
    return results


def devices(option: str) -> list[torch.device]:
    if option == "all":
        return [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    if option == "cuda" and not torch.cuda.is_available():
        raise VidganError("--device cuda but no CUDA device is available; use --device cpu")
    return [torch.device(option)]


def options_from(args: argparse.Namespace) -> Options:
    if args.rounds < 1 or args.min_time <= 0:
        raise VidganError("--rounds must be at least 1 and --min-time positive")
    return Options(quick=args.quick, out=args.out, device=args.device, threads=args.threads,
                   compile=not args.no_compile, min_time=args.min_time, rounds=args.rounds,
                   overrides=tuple(args.overrides), data=args.data, data_root=args.data_root)
