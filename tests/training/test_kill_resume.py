"""A run killed with SIGKILL at a random step and resumed repeats the uninterrupted run exactly."""

import json
import random
import signal
import subprocess
import sys
import time

import pytest
import torch

from vidgan.training import checkpoint

from tiny import TINY

STEPS = 12
ARGS = ["recipe=mocogan-categorical", f"train.steps={STEPS}", "train.checkpoint_every=1",
        "train.sample_every=1000", *TINY]


def vidgan(*args):
    return [sys.executable, "-m", "vidgan", *map(str, args)]


def losses(run_dir):
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in row.items() if k not in ("time", "data_time")} for row in rows]


def start_and_stop(run_dir, at_step, how, *extra):
    """Start a run and send it ``how`` once its log reaches ``at_step``."""
    proc = subprocess.Popen(vidgan("run", f"run_dir={run_dir}", *ARGS, *extra),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    log = run_dir / "metrics.jsonl"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if log.is_file() and log.read_text().count("\n") >= at_step:
            proc.send_signal(how)
            break
        time.sleep(0.005)
    _, err = proc.communicate(timeout=300)
    return proc.returncode, err


def assert_same_run(a, b):
    assert losses(a) == losses(b)
    x, y = checkpoint.load(a), checkpoint.load(b)
    assert x["step"] == y["step"] == STEPS
    for part in ("generator", "discriminators"):
        flat_x = x[part] if part == "generator" else {f"{n}.{k}": v for n, s in x[part].items() for k, v in s.items()}
        flat_y = y[part] if part == "generator" else {f"{n}.{k}": v for n, s in y[part].items() for k, v in s.items()}
        assert flat_x.keys() == flat_y.keys()
        for key in flat_x:
            assert torch.equal(flat_x[key], flat_y[key]), key


@pytest.mark.parametrize("extra, seed", [([], 0), (["train.prefetch=2"], 1)], ids=["plain", "prefetch"])
def test_sigkill_then_resume_is_identical(tmp_path, straight_run, extra, seed):
    """Also with real batches prefetched in a thread: the same run as the plain straight one.
    The kill step is a seeded draw, printed (pytest shows it with a failure)."""
    killed = tmp_path / "killed"
    kill_at = random.Random(seed).randint(3, STEPS - 3)
    print(f"killed once the log reaches step {kill_at}")
    code, _ = start_and_stop(killed, kill_at, signal.SIGKILL, *extra)
    assert code == -signal.SIGKILL, f"the run ended before step {kill_at}"
    assert checkpoint.list_checkpoints(killed), f"no checkpoint before the kill at step {kill_at}"
    subprocess.run(vidgan("run", f"train.resume={killed}"), check=True, capture_output=True)
    assert_same_run(straight_run, killed)


@pytest.fixture(scope="module")
def straight_run(tmp_path_factory):
    straight = tmp_path_factory.mktemp("straight") / "run"
    subprocess.run(vidgan("run", f"run_dir={straight}", *ARGS), check=True, capture_output=True)
    return straight


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT])
def test_stop_signal_writes_a_checkpoint_and_resume_is_identical(tmp_path, straight_run, how):
    stopped = tmp_path / "stopped"
    code, err = start_and_stop(stopped, 5, how, "train.checkpoint_every=1000")
    assert code == 128 + how
    assert "train.resume=" in err
    step = checkpoint.load(stopped)["step"]
    assert 5 <= step < STEPS and losses(stopped)[-1]["step"] == step
    subprocess.run(vidgan("run", f"train.resume={stopped}"), check=True, capture_output=True)
    assert_same_run(straight_run, stopped)
