"""Training on video files: raw or prepared, prefetched or not, killed and resumed, the same run;
every step logs its data time."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from cli_runner import vidgan as vidgan_here

from vidgan.prepare import prepare
from vidgan.training import checkpoint
from video_maker import moving_frames, write_video

pytest.importorskip("av")

SMALL = ["recipe=mocogan-categorical", "data.image_size=32", "data.video_length=13", "data.every_nth=2",
         "generator.ngf=8", "generator.dim_z_category=2", "discriminators.image.ndf=8",
         "discriminators.video.ndf=8", "discriminators.image.batch=4", "discriminators.video.batch=2",
         "train.num_samples=4", "train.sample_every=1000", "device=cpu"]


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    """Four libx264 and mpeg4 files in two class folders, and the same prepared at 32×32."""
    root = tmp_path_factory.mktemp("videos")
    for i in range(4):
        write_video(root / "raw" / f"class{i % 2}" / f"v{i}.mp4", moving_frames(40, 48, 64, seed=i),
                    "libx264" if i % 2 else "mpeg4", gop=10)
    prepare(root / "raw", root / "prepared", size=32, workers=1)
    return root


def vidgan(*args):
    return [sys.executable, "-m", "vidgan", *map(str, args)]


def records(run_dir):
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def losses(run_dir):
    return [{k: v for k, v in row.items() if k not in ("time", "data_time")} for row in records(run_dir)]


def train(run_dir, root, *extra):
    assert vidgan_here("run", f"run_dir={run_dir}", f"data.root={root}", *SMALL, *extra) == 0
    return run_dir


@pytest.fixture(scope="module")
def straight(videos, tmp_path_factory):
    return train(tmp_path_factory.mktemp("straight") / "run", videos / "raw", "train.steps=8")


def test_raw_and_prepared_files_prefetched_or_not_give_the_same_run(videos, straight, tmp_path):
    prepared = train(tmp_path / "prepared", videos / "prepared", "train.steps=8", "train.prefetch=2")
    plain = train(tmp_path / "plain", videos / "raw", "train.steps=8", "train.prefetch=0")
    assert [r["step"] for r in losses(straight)] == list(range(1, 9))
    assert losses(prepared) == losses(straight) == losses(plain)
    for run_dir in (straight, prepared, plain):  # the wait for data is part of its step's wall time
        rows = records(run_dir)
        ends = [0.0] + [r["time"] for r in rows]
        assert all(r["data_time"] <= end - start + 2e-3 for r, start, end in zip(rows, ends, ends[1:]))
    assert all(r["data_time"] > 0 for r in records(plain))  # without prefetching each step decodes its clips
    a, b = checkpoint.load(straight), checkpoint.load(prepared)
    for key, value in a["generator"].items():
        assert torch.equal(value, b["generator"][key]), key
    assert "data time per iteration" in (straight / "report.html").read_text()


def test_kill_9_and_resume_on_raw_video_files_repeats_the_run(videos, straight, tmp_path):
    killed = tmp_path / "killed"
    proc = subprocess.Popen(vidgan("run", f"run_dir={killed}", f"data.root={videos / 'raw'}", *SMALL,
                                   "train.steps=8", "train.checkpoint_every=1", "train.prefetch=2"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})  # one thread, as the tests' runs
    log, deadline = killed / "metrics.jsonl", time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if log.is_file() and log.read_text().count("\n") >= 4:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.005)
    assert proc.wait(timeout=60) == -signal.SIGKILL, "the run ended before step 4"
    assert vidgan_here("run", f"train.resume={killed}") == 0
    assert losses(killed) == losses(straight)
