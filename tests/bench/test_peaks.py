"""The peak of a dtype is its best GEMM at its best run, over matmuls and 1×1 convolutions of
three sizes; the sustained peaks are the medians of those timed beside the iterations."""

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from vidgan.bench import peaks


def test_the_peak_is_the_best_size_at_its_best_run(timed):
    found, sizes = peaks.peaks_of([
        timed("peak", "matmul 512×512", "fp32", "fp32", 1e9, [0.01, 0.05, 0.05]),  # best 100 GFLOP/s, median 20
        timed("peak", "matmul 768×768", "fp32", "fp32", 2e9, [0.05, 0.05, 0.05]),  # 40
        timed("peak", "matmul 1024×1024", "fp32", "fp32", 4e9, [0.05, 0.05, 0.06]),  # best and median 80
        timed("peak", "matmul 512×512", "bf16", "bf16", 1e9, [1.0, 2.0]),
        timed("layer", "a stack", "fp32", "fp32", 1e12, [0.01]),  # not a GEMM of the peaks
    ])
    assert found == pytest.approx({"fp32": 100.0, "bf16": 1.0})
    assert sizes == {"fp32": "matmul 512×512", "bf16": "matmul 512×512"}


def test_the_peak_takes_the_faster_library(timed):
    found, sizes = peaks.peaks_of([
        timed("peak", "matmul 1024×1024", "fp32", "fp32", 4e9, [0.02, 0.03]),  # 200
        timed("peak", "1×1 conv 1024→1024 ch × 1024 px", "fp32", "fp32", 4e9, [0.01, 0.02]),  # 400
        timed("peak", "matmul 1024×1024", "bf16", "bf16", 4e9, [0.005]),  # 800
        timed("peak", "1×1 conv 1024→1024 ch × 1024 px", "bf16", "bf16", 4e9, [0.008]),  # 500
    ])
    assert found == pytest.approx({"fp32": 400.0, "bf16": 800.0})
    assert sizes == {"fp32": "1×1 conv 1024→1024 ch × 1024 px", "bf16": "matmul 1024×1024"}


def test_the_sustained_peak_of_a_dtype_is_the_median_beside_its_iterations(timed):
    cases = [timed("iteration", "r", "reference", "fp32", 1e9, [1.0], peaks_beside=[90.0, 100.0]),
             timed("iteration", "r", "standard", "fp32", 1e9, [1.0], peaks_beside=[100.0, 150.0]),
             timed("iteration", "r", "fast", "bf16", 1e9, [1.0], peaks_beside=[400.0, 200.0, 150.0]),
             timed("iteration", "r", "fp16", "fp16", 1e9, [1.0])]
    assert peaks.sustained_peaks(cases) == pytest.approx({"fp32": 100.0, "bf16": 200.0})


def test_the_roofline_bound_is_the_work_at_each_peak():
    assert peaks.roofline_bound(220e9, 100e9, 110e9, 400e9) == pytest.approx(8.0)
    assert peaks.roofline_bound(220e9, 116.0, 189e9, 116.0) == pytest.approx(220 / 189)  # same dtype: FLOPs alone


def test_the_peak_sizes_and_the_matmul_size_within_its_limit():
    assert peaks.peak_sizes(2048) == (1024, 1536, 2048)
    assert peaks.matmul_size(torch.device("cpu"), torch.float32, limit=256) == 256  # the smallest it tries
    assert peaks.matmul_size(torch.device("cpu"), torch.float32, limit=4096, budget=0.0) == 256  # over budget


@pytest.mark.parametrize("n", [192, 384, 512, 1024])  # 3n/4 of 256 and 512 too: not multiples of 256
def test_the_pointwise_convolution_is_the_gemm_of_its_size(n):
    fn, label = peaks.pointwise_conv(n, torch.device("cpu"), torch.float32)
    with FlopCounterMode(display=False) as counter:
        fn()
    assert counter.get_total_flops() == 2 * n ** 3 and label == f"1×1 conv {n}→{n} ch × {n} px"
