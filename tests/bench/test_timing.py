"""Cases are warmed up (their FLOPs counted), timed in interleaved rounds, and each iteration
run is paired with its dtype's peak GEMMs timed right before it."""

import pytest
import torch
from torch.nn import functional as F

from vidgan.bench import timing
from vidgan.bench.timing import Case


def ticking(monkeypatch, step=0.5):
    """Every read of the clock is ``step`` seconds after the last."""
    ticks = iter(range(10**6))
    monkeypatch.setattr(timing, "clock", lambda: next(ticks) * step)


def test_the_warm_up_counts_all_flops_and_the_convolutions(tmp_path):
    a, x, w = torch.randn(8, 16), torch.randn(2, 3, 10, 10), torch.randn(5, 3, 3, 3)
    calls = []
    case = Case("layer", "cpu", "net", "plain", "fwd", "fp32",
                lambda: calls.append(1) or (a @ a.T, F.conv2d(x, w)), flops_key=("net",), warmup=2)
    compiled = Case("layer", "cpu", "net", "compiled", "fwd", "fp32", lambda: None, flops_key=("other",),
                    levers={"compile": True})
    flops = {}
    timing.warm_up(case, flops)
    timing.warm_up(compiled, flops)
    convolution = 2 * (2 * 5 * 8 * 8) * (3 * 3 * 3)  # per output element, a 3×3×3 patch
    assert flops == {("net",): (2 * 8 * 16 * 8 + convolution, convolution)}  # a compiled case counts nothing
    assert len(calls) == 2 and case.warmup_s > 0


def test_best_seconds_is_the_fastest_timed_call(monkeypatch):
    reads = iter([0.0, 3.0, 10.0, 11.0, 20.0, 25.0])
    monkeypatch.setattr(timing, "clock", lambda: next(reads))
    calls = []
    assert timing.best_seconds(lambda: calls.append(1), 3) == 1.0
    assert len(calls) == 4  # one untimed call first


def test_each_iteration_run_is_paired_with_the_peak_timed_right_before_it(monkeypatch):
    """Every call reads the clock twice, 0.5 s apart: the GEMM (2 GFLOP) runs at 4 GFLOP/s
    beside each of the two rounds' iteration runs; layers and dtypes without GEMMs get none."""
    ticking(monkeypatch)
    a = torch.randn(1000, 1000)
    gemm = Case("peak", "cpu", "matmul 1000×1000", "fp32", "gemm", "fp32", lambda: a @ a,
                flops_key=("matmul", "fp32", 1000))
    fp32, bf16 = (Case("iteration", "cpu", "r", c, "iteration", c, lambda: None) for c in ("fp32", "bf16"))
    layer = Case("layer", "cpu", "stack", "fp32", "fwd", "fp32", lambda: a @ a)
    timing.measure([gemm, fp32, bf16, layer], rounds=2, min_time=0.01, log=lambda line: None)
    assert gemm.flops == 2 * 1000 ** 3
    assert fp32.peaks_beside == pytest.approx([4.0, 4.0])
    assert bf16.peaks_beside == [] and layer.peaks_beside == []


def test_iterations_run_once_a_round_and_single_cases_once(monkeypatch):
    ticking(monkeypatch, 0.25)
    waits, settled = iter([0.1, 0.2, 0.3]), []
    iteration = Case("iteration", "cpu", "r", "fast", "iteration", "fp32", lambda: None,
                     data_time=lambda: next(waits), settle=lambda: settled.append(1))
    probe = Case("layer", "cpu", "stack", "bf16", "fwd", "bf16", lambda: None, single=True)
    lines = []
    timing.measure([iteration, probe], rounds=3, min_time=0.01, log=lines.append)
    assert iteration.measurement.times == pytest.approx([0.25] * 3) and probe.measurement.times == [0.25]
    assert iteration.data_times == [0.1, 0.2, 0.3]
    assert len(settled) == 4  # after its warm-up and after each timed run
    assert lines == ["  warm-up cpu r iteration [fast]", "  warm-up cpu stack fwd [bf16]"]
