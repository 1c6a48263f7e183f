"""Each timed case becomes a row of raw times and numbers derived from them: GFLOP/s, share
of the peak, speed-up over its table's baseline and, for full iterations, the roofline."""

import pytest

from vidgan.bench.summary import summarise
from vidgan.bench.verdicts import HEADLINE


def test_the_peak_rows_name_the_gemm_that_gives_the_peak(timed):
    summary = summarise([
        timed("peak", "matmul 512×512", "fp32", "fp32", 1e9, [0.01, 0.05, 0.05]),  # best 100, median 20
        timed("peak", "matmul 768×768", "fp32", "fp32", 2e9, [0.05, 0.05, 0.05]),  # 40
        timed("peak", "matmul 1024×1024", "fp32", "fp32", 4e9, [0.05, 0.05, 0.06]),  # best and median 80
    ])
    assert summary["peaks_gflops"] == pytest.approx({"fp32": 100.0})
    rows = summary["rows"]
    assert [r["gives_peak"] for r in rows] == [True, False, False]
    assert [r["best_gflops_per_s"] for r in rows] == pytest.approx([100.0, 40.0, 80.0])
    assert [r["peak_fraction"] for r in rows] == pytest.approx([0.2, 0.4, 0.8])  # median GFLOP/s / peak
    assert [r["runs"] for r in rows] == [3, 3, 3] and rows[0]["median"] == 0.05


def test_roofline_of_full_iterations(timed):
    """Reference: 200 GFLOP in fp32 (peak 100 GFLOP/s); fast: 100 GFLOP in bf16 (peak 400): the
    hardware allows (200 / 100) / (100 / 400) = 8x. Measured: 4x with data, 2x without."""
    def iteration(config, dtype, flops, times, precomputed=False):
        return timed("iteration", HEADLINE, config, dtype, flops, times, baseline=config.startswith("reference"),
                     precomputed=precomputed)

    summary = summarise([
        timed("peak", "matmul 1024×1024", "fp32", "fp32", 100e9, [1.0]),
        timed("peak", "matmul 1024×1024", "bf16", "bf16", 400e9, [1.0]),
        iteration("reference", "fp32", 200e9, [4.0, 4.0]),
        iteration("reference, data precomputed", "fp32", 200e9, [2.0, 2.0], precomputed=True),
        iteration("fast", "bf16", 100e9, [1.0, 1.0]),
        iteration("fast, data precomputed", "bf16", 100e9, [1.0, 1.0], precomputed=True),
    ])
    ref, ref_alone, fast, fast_alone = (r for r in summary["rows"] if r["group"] == "iteration")
    assert fast["peak_fraction"] == pytest.approx(100 / 400) and ref["peak_fraction"] == pytest.approx(0.5)
    assert fast["bound_speedup"] == pytest.approx(8.0) and fast_alone["bound_speedup"] == pytest.approx(8.0)
    assert ref["bound_speedup"] == pytest.approx(1.0) and ref["bound_reached"] == pytest.approx(1.0)
    assert fast["speedup"] == pytest.approx(4.0) and fast["bound_reached"] == pytest.approx(0.5)
    assert fast_alone["speedup"] == pytest.approx(2.0) and fast_alone["bound_reached"] == pytest.approx(0.25)
    assert [r["precomputed"] for r in (ref, ref_alone, fast, fast_alone)] == [False, True, False, True]


def test_an_iterations_speedup_is_the_median_of_its_rounds_a_layers_the_ratio_of_medians(timed):
    """Round r's reference run against round r's run: ratios 4, 2 and 1 (median 2), where the
    ratio of the medians would be 4 / 2."""
    summary = summarise([
        timed("iteration", "r", "reference", "fp32", None, [4.0, 4.0, 4.0], baseline=True),
        timed("iteration", "r", "fast", "fp32", None, [1.0, 2.0, 4.0]),
        timed("layer", "stack", "fp32 · contiguous · eager", "fp32", None, [4.0, 4.0, 4.0], baseline=True),
        timed("layer", "stack", "bf16 · contiguous · eager", "bf16", None, [1.0, 2.0, 5.0]),
    ])
    _, fast, _, layer = summary["rows"]
    assert fast["speedup"] == 2.0 and fast["speedup_range"] == [1.0, 4.0]
    assert layer["speedup"] == 2.0 and "speedup_range" not in layer
    assert "gflop" not in fast  # no FLOPs counted


def test_the_fraction_beside_is_the_median_over_runs_of_each_run_against_its_peak(timed):
    fast = timed("iteration", "r", "fast", "bf16", 100e9, [1.0, 2.0, 4.0], peaks_beside=[400.0, 100.0, 200.0],
                 data_times=[0.1, 0.3, 0.2])
    summary = summarise([timed("peak", "matmul 1024×1024", "bf16", "bf16", 800e9, [1.0]), fast])
    row = summary["rows"][1]
    assert row["peak_fraction"] == pytest.approx(50 / 800)  # the median run (2 s) against the best peak
    assert row["peak_fraction_beside"] == pytest.approx(0.25)  # of 0.25, 0.5 and 0.125
    assert row["peak_fraction_beside_range"] == pytest.approx([0.125, 0.5])
    assert row["data_median"] == 0.2


def test_the_bound_takes_each_dtypes_median_peak_timed_beside_the_iterations(timed):
    """fp32 peaks beside the runs have median 100, bf16 median 200: the fast mode's 100 GFLOP
    against the reference's 200 are bound at (200 / 100) / (100 / 200) = 4x, not at the 8x of
    the rounds' best bf16 peak; a row of the reference's dtype is bound by its FLOPs alone."""
    summary = summarise([
        timed("peak", "matmul 1024×1024", "fp32", "fp32", 100e9, [1.0]),
        timed("peak", "matmul 1024×1024", "bf16", "bf16", 400e9, [1.0]),
        timed("iteration", "r", "reference", "fp32", 200e9, [4.0, 4.0], baseline=True, peaks_beside=[90.0, 100.0]),
        timed("iteration", "r", "standard", "fp32", 200e9, [4.0, 4.0], peaks_beside=[100.0, 150.0]),
        timed("iteration", "r", "fast", "bf16", 100e9, [1.0, 1.0, 1.0], peaks_beside=[400.0, 200.0, 150.0]),
    ])
    assert summary["sustained_peaks_gflops"] == pytest.approx({"fp32": 100.0, "bf16": 200.0})
    standard, fast = summary["rows"][3:]
    assert fast["bound_speedup"] == pytest.approx(4.0)
    assert fast["speedup"] == 4.0 and fast["bound_reached"] == pytest.approx(1.0)  # medians: 3 runs against 2
    assert standard["bound_speedup"] == pytest.approx(1.0)
