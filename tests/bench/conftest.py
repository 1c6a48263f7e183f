"""Recorded results and timed cases, as the bench's modules hand them on, for the tests."""

import pytest
import torch
from torch.utils.benchmark import Measurement
from torch.utils.benchmark.utils.common import TaskSpec

from vidgan.bench.timing import Case
from vidgan.bench.verdicts import HEADLINE


def make_timed(group, name, config, dtype, flops, times, **kwargs):
    """A case as the timing leaves it: its FLOPs and its times (seconds per call)."""
    case = Case(group, "cpu", name, config, "gemm" if group == "peak" else "iteration", dtype, lambda: None,
                **kwargs)
    case.flops = flops
    case.measurement = Measurement(1, times, TaskSpec("fn()", "pass"))
    return case


def make_results(flags=("avx", "avx2", "fma"), native_bf16=False):
    """A recorded CPU run whose fast iteration misses the speed-up target: 2 s against 2.4 s."""
    precision = "bf16" if native_bf16 else "fp32"
    iteration = {"group": "iteration", "name": HEADLINE, "direction": "iteration", "note": "", "runs": 2,
                 "iqr": 0.0}
    rows = [{**iteration, "config": "reference", "dtype": "fp32", "levers": {"precision": "fp32"},
             "median": 2.4, "times": [2.4, 2.4], "speedup": 1.0, "speedup_range": [1.0, 1.0], "gflop": 220.0,
             "baseline": True},
            {**iteration, "config": "fast", "dtype": precision, "levers": {"precision": precision},
             "median": 2.0, "times": [2.0, 2.0], "speedup": 1.2, "speedup_range": [1.2, 1.2], "gflop": 189.0,
             "baseline": False, "bound_speedup": 1.5, "bound_reached": 0.8}]
    machine = {"cpu": "some CPU", "cores": 2, "cpu_capability": "AVX2", "cpu_flags": list(flags),
               "native_bf16_cpu": native_bf16, "torch": torch.__version__, "threads": 2, "cuda": None}
    return {"machine": machine, "mode": "quick", "command": "vidgan bench --quick", "started": "start",
            "finished": "end", "seconds": 30.0, "load_average_start": [0.5, 0.5, 0.5],
            "load_average_end": [0.5, 0.5, 0.5], "overrides": [], "profiles": [],
            "devices": {"cpu": {"peaks_gflops": {"fp32": 116.0, "bf16": 400.0 if native_bf16 else 0.9},
                                "rows": rows}}}


def passes_profile(**fields):
    """A profiled iteration with one Conv3d (two calls) timed alone: 3.6 GFLOP in 6 ms of
    passes (600 GFLOP/s), 4.8 ms of them as plain GEMMs (750 GFLOP/s)."""
    rows = [{"layer": "Conv3d 4→6", "input": "2×4×7×8×8", "calls": 2, "gradients": "weight",
             "forward": {"seconds": 0.001, "gflop": 0.6, "gemm_seconds": 0.0008},
             "backward": {"seconds": 0.002, "gflop": 1.2, "gemm_seconds": 0.0016}}]
    return {"device": "cpu", "recipe": HEADLINE, "config": "fast", "file": "profile-cpu-fast.txt", "dtype": "bf16",
            "gflop": 3.6, "convolution_gflop": 3.6, "passes": rows, "peak_gflops": 1000.0, **fields}


@pytest.fixture
def timed():
    return make_timed


@pytest.fixture
def recorded():
    return make_results


@pytest.fixture
def profiled():
    return passes_profile
