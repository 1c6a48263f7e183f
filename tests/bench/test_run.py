"""`vidgan bench` runs every case, writes the report files and keeps its options.

Timing numbers are not asserted (speed is measured by the bench, not by tests); the tests
check that every case ran, the derived numbers are consistent and the files are written.
"""

import json
import statistics
import subprocess
import sys

import pytest
import torch
from PIL import Image

from vidgan.bench import Options, command, sentences
from vidgan.bench.profile import CATEGORIES
from vidgan.bench.run import devices
from vidgan.bench.verdicts import PASSES
from vidgan.cli import main
from vidgan import accel

# The TINY overrides of conftest without the ones the bench sets itself.
SMALL = ["data.image_size=32", "data.video_length=13", "data.every_nth=1", "data.options.num_videos=16",
         "generator.ngf=8", "discriminators.image.ndf=8", "discriminators.video.ndf=8",
         "discriminators.image.batch=4", "discriminators.video.batch=2"]


@pytest.fixture(autouse=True)
def restore_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def bench(*args):
    try:
        main(["bench", "--device", "cpu", "--threads", "1", *map(str, args), *SMALL])
    except SystemExit as exit:
        return exit.code
    return 0


def rows(report, group, name=None):
    return [r for r in report["devices"]["cpu"]["rows"]
            if r["group"] == group and name in (None, r["name"])]


def test_quick_mode_prints_the_speedup_and_writes_the_report(tmp_path, capsys):
    assert bench("--quick", "--out", tmp_path) == 0
    line = [s for s in capsys.readouterr().err.splitlines() if "full iteration on cpu" in s]
    assert line and "reference" in line[0] and "x faster" in line[0]
    assert line[0] in (tmp_path / "report.md").read_text()
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["mode"] == "quick" and report["machine"]["torch"] == torch.__version__
    assert report["machine"]["threads"] == 1 and len(report["load_average_start"]) == 3
    summary = report["devices"]["cpu"]
    peaks = summary["peaks_gflops"]
    assert peaks["fp32"] > 0 and peaks["bf16"] > 0
    for dtype in ("fp32", "bf16"):  # three sizes each as matmuls and 1×1 convs, timed in both rounds; the peak is the best
        timed = [r for r in rows(report, "peak") if r["config"] == dtype]
        assert len(timed) == 6 and all(r["runs"] >= 2 for r in timed)
        matmuls, convs = timed[0::2], timed[1::2]
        assert all(m["name"].startswith("matmul") and c["name"].startswith("1×1 conv") for m, c in zip(matmuls, convs))
        assert [m["gflop"] for m in matmuls] == pytest.approx([c["gflop"] for c in convs])  # the same GEMM sizes
        assert peaks[dtype] == max(r["best_gflops_per_s"] for r in timed)
        assert [r["name"] for r in timed if r["gives_peak"]] == [summary["peak_sizes"][dtype]]
    ref, ref_alone, fast, fast_alone = rows(report, "iteration", "mocogan-categorical")
    assert [r["config"] for r in (ref, ref_alone, fast, fast_alone)] == [
        "reference", "reference, data precomputed", "fast", "fast, data precomputed"]
    assert [r["precomputed"] for r in (ref, ref_alone, fast, fast_alone)] == [False, True, False, True]
    assert ref_alone["data_median"] == fast_alone["data_median"] == 0
    assert ref_alone["gflop"] == ref["gflop"] and fast_alone["gflop"] == fast["gflop"]
    assert ref_alone["speedup"] == 1.0  # the precomputed rows are compared with each other
    assert fast_alone["speedup"] == pytest.approx(
        statistics.median(r / f for r, f in zip(ref_alone["times"], fast_alone["times"])))
    # each run next to its dtype's GEMMs run right before it; the bound at the medians of those peaks
    assert len(ref["peaks_beside"]) == len(fast["peaks_beside"]) == 2
    sustained = summary["sustained_peaks_gflops"]
    assert sustained["fp32"] == pytest.approx(statistics.median(
        p for r in rows(report, "iteration") if r["dtype"] == "fp32" for p in r["peaks_beside"]))
    bound = (ref["gflop"] / sustained["fp32"]) / (fast["gflop"] / sustained[fast["dtype"]])
    assert fast["bound_speedup"] == pytest.approx(bound) and ref["bound_speedup"] == pytest.approx(1.0)
    assert fast["bound_reached"] == pytest.approx(fast["speedup"] / bound)
    assert ref["runs"] == fast["runs"] == 2 and ref["speedup"] == 1.0
    ratios = [r / f for r, f in zip(ref["times"], fast["times"])]  # paired per round
    assert fast["speedup"] == pytest.approx(statistics.median(ratios))
    assert fast["speedup_range"] == pytest.approx([min(ratios), max(ratios)])
    assert 0 < fast["gflop"] < ref["gflop"]  # reused fakes and skipped weight gradients remove work
    assert fast["gflops_per_s"] == pytest.approx(fast["gflop"] / fast["median"])
    # the wait for real batches: drawn in the reference's step, prefetched for the fast one
    assert fast["levers"]["prefetch"] == 2 and ref["levers"]["prefetch"] == 0
    assert len(ref["data_times"]) == len(fast["data_times"]) == 2
    assert 0 < ref["data_median"] < ref["median"] and 0 <= fast["data_median"] < fast["median"]
    text = (tmp_path / "report.md").read_text()
    assert "| time / iteration | data |" in text and "| reference, data precomputed |" in text
    assert "## Roofline" in text and "| cpu | mocogan-categorical | fast, data precomputed |" in text
    assert not rows(report, "layer")
    with Image.open(tmp_path / "iterations.png") as chart:
        assert chart.width > 500 and chart.height > 60


def test_full_mode_times_every_stack_and_profiles(tmp_path, capfd):
    assert bench("--out", tmp_path, "--no-compile", "--rounds", "1", "--min-time", "0.01") == 0
    err = capfd.readouterr().err
    assert "USDT" not in err and "ERROR" not in err and "gpuGetDeviceCount" not in err  # profiler noise
    report = json.loads((tmp_path / "report.json").read_text())
    layers = rows(report, "layer")
    kinds = {r["name"].split(":")[0] for r in layers}
    assert kinds == {"generator ConvTranspose2d", "image D Conv2d", "video D Conv3d"}
    stacks = {r["name"] for r in layers}
    assert len(stacks) == 7  # decoder at two batches, image + patch-image, three video Ds
    for stack in stacks:
        for direction in ("fwd", "fwd+bwd"):
            timed = [r for r in layers if r["name"] == stack and r["direction"] == direction]
            base = [r for r in timed if r["config"] == "fp32 · contiguous · eager"]
            assert len(base) == 1 and base[0]["speedup"] == 1.0 and base[0]["gflop"] > 0
            assert any(r["config"] == "fp32 · channels_last · eager" for r in timed)
    iterations = rows(report, "iteration")
    assert {r["name"] for r in iterations} == {"mocogan-categorical", "mocogan", "mocogan-patch"}
    configs = {r["config"] for r in iterations if r["name"] == "mocogan-categorical"}
    assert {"reference", "standard", "fast", "standard + reuse_fakes", "standard + skip_critic_grads",
            "standard + fused_optim", "standard + channels_last", "standard + fuse_critic_batches",
            "fast, data precomputed"} <= configs
    for i, row in enumerate(iterations):  # every config, then itself with its data precomputed
        if row["precomputed"]:
            assert row["config"] == iterations[i - 1]["config"] + ", data precomputed"
            assert row["data_median"] == 0 and row["gflop"] == iterations[i - 1]["gflop"]
    assert sum(r["precomputed"] for r in iterations) == sum(not r["precomputed"] for r in iterations) - (
        not accel.native_bf16(torch.device("cpu")))  # the skipped bf16 iteration has no twin
    if not accel.native_bf16(torch.device("cpu")):
        skipped = [r for r in iterations if r["config"] == "standard + bf16"]
        assert "no native bf16" in skipped[0]["note"] and "median" not in skipped[0]
    text = (tmp_path / "report.md").read_text()
    assert "## Conv stacks" in text and "### Targets on cpu" in text and "## Profiles" in text
    assert len(report["profiles"]) == 6  # reference and fast of three recipes
    assert "| category | time | share |" in text
    for profile in report["profiles"]:
        table = (tmp_path / profile["file"]).read_text()
        assert "Self CPU" in table and profile["top"][0]["op"] in table
        spent = {c["category"]: c["ms"] for c in profile["categories"]}
        assert tuple(spent) == CATEGORIES
        assert sum(c["share"] for c in profile["categories"]) == pytest.approx(1.0)
        for category in ("convolutions", "batch norm and activations", "motion GRU and samplers", "losses",
                         "optimiser steps", "data"):
            assert spent[category] > 0, (profile["config"], category)
        iteration = next(r for r in iterations if r["name"] == profile["recipe"] and r["config"] == profile["config"])
        assert 0.9 * iteration["gflop"] < profile["convolution_gflop"] < iteration["gflop"]  # nearly all FLOPs
        # each convolution pass timed alone: together exactly the iteration's convolution FLOPs
        passes = [(r["calls"], r[name]) for r in profile["passes"] for name in PASSES if name in r]
        assert sum(calls * p["gflop"] for calls, p in passes) == pytest.approx(profile["convolution_gflop"])
        assert all(p["seconds"] > 0 for _, p in passes)
        assert all("forward" in r and ("backward" in r) == bool(r["gradients"]) for r in profile["passes"])
        if profile["config"] == "fast":  # no gradient to real frames; none to the critics' weights in the G step
            assert {"weight", "input", "input and weight"} <= {r["gradients"] for r in profile["passes"]}
        peaks = report["devices"]["cpu"]["peaks_gflops"]
        assert sentences.convolution_line(profile, peaks) in text and sentences.passes_line(profile, peaks) in text
    assert "| convolution | input | calls | forward | backward | gradients |" in text


def test_bad_options_are_one_line_errors(tmp_path, capsys):
    assert bench("--rounds", "0", "--out", tmp_path) == 2
    assert "--rounds must be at least 1" in capsys.readouterr().err
    if not torch.cuda.is_available():
        main_args = ["bench", "--device", "cuda", "--out", str(tmp_path)]
        with pytest.raises(SystemExit) as exit:
            main(main_args)
        assert exit.value.code == 2
        assert "no CUDA device" in capsys.readouterr().err


def test_the_command_line_gives_the_options():
    assert command(Options()) == "vidgan bench"
    assert command(Options(quick=True, device="cpu", threads=2, compile=False, min_time=0.1, rounds=5,
                           overrides=("data.image_size=32",))) == \
        "vidgan bench --quick --device cpu --threads 2 --no-compile --min-time 0.1 --rounds 5 data.image_size=32"
    assert devices("cpu") == [torch.device("cpu")]
    assert devices("all")[0] == torch.device("cpu") and len(devices("all")) == 1 + torch.cuda.is_available()


def test_importing_the_bench_prints_nothing():
    result = subprocess.run([sys.executable, "-c", "import vidgan.bench.run"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stderr == "" and result.stdout == "", result.stderr
