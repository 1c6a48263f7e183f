"""Bad input: a one-line message that says what to fix, and no earlier checkpoint lost.

Every case runs against a copy of a finished one-step run on frame strips (its
checkpoint and log): it resumes that run with the bad input, or writes into it, and
checks, besides the message, that the copy's checkpoints are byte for byte intact; a
case that fails leaves every file of the copy as it was.
"""

import errno
import hashlib
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from cli_runner import vidgan
from PIL import Image
from tiny import TINY

from vidgan.losses.adversarial import NonSaturatingBCE
from vidgan.training import checkpoint


def strip(path, frames, size=32, seed=0):
    """A horizontal frame strip of ``frames`` random frames."""
    pixels = np.random.default_rng(seed).integers(0, 255, (size, size * frames, 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)


def strips_folder(root, frames=(16, 16, 16, 16)):
    for i, n in enumerate(frames):
        strip(root / str(i % 2) / f"{i}.png", n, seed=i)
    return root


STRIPS = ["recipe=mocogan", "train.steps=2", *TINY[:3], *TINY[4:]]  # TINY without synthetic-only keys


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """One step of recipe=mocogan on a folder of frame strips (so resumes may read other strips)."""
    folder = tmp_path_factory.mktemp("finished")
    root = strips_folder(folder / "data")
    assert vidgan("run", *STRIPS, "train.steps=1", f"data.root={root}", f"run_dir={folder / 'run'}") == 0
    return folder / "run"


@pytest.fixture
def run(finished_run, tmp_path):
    """A private copy of the finished run; the test checks its checkpoints survive."""
    copy = shutil.copytree(finished_run, tmp_path / "run")
    before = {p.name: p.read_bytes() for p in checkpoint.list_checkpoints(copy)}
    yield copy
    after = {p.name: p.read_bytes() for p in checkpoint.list_checkpoints(copy)}
    assert all(after.get(name) == data for name, data in before.items()), "an earlier checkpoint changed"


def snapshot(folder):
    """Every file under ``folder`` and its SHA-256."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def fails(capsys, message, run, *args, before_training=True):
    """``vidgan ARGS`` fails with one ``error:`` line holding ``message``; an error found before
    training changes no file of ``run`` (one found while training logs the steps it took)."""
    before = snapshot(run)
    assert vidgan(*args) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0], errors
    if before_training:
        assert snapshot(run) == before


def test_missing_data_folder(run, tmp_path, capsys):
    fails(capsys, "does not exist", run, "run", f"train.resume={run}", f"data.root={tmp_path / 'nope'}")


def test_empty_class_folders(run, tmp_path, capsys):
    (tmp_path / "data" / "walk").mkdir(parents=True)
    fails(capsys, "no readable", run, "run", f"train.resume={run}", f"data.root={tmp_path / 'data'}")


def test_strips_too_short_for_the_clip(run, tmp_path, capsys):
    root = strips_folder(tmp_path / "data", frames=(5, 6))
    fails(capsys, "shorter than 13 frames", run, "run", f"train.resume={run}", f"data.root={root}")


def test_corrupt_png_is_skipped_with_a_warning(run, tmp_path, caplog):
    root = strips_folder(tmp_path / "data", frames=(16,))
    good = (root / "0" / "0.png").read_bytes()
    (root / "0" / "broken.png").write_bytes(good[:100] + b"\0" * 200)  # header intact, data not
    assert vidgan("run", f"train.resume={run}", "train.steps=3", f"data.root={root}") == 0
    assert "broken.png" in caplog.text and "skipping it" in caplog.text
    assert checkpoint.load(run)["step"] == 3


def test_non_image_file_is_ignored(run, tmp_path, capsys):
    root = strips_folder(tmp_path / "data", frames=(16, 16))
    (root / "0" / "notes.txt").write_text("not a video")
    assert vidgan("run", f"train.resume={run}", "train.steps=2", f"data.root={root}") == 0
    assert checkpoint.load(run)["step"] == 2


@pytest.mark.parametrize("override, message", [
    ("train.stepz=3", "unknown config key 'train.stepz'; did you mean 'train.steps'?"),
    ("train.steps=three", "'train.steps'"),
    ("discriminators.video.name=patch-vidoe", "did you mean 'patch-video'"),
    ("generator.ngf=wide", "generator.ngf must be int"),
])
def test_config_errors_before_training(run, capsys, override, message):
    fails(capsys, message, run, "run", f"train.resume={run}", override)


def test_broken_plugin_is_named_and_the_rest_works(run, tmp_path):
    site = tmp_path / "site"
    info = site / "broken_video_d-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-video-d\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[vidgan.discriminators]\nbroken-d = broken_video_d:D\n")
    (site / "broken_video_d.py").write_text("raise ImportError('needs a library that is not installed')\n")
    env = {**os.environ, "PYTHONPATH": str(site)}
    before = snapshot(run)
    bad = subprocess.run([sys.executable, "-m", "vidgan", "run", f"train.resume={run}",
                          "discriminators.video.name=broken-d"], env=env, capture_output=True, text=True)
    assert bad.returncode == 2 and snapshot(run) == before
    assert "discriminator 'broken-d' failed to load: broken-video-d 0.1: ImportError: needs a library" in bad.stderr
    listing = subprocess.run([sys.executable, "-m", "vidgan", "list", "discriminators"],
                             env=env, capture_output=True, text=True, check=True)
    assert "patch-video" in listing.stdout and "broken-d" in listing.stdout + listing.stderr


def test_checkpoint_of_another_recipe_names_layers(run, capsys):
    fails(capsys, "does not fit this config", run, "run", f"train.resume={run}", "generator.dim_z_category=6",
          "discriminators.video.name=categorical-video")
    assert vidgan("run", f"train.resume={run}", "generator.ngf=16") == 2
    assert "checkpoint vs config: decoder.net.0.conv.weight (60, 32, 4, 4) vs (60, 64, 4, 4)" in capsys.readouterr().err


def test_full_disk_keeps_the_last_checkpoint(run, capsys, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(checkpoint.torch, "save", full)
    fails(capsys, "No space left on device", run, "run", f"train.resume={run}", "train.steps=2", before_training=False)
    assert checkpoint.load(run)["step"] == 1


def test_unwritable_run_folder(run, capsys):
    fails(capsys, "cannot write the run folder", run, "run", *STRIPS, f"run_dir={run / 'config.yaml' / 'run'}")


def nan_generator_loss(self, fake):
    return fake.sum() * float("nan")


def test_nan_loss_stops_keeping_the_last_good_checkpoint(run, capsys, monkeypatch):
    monkeypatch.setattr(NonSaturatingBCE, "generator", nan_generator_loss)
    fails(capsys, "loss g became nan at step 2; the last good checkpoint is", run, "run", f"train.resume={run}",
          "train.steps=3", before_training=False)
    assert checkpoint.load(run)["step"] == 1


def test_nan_loss_skip_leaves_the_generator_unchanged(run, caplog, monkeypatch):
    monkeypatch.setattr(NonSaturatingBCE, "generator", nan_generator_loss)
    before = checkpoint.load(run)["generator"]
    assert vidgan("run", f"train.resume={run}", "train.steps=3", "train.on_nan=skip") == 0
    assert "2 steps were skipped" in caplog.text
    after = checkpoint.load(run)
    assert after["step"] == 3
    for key, value in before.items():
        if "running" not in key and "num_batches" not in key:  # batch norm statistics still move
            assert (after["generator"][key] == value).all(), key
