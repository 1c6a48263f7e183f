"""A case to time, and how cases are timed: warm-up, interleaved rounds, single calls.

Every speed-up is a ratio measured side by side in one run: the cases of a table are
timed in interleaved rounds (reference, lever, lever, ..., reference, lever, ...), so
load from other processes hits them alike. Each case is warmed up first (the warm-up of
an eager case also counts its FLOPs with ``torch.utils.flop_counter.FlopCounterMode``);
its times come from ``torch.utils.benchmark.Timer`` and are summarised by median and
interquartile range. Right before each timed iteration its dtype's peak GEMMs run back to
back (:func:`peak_beside`): the machine's sustained speed at that moment.

glibc's malloc policy is process-wide, so it is set before every warm-up and timed call:
an iteration's as its ``keep_memory`` lever says, freed memory kept for peaks and layers.
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from vidgan import accel


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

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


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
    trainer: Any = None  # an iteration's Trainer, whose parts a profile scopes
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


def memory_policy(case: Case) -> None:
    """Set the process's malloc policy for ``case``: an iteration's ``keep_memory`` lever;
    freed memory kept for the peaks and layers (no page faults in what they measure)."""
    if accel.malloc_tunable():
        accel.keep_memory(case.levers.get("keep_memory", case.group != "iteration"))


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


def time_once(case: Case) -> Measurement:
    """One timed call (``Timer.timeit`` would add two warm-up calls: too many for slow cases)."""
    memory_policy(case)
    start = clock()
    case.fn()
    elapsed = clock() - start
    return Measurement(1, [elapsed], TaskSpec("fn()", "pass", label=case.name, sub_label=case.config,
                                              description=f"{case.device} {case.direction}",
                                              num_threads=torch.get_num_threads()))


def best_seconds(fn: Callable[[], Any], repeats: int) -> float:
    """The best time of ``repeats`` calls of ``fn``, after one untimed call."""
    fn()
    times = []
    for _ in range(repeats):
        start = clock()
        fn()
        times.append(clock() - start)
    return min(times)


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
