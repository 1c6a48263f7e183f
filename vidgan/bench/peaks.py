"""The machine's GEMM peaks, which every GFLOP/s number is compared with, and the roofline.

Per dtype, GEMMs at three sizes (up to the largest that the time budget allows) run as
square matmuls and as 1×1 convolutions; the peak of a dtype is the best GFLOP/s over them
and their runs. They are timed in the same interleaved rounds as every other case, and
again right before each timed iteration of their dtype (each back to back for 0.1 s,
:func:`vidgan.bench.timing.peak_beside`): the sustained peak beside that run, which
follows a machine whose speed drifts.
"""

from __future__ import annotations

import statistics
import time
from typing import Any, Callable

import torch
from torch.nn import functional as F

from vidgan.bench.timing import DTYPES, Case


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
    pixels, channels-last; ``n`` a multiple of 16) run by the convolution library, and its name."""
    x = torch.randn(1, n, n // 16, 16, device=device, dtype=dtype).contiguous(memory_format=torch.channels_last)
    w = torch.randn(n, n, 1, 1, device=device, dtype=dtype).contiguous(memory_format=torch.channels_last)
    return (lambda: F.conv2d(x, w)), f"1×1 conv {n}→{n} ch × {n} px"


def peak_cases(device: torch.device) -> list[Case]:
    """Per dtype, GEMMs at three sizes through both libraries that run the models' work:
    matmuls (the BLAS library) and 1×1 convolutions (the convolution library). Either can be
    the faster on a CPU, and the peak is the best of all."""
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


def sustained_peaks(cases: list[Case]) -> dict[str, float]:
    """Per dtype the median of the peaks timed beside the iterations' runs (the sustained
    peaks), for the dtypes that have any."""
    beside: dict[str, list[float]] = {}
    for c in cases:
        beside.setdefault(c.dtype, []).extend(c.peaks_beside)
    return {dtype: statistics.median(rates) for dtype, rates in beside.items() if rates}


def roofline_bound(base_flops: float, base_peak: float, flops: float, peak: float) -> float:
    """The speed-up the hardware allows over the baseline: the baseline's FLOPs at its dtype's
    peak against this case's FLOPs at its own dtype's peak (both as fast as the machine goes).

    Example:
        >>> roofline_bound(220e9, 100e9, 110e9, 400e9)  # half the work at four times the peak
        8.0
    """
    return (base_flops / base_peak) / (flops / peak)
