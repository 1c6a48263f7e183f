"""The report's targets, limits and shortfalls, judged from recorded results as data."""

import pytest

from vidgan.bench import verdicts
from vidgan.bench.verdicts import HEADLINE, AbovePeak, Libraries, PeakShare

CONV3D = "video D Conv3d: categorical-video ×3 clips of 16"


def layer(config, speedup=None, **fields):
    row = {"group": "layer", "name": CONV3D, "direction": "fwd+bwd", "config": config, "runs": 3, "baseline": False,
           "levers": {}, "note": "", **fields}
    return {**row, "speedup": speedup} if speedup is not None else row


def test_the_fast_iteration_is_judged_against_the_peak_of_its_dtype():
    assert verdicts.iteration_peak({"peak_fraction": 0.47, "dtype": "bf16"}) == PeakShare("bf16", 0.47, 0.75)
    assert not verdicts.iteration_peak({"peak_fraction": 0.47, "dtype": "bf16"}).met
    assert verdicts.iteration_peak({"peak_fraction": 0.86, "dtype": "fp32"}).met  # target 85%
    assert verdicts.iteration_peak({"dtype": "bf16"}) is None  # no measured peak
    beside = verdicts.iteration_peak({"peak_fraction": 0.14, "peak_fraction_beside": 0.78, "dtype": "bf16"})
    assert beside == PeakShare("bf16", 0.78, 0.75, of_best=0.14) and beside.met


def test_the_conv3d_stack_is_judged_against_the_peak_timed_beside_the_fast_iteration():
    row = layer("bf16 · eager", median=0.1, gflops_per_s=150.0, peak_fraction=150 / 400, dtype="bf16")
    fast = {"dtype": "bf16", "peaks_beside": [300.0, 250.0, 200.0]}
    assert verdicts.conv3d_peak(row, fast) == PeakShare("bf16", 0.6, 0.5, of_best=0.375)  # 150 of the median 250
    assert verdicts.conv3d_peak(row, {"dtype": "fp32", "peaks_beside": [100.0]}) == PeakShare("bf16", 0.375, 0.5)


def test_the_conv3d_row_is_the_one_in_the_fast_modes_layer_config(recorded):
    summary = recorded()["devices"]["cpu"]
    lv = {"precision": "fp32", "channels_last": True}
    summary["rows"][1]["levers"] = lv
    summary["rows"] += [layer("fp32 · contiguous · eager", median=0.2, levers={"precision": "fp32"}),
                        layer("fp32 · channels_last · eager", median=0.1, levers=lv),
                        {**layer("fp32 · channels_last · eager", levers=lv), "direction": "fwd", "median": 0.05}]
    assert verdicts.conv3d_row(summary) is summary["rows"][3]
    assert verdicts.headline_pair(summary) == tuple(summary["rows"][:2])
    assert verdicts.find(summary, "layer", CONV3D, "fp32 · channels_last · eager", "fwd") is summary["rows"][4]


@pytest.mark.parametrize("speedup, against", [(1.2, "short"), (1.4, "short"), (1.45, "about"), (1.55, "about"), (1.6, "beyond")])
def test_what_holds_a_cpu_run_without_native_bf16_back(recorded, speedup, against):
    """The bound is 1.5x: within 5% of it the speed-up is about the bound."""
    results = recorded(["avx", "avx2", "fma"], False)
    summary = results["devices"]["cpu"]
    fast = summary["rows"][1]
    fast["speedup"] = speedup
    why = verdicts.shortfall("cpu", summary, results["machine"], None, fast)
    assert why.no_native_bf16 and why.bf16_probe is None and why.conv3d_share is None
    assert (why.bound, why.speedup, why.against_bound) == (1.5, speedup, against)
    assert why.worst_stack is None  # on CUDA only


def test_the_bf16_probe_is_compared_with_the_fp32_forward(recorded):
    results = recorded()
    summary = results["devices"]["cpu"]
    summary["rows"] += [{**layer("fp32 · contiguous · eager", median=0.1), "direction": "fwd"},
                        {**layer("bf16 · contiguous · eager", median=4.0), "direction": "fwd",
                         "note": "single run: this CPU has no native bf16"}]
    assert verdicts.bf16_probe_ratio(summary) == pytest.approx(40.0)
    assert verdicts.shortfall("cpu", summary, results["machine"], None, summary["rows"][1]).bf16_probe == \
        pytest.approx(40.0)


@pytest.mark.parametrize("fast_speedup, fastest", [(2.4, "bf16 · channels_last · eager"),
                                                   (1.5, "bf16 · contiguous · eager")])
def test_the_video_critics_share_and_its_fastest_config(fast_speedup, fastest):
    fast_config = "bf16 · channels_last · eager"
    summary = {"peaks_gflops": {"fp32": 100.0, "bf16": 400.0},
               "rows": [layer(fast_config, fast_speedup), layer("bf16 · contiguous · eager", 2.0),
                        layer("fp32 · contiguous · eager", 1.0, baseline=True),
                        layer("bf16 · eager", 9.0, runs=1)]}  # a single run is not compared
    conv3d = dict(summary["rows"][0], median=0.1, peak_fraction=0.3, dtype="bf16")
    why = verdicts.shortfall("cpu", summary, {"native_bf16_cpu": True}, conv3d, {"median": 1.0, "speedup": 2.0})
    assert not why.no_native_bf16 and why.bound is None and why.against_bound is None
    assert why.conv3d_share == pytest.approx(0.3)  # forward+backward three times: 3 × 0.1 s of 1 s
    assert why.conv3d_fastest["config"] == fastest
    assert verdicts.shortfall("cpu", summary, {"native_bf16_cpu": True}, conv3d,
                              {"median": 0.2, "speedup": 2.0}).conv3d_share == 1  # at most all of it


def test_on_cuda_the_stack_furthest_from_its_peak_in_the_fast_config_is_named():
    lv = {"precision": "bf16", "channels_last": True, "compile": False}
    rows = [layer("a", peak_fraction=0.4, levers=lv), layer("b", peak_fraction=0.2, levers=lv),
            layer("c", peak_fraction=0.1, levers={**lv, "channels_last": False})]
    why = verdicts.shortfall("cuda", {"rows": rows}, {"native_bf16_cpu": False}, None, {"levers": lv})
    assert why.worst_stack is rows[1] and not why.no_native_bf16


@pytest.mark.parametrize("flags, present", [
    (["avx", "avx2", "fma"], []), (["avx", "avx2", "avx512_bf16", "fma"], ["avx512_bf16"]),
    (["amx_bf16", "avx512_bf16"], ["avx512_bf16", "amx_bf16"]), ([], None)])
def test_the_recorded_flags_say_whether_the_cpu_has_bf16(flags, present):
    assert verdicts.bf16_flags({"cpu_flags": flags}) == present


def test_the_libraries_are_compared_faster_first(timed):
    from vidgan.bench.summary import summarise
    summary = summarise([
        timed("peak", "matmul 1024×1024", "fp32", "fp32", 4e9, [0.02, 0.03]),  # 200
        timed("peak", "1×1 conv 1024→1024 ch × 1024 px", "fp32", "fp32", 4e9, [0.01, 0.02]),  # 400
        timed("peak", "matmul 1024×1024", "bf16", "bf16", 4e9, [0.005]),  # 800
        timed("peak", "1×1 conv 1024→1024 ch × 1024 px", "bf16", "bf16", 4e9, [0.008]),  # 500
    ])
    assert verdicts.libraries({"devices": {"cpu": summary}}) == [
        Libraries("cpu", "fp32", "1×1 convolutions", 400.0, "matmuls", 200.0),
        Libraries("cpu", "bf16", "matmuls", 800.0, "1×1 convolutions", 500.0)]


def test_fractions_above_the_peak_mean_the_peak_was_under_measured(recorded):
    results = recorded()
    summary = results["devices"]["cpu"]
    summary["peak_sizes"] = {"fp32": "matmul 1024×1024"}
    assert verdicts.above_peak(results) == []
    summary["rows"][0]["peak_fraction"], summary["rows"][1]["peak_fraction"] = 1.1, 1.3
    assert verdicts.above_peak(results) == [AbovePeak("cpu", "fp32", 2, 1.3, 116.0, "matmul 1024×1024")]


def test_the_profiled_convolutions_flops_over_their_time():
    profile = {"dtype": "bf16", "convolution_gflop": 150.0,
               "categories": [{"category": "convolutions", "ms": 500.0}, {"category": "other", "ms": 100.0}]}
    rate = verdicts.convolution_rate(profile, {"bf16": 400.0})
    assert (rate.gflops, rate.share, rate.rest_ms) == pytest.approx((300.0, 0.75, 100.0))
    assert verdicts.convolution_rate(profile, {}).share is None
    assert verdicts.convolution_rate({**profile, "convolution_gflop": 0.0}, {}) is None


def test_the_kernels_limit_splits_into_gemms_and_lowering(profiled):
    profile = profiled()
    assert verdicts.passes_total(profile) == pytest.approx((0.006, 3.6, 0.0048))
    limit = verdicts.kernel_limit(profile, {"bf16": 500.0})
    assert limit.peak == 1000.0 and limit.peak_between  # the GEMMs between the passes, not the rounds'
    assert (limit.gflops, limit.share, limit.iteration_share, limit.gemm_share) == pytest.approx((600, 0.6, 0.6, 0.75))
    older = {k: v for k, v in profile.items() if k != "peak_gflops"}  # a report from before
    assert verdicts.kernel_limit(older, {"bf16": 500.0}).share == pytest.approx(1.2)
    assert verdicts.kernel_limit(older, {}).share is None
    assert verdicts.kernel_limit({**profile, "passes": []}, {}) is None


def test_the_passes_above_the_peak_are_listed(profiled):
    profile = profiled()
    assert verdicts.profile_peak(profile, {"bf16": 500.0}) == 1000.0
    assert verdicts.passes_above_peak(profile, 1000.0) == []
    assert verdicts.passes_above_peak(profile, 500.0) == pytest.approx([1.2, 1.2])  # 600 GFLOP/s each


def test_the_ideal_convolutions_put_the_rest_beside_convolutions_at_the_peak():
    profile = {"dtype": "bf16", "gflop": 200.0, "convolution_gflop": 160.0,
               "categories": [{"category": "convolutions", "ms": 500.0}, {"category": "other", "ms": 100.0}]}
    ideal = verdicts.ideal_convolutions(profile, {"bf16": 800.0})
    # convolutions at 800 GFLOP/s take 200 ms; with 100 ms of the rest, 200 GFLOP in 0.3 s = 667 GFLOP/s
    assert (ideal.at_peak, ideal.rest, ideal.share_at_peak) == pytest.approx((0.2, 0.1, 200 / 0.3 / 800))
    assert ideal.gemms == 0 and ideal.share_at_gemms is None
    assert verdicts.ideal_convolutions(profile, {}) is None
    # with the passes' GEMMs timed alone (2 calls × 0.15 s = 300 ms): 200 GFLOP in 0.4 s = 500 GFLOP/s
    profile["passes"] = [{"calls": 2, "forward": {"seconds": 0.2, "gflop": 80.0, "gemm_seconds": 0.15}}]
    ideal = verdicts.ideal_convolutions(profile, {"bf16": 800.0})
    assert (ideal.gemms, ideal.share_at_gemms) == pytest.approx((0.3, 0.625))


def test_a_profile_slower_than_the_timed_iterations_is_flagged():
    profile = {"categories": [{"category": "convolutions", "ms": 590.0}, {"category": "other", "ms": 107.0}]}
    assert verdicts.slower_profile(profile, {"median": 0.4874}) == pytest.approx(0.697)
    assert verdicts.slower_profile(profile, {"median": 0.65}) is None  # within the timing noise
    assert verdicts.slower_profile({}, {"median": 0.65}) is None


def test_the_headline_profile_is_the_fast_one_of_its_device():
    fast = {"device": "cpu", "recipe": HEADLINE, "config": "fast"}
    results = {"profiles": [{**fast, "config": "reference"}, {**fast, "recipe": "mocogan"}, fast]}
    assert verdicts.fast_profile(results, "cpu") is fast and verdicts.fast_profile(results, "cuda") == {}
