"""Checkpoint files: atomic writes, pruning, corrupt-file fallback, clear mismatch errors."""

import errno
import logging

import pytest
import torch
from torch import nn

from vidgan.errors import VidganError
from vidgan.training import checkpoint


def save_steps(run_dir, steps, keep=0):
    for step in steps:
        checkpoint.save({"step": step, "w": torch.full((3,), float(step))},
                        checkpoint.checkpoint_path(run_dir, step), keep=keep)


def test_save_keeps_newest_and_leaves_no_temporary_files(tmp_path):
    save_steps(tmp_path, [1, 2, 10, 3], keep=2)
    assert [p.name for p in checkpoint.list_checkpoints(tmp_path)] == ["step-0000003.pt", "step-0000010.pt"]
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["step-0000003.pt",
                                                                           "step-0000010.pt"]
    assert checkpoint.load(tmp_path)["step"] == 10


def test_truncated_newest_checkpoint_falls_back_to_previous(tmp_path, caplog):
    save_steps(tmp_path, [1, 2])
    newest = checkpoint.checkpoint_path(tmp_path, 2)
    newest.write_bytes(newest.read_bytes()[:50])
    with caplog.at_level(logging.WARNING, logger="vidgan"):
        assert checkpoint.load(tmp_path)["step"] == 1
    assert "step-0000002.pt" in caplog.text and "previous" in caplog.text


def test_all_corrupt_is_an_error(tmp_path):
    save_steps(tmp_path, [1])
    checkpoint.checkpoint_path(tmp_path, 1).write_bytes(b"not a checkpoint")
    with pytest.raises(VidganError, match="no readable checkpoint"):
        checkpoint.load(tmp_path)
    with pytest.raises(VidganError, match="cannot read checkpoint"):
        checkpoint.load(checkpoint.checkpoint_path(tmp_path, 1))


def test_load_refuses_arbitrary_pickles(tmp_path):
    path = tmp_path / "module.pt"
    torch.save(nn.Linear(2, 2), path)  # a whole pickled module, not plain state
    with pytest.raises(VidganError, match="cannot read checkpoint"):
        checkpoint.load(path)


def test_missing_paths(tmp_path):
    with pytest.raises(VidganError, match="does not exist"):
        checkpoint.load(tmp_path / "nope.pt")
    with pytest.raises(VidganError, match="no checkpoints"):
        checkpoint.load(tmp_path)


def test_full_disk_keeps_earlier_checkpoints(tmp_path, monkeypatch):
    save_steps(tmp_path, [1])
    before = checkpoint.checkpoint_path(tmp_path, 1).read_bytes()

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(checkpoint.torch, "save", full)
    with pytest.raises(VidganError, match="No space left on device.*step-0000001.pt is kept"):
        save_steps(tmp_path, [2], keep=1)
    assert checkpoint.checkpoint_path(tmp_path, 1).read_bytes() == before
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["step-0000001.pt"]


def test_load_weights_names_every_mismatched_layer():
    small, big = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1)), nn.Sequential(nn.Linear(2, 4), nn.Linear(4, 1))
    with pytest.raises(VidganError) as err:
        checkpoint.load_weights(small, big.state_dict(), "generator")
    message = str(err.value)
    assert "generator" in message and "0.weight (4, 2) vs (3, 2)" in message and "1.weight (1, 4) vs (1, 3)" in message
    assert "\n" not in message
    extra = {**small.state_dict(), "2.weight": torch.zeros(1)}
    with pytest.raises(VidganError, match="2.weight unexpected"):
        checkpoint.load_weights(small, extra, "generator")
