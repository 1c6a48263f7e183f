"""`vidgan bench`: the runner times what the issue lists and writes the report files.

Timing numbers are not asserted (speed is measured by the runner, not by tests); the tests
check that every case ran, the derived numbers are consistent and the files are written.
"""

import json

import pytest
import torch
from PIL import Image

from vidgan.cli import main
from vidgan.training import levers

# The TINY overrides of conftest without the ones the runner sets itself.
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
    peaks = report["devices"]["cpu"]["peaks_gflops"]
    assert peaks["fp32"] > 0 and peaks["bf16"] > 0
    ref, fast = rows(report, "iteration", "mocogan-categorical")
    assert (ref["config"], fast["config"]) == ("reference", "fast")
    assert ref["runs"] == fast["runs"] == 2 and ref["speedup"] == 1.0
    low, high = fast["speedup_range"]  # paired per round
    assert low == pytest.approx(min(r / f for r, f in zip(ref["times"], fast["times"])))
    assert low <= fast["speedup"] <= high
    assert 0 < fast["gflop"] < ref["gflop"]  # reused fakes and skipped weight gradients remove work
    assert fast["gflops_per_s"] == pytest.approx(fast["gflop"] / fast["median"])
    assert not rows(report, "layer")
    with Image.open(tmp_path / "iterations.png") as chart:
        assert chart.width > 500 and chart.height > 60


def test_full_mode_times_every_stack_and_profiles(tmp_path):
    assert bench("--out", tmp_path, "--no-compile", "--rounds", "1", "--min-time", "0.01") == 0
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
            "standard + fused_optim", "standard + channels_last"} <= configs
    if not levers.native_bf16(torch.device("cpu")):
        skipped = [r for r in iterations if r["config"] == "standard + bf16"]
        assert "no native bf16" in skipped[0]["note"] and "median" not in skipped[0]
    text = (tmp_path / "report.md").read_text()
    assert "## Conv stacks" in text and "### Targets on cpu" in text and "## Profiles" in text
    assert len(report["profiles"]) == 6  # reference and fast of three recipes
    for profile in report["profiles"]:
        table = (tmp_path / profile["file"]).read_text()
        assert "Self CPU" in table and profile["top"][0]["op"] in table


def test_bad_options_are_one_line_errors(tmp_path, capsys):
    assert bench("--rounds", "0", "--out", tmp_path) == 2
    assert "--rounds must be at least 1" in capsys.readouterr().err
    if not torch.cuda.is_available():
        main_args = ["bench", "--device", "cuda", "--out", str(tmp_path)]
        with pytest.raises(SystemExit) as exit:
            main(main_args)
        assert exit.value.code == 2
        assert "no CUDA device" in capsys.readouterr().err
