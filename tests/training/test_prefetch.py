"""Real batches prefetched in a thread: the same run as without, exact resume, no thread left."""

import json
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest
import torch

from vidgan.config import load_config
from vidgan.errors import VidganError
from vidgan.training import checkpoint
from vidgan.training.prefetch import THREAD_NAME, Prefetcher
from vidgan.training.trainer import Trainer, run

from tiny import TINY

ARGS = ["recipe=mocogan-categorical", "train.sample_every=1000", *TINY]


def losses(run_dir):
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in row.items() if k not in ("time", "data_time")} for row in rows]


def prefetch_threads():
    return [t for t in threading.enumerate() if t.name == THREAD_NAME]


def trainer(run_dir, *overrides):
    return Trainer(load_config([*ARGS, f"run_dir={run_dir}", *overrides]))


def spy_on_prefetching(t):
    """Record, for every step, whether its batches came from a live prefetch thread."""
    seen = []
    real_batches = t.real_batches

    def spy():
        seen.append(t.real.prefetcher is not None and len(prefetch_threads()) == 1)
        return real_batches()

    t.real_batches = spy
    return seen


def test_prefetching_gives_the_same_losses_and_data_stream(tmp_path):
    plain, ahead = trainer(tmp_path / "plain", "train.steps=4"), trainer(tmp_path / "ahead", "train.steps=4",
                                                                         "train.prefetch=2")
    assert (plain.levers.prefetch, ahead.levers.prefetch) == (0, 2)
    seen_plain, seen_ahead = spy_on_prefetching(plain), spy_on_prefetching(ahead)
    plain.fit()
    ahead.fit()
    assert seen_plain == [False] * 4 and seen_ahead == [True] * 4
    assert [r["step"] for r in losses(plain.run_dir)] == [1, 2, 3, 4]
    assert losses(ahead.run_dir) == losses(plain.run_dir)
    # the checkpoint holds the data stream after the consumed batches, not the prefetched ones
    a, b = checkpoint.load(plain.run_dir), checkpoint.load(ahead.run_dir)
    assert torch.equal(a["rng"][0]["data"], b["rng"][0]["data"])
    assert torch.equal(ahead.data_rng.get_state(), plain.data_rng.get_state())
    assert not prefetch_threads()


def test_resume_from_a_mid_run_checkpoint_with_prefetching_repeats_the_run(tmp_path):
    straight = trainer(tmp_path / "straight", "train.steps=6", "train.checkpoint_every=3",
                       "train.keep_checkpoints=0", "train.prefetch=2")
    straight.fit()
    resumed = tmp_path / "resumed"
    shutil.copytree(straight.run_dir, resumed)
    checkpoint.checkpoint_path(resumed, 6).unlink()  # as if killed after the step-3 checkpoint
    assert checkpoint.load(resumed)["step"] == 3
    again = run(load_config([f"train.resume={resumed}"]))
    assert again.levers.prefetch == 2
    assert losses(resumed) == losses(straight.run_dir) and len(losses(resumed)) == 6
    a, b = checkpoint.load(straight.run_dir), checkpoint.load(resumed)
    for key, value in a["generator"].items():
        assert torch.equal(value, b["generator"][key]), key
    assert torch.equal(a["rng"][0]["data"], b["rng"][0]["data"])


def test_a_stop_signal_ends_the_thread_and_checkpoints_the_consumed_stream(tmp_path):
    t = trainer(tmp_path / "run", "train.steps=50", "train.prefetch=3")
    train_step = t.train_step

    def step():
        out = train_step()
        if t.step == 2:
            t._on_signal(signal.SIGTERM, None)
        return out

    t.train_step = step
    t.fit()
    assert t.stopped_by == signal.SIGTERM and t.step == 2 and not prefetch_threads()
    plain = trainer(tmp_path / "plain", "train.steps=2")
    plain.fit()
    assert torch.equal(checkpoint.load(t.run_dir)["rng"][0]["data"], checkpoint.load(plain.run_dir)["rng"][0]["data"])


def test_an_error_in_the_step_ends_the_thread(tmp_path):
    t = trainer(tmp_path / "run", "train.steps=50", "train.prefetch=2")

    def step():
        t.real_batches()
        raise RuntimeError("boom")

    t.train_step = step
    with pytest.raises(RuntimeError, match="boom"):
        t.fit()
    assert not prefetch_threads()


def test_an_error_while_drawing_reaches_the_step_that_needs_the_batch(tmp_path):
    t = trainer(tmp_path / "run", "train.steps=50", "train.prefetch=2")
    frames, calls = t.dataset.frames, []

    def failing(index, frame_indices):
        calls.append(index)
        if len(calls) > 2 * 6:  # the first two steps' 4 frames + 2 clips each are fine
            raise VidganError("the disk went away")
        return frames(index, frame_indices)

    t.dataset.frames = failing
    with pytest.raises(VidganError, match="the disk went away"):
        t.fit()
    assert t.step == 2 and not prefetch_threads()
    assert [r["step"] for r in losses(t.run_dir)] == [1, 2]


def test_close_wakes_a_thread_blocked_on_a_full_queue():
    p = Prefetcher(lambda g: torch.rand(1, generator=g), torch.Generator().get_state(), depth=1)
    deadline = time.monotonic() + 60  # a guard against hanging, not a speed limit
    while not p._queue.full():  # then the thread waits to put its next draw
        assert time.monotonic() < deadline and p._thread.is_alive(), "the thread never filled its queue"
        time.sleep(0.001)
    p.close()
    assert not p._thread.is_alive()


def test_the_thread_draws_on_one_intra_op_thread_and_leaves_the_others_counts():
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        def draw(g):  # asked once the constructor has returned, as in a run
            time.sleep(0.05)
            return torch.get_num_threads()

        with Prefetcher(draw, torch.Generator().get_state(), depth=1) as p:
            assert p.get()[0] == 1
            assert torch.get_num_threads() == 2
            started = []
            other = threading.Thread(target=lambda: started.append(torch.get_num_threads()))
            other.start()
            other.join()
            assert started == [2]  # a thread started later gets the process's count, not the drawer's
    finally:
        torch.set_num_threads(threads)


def test_a_negative_prefetch_is_a_config_error():
    with pytest.raises(VidganError, match="train.prefetch must be 0 .off. or a number of steps ahead, got -1"):
        load_config([*ARGS, "train.prefetch=-1"])


def test_two_processes_prefetch_their_own_shards(tmp_path):
    """torchrun, 2 CPU processes: prefetching gives the run folder of the plain run."""
    folders = {}
    for prefetch in (0, 2):
        folders[prefetch] = tmp_path / f"prefetch-{prefetch}"
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                   "-m", "vidgan", "run", f"run_dir={folders[prefetch]}", "train.steps=3",
                   f"train.prefetch={prefetch}", *ARGS]
        result = subprocess.run(command, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr[-3000:]
    assert losses(folders[2]) == losses(folders[0]) and len(losses(folders[0])) == 3
    a, b = checkpoint.load(folders[0]), checkpoint.load(folders[2])
    for rank in range(2):
        assert torch.equal(a["rng"][rank]["data"], b["rng"][rank]["data"])
