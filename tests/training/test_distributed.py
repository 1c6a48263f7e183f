"""Two CPU processes with gloo under torchrun: in sync, one run folder, exact resume."""

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from cli_runner import vidgan as vidgan_in_process

from vidgan.data.shapes import SyntheticShapes
from vidgan.errors import VidganError
from vidgan.config import load_config
from vidgan.training import checkpoint
from vidgan.training.distributed import shard
from vidgan.training.trainer import Trainer

from tiny import TINY

WORKER = Path(__file__).with_name("ddp_worker.py")


def torchrun(*args):
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
               *map(str, args)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def losses(run_dir):
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in row.items() if k not in ("time", "data_time")} for row in rows]


def test_two_processes_stay_in_sync_and_catch_divergence(tmp_path):
    out = torchrun(WORKER, tmp_path / "run", *TINY).stdout
    assert "world=2 same=True caught=True shard=8" in out, out


def test_torchrun_vidgan_run_writes_one_run_folder_and_resumes_exactly(tmp_path, caplog):
    args = ["recipe=mocogan-categorical", "train.checkpoint_every=1", *TINY]
    straight, split = tmp_path / "straight", tmp_path / "split"
    torchrun("-m", "vidgan", "run", "train.steps=4", f"run_dir={straight}", *args)
    torchrun("-m", "vidgan", "run", "train.steps=2", f"run_dir={split}", *args)
    torchrun("-m", "vidgan", "run", f"train.resume={split}", "train.steps=4")
    assert [r["step"] for r in losses(straight)] == [1, 2, 3, 4]
    assert losses(split) == losses(straight)
    a, b = checkpoint.load(straight), checkpoint.load(split)
    assert len(a["rng"]) == 2  # one random state per process
    assert not torch.equal(a["rng"][0]["latent"], a["rng"][1]["latent"])  # per-process latents
    for key, value in a["generator"].items():
        assert torch.equal(value, b["generator"][key]), key
    # one process continues the two processes' run: it warns that the random streams restart
    caplog.set_level(logging.WARNING)
    assert vidgan_in_process("run", f"train.resume={straight}", "train.steps=5") == 0
    assert "the checkpoint was written by 2 processes, this run has 1: random streams restart" in caplog.text
    assert [r["step"] for r in losses(straight)] == [1, 2, 3, 4, 5]


def test_shard_splits_videos_like_distributed_sampler():
    data = SyntheticShapes(num_videos=10, image_size=16, min_frames=4, num_frames=4)
    shards = [shard(data, rank, 3) for rank in range(3)]
    assert [len(s) for s in shards] == [4, 3, 3]
    assert [s.label(1) for s in shards] == [data.label(3), data.label(4), data.label(5)]
    assert torch.equal(shards[2].frames(2, [0, 3]), data.frames(8, [0, 3]))
    with pytest.raises(VidganError, match="fewer than the 12 processes"):
        shard(data, 0, 12)


def test_sync_batchnorm_needs_cuda(tmp_path):
    if torch.cuda.is_available():
        pytest.skip("CUDA is present: SyncBatchNorm is allowed")
    cfg = load_config(["recipe=mocogan", "train.sync_batchnorm=true", f"run_dir={tmp_path}", *TINY])
    with pytest.raises(VidganError, match="needs CUDA"):
        Trainer(cfg)


def test_a_finished_or_failed_run_leaves_the_process_group(tmp_path, monkeypatch):
    """A process that exits with the group open can abort in gloo's destructors, so
    `run` leaves it whether training ends or raises."""
    import torch.distributed as dist
    from vidgan.training import trainer as trainer_module

    for env, value in {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "29517", "RANK": "0", "WORLD_SIZE": "1"}.items():
        monkeypatch.setenv(env, value)

    def fit(self, resume=False):
        dist.init_process_group("gloo")
        assert dist.is_initialized()
        raise VidganError("stopped")

    monkeypatch.setattr(trainer_module.Trainer, "fit", fit)
    with pytest.raises(VidganError, match="stopped"):
        trainer_module.run(load_config(["recipe=mocogan", *TINY, f"run_dir={tmp_path / 'run'}"]))
    assert not dist.is_initialized()
