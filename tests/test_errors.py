"""Every command's bad input is one line on a narrow terminal, exit status 2, and leaves the
run folder (and everything else) as it was.

Each case runs against a private copy of a finished one-step categorical run: the files
under the test's folder are hashed before and after, so a case that writes, deletes or
changes anything fails. Log records count as lines too: the command prints them on stderr.
"""

from __future__ import annotations

import hashlib
import logging
import shutil

import pytest
import torch
from cli_runner import vidgan
from omegaconf import OmegaConf
from rich.console import Console
from tiny import TINY

from vidgan import cli
from vidgan.build import build_generator
from vidgan.config import load_config
from vidgan.registry import RECIPES, Entry
from vidgan.training import checkpoint


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("finished") / "run"
    assert vidgan("run", "recipe=mocogan-categorical", "train.steps=1", f"run_dir={run}", *TINY) == 0
    return run


def gaussian_category(run, monkeypatch):
    """The run's newest checkpoint becomes one of a generator whose category part is Gaussian."""
    cfg = load_config(["recipe=mocogan-categorical", "generator.category=gaussian-content", *TINY])
    state = {"step": 2, "config": OmegaConf.to_container(cfg), "generator": build_generator(cfg).state_dict()}
    checkpoint.save(state, checkpoint.checkpoint_path(run, 2))


def recipe_without_critics(run, monkeypatch):
    """A recipe (as a plugin would register one) that names a generator and no discriminator."""
    path = run.parent / "bare.yaml"
    path.write_text("generator: {name: mocogan, ngf: 8}\ndata: {image_size: 32}\n")
    RECIPES.names()  # discover the built-ins first
    monkeypatch.setitem(RECIPES._entries, "bare", Entry("bare", "test", obj=path))


def original_generator_file(run, monkeypatch):
    """A state_dict file of the original MoCoGAN generator's layout (tiny), for convert."""
    from test_convert import original_generator

    torch.save(original_generator(ngf=8).state_dict(), run.parent / "G.pth")


RESUME = "train.resume={run}"
CONVERT = ["convert", "recipe=mocogan-categorical", "generator.ngf=8", "discriminators.video.ndf=8"]
CASES = {
    # run: typos, bad types, missing files, and values out of range
    "run-typo": (["run", RESUME, "train.stpes=3"], "did you mean 'train.steps'", None),
    "run-type": (["run", RESUME, "train.steps=many"], "'train.steps'", None),
    "run-option": (["run", "--resume", "{run}"], "unrecognized arguments: --resume", None),
    "run-missing-run": (["run", "train.resume={tmp}/nope"], "no config.yaml there", None),
    "run-missing-data": (["run", RESUME, "data.root={tmp}/nope"], "does not exist", None),
    "run-ema-decay": (["run", RESUME, "train.ema_decay=1.5"], "train.ema_decay must lie in [0, 1)", None),
    "run-keep-checkpoints": (["run", RESUME, "train.keep_checkpoints=-1"], "train.keep_checkpoints must be 0", None),
    "run-on-nan": (["run", RESUME, "train.on_nan=ignore"], "train.on_nan must be stop or skip", None),
    "run-no-generator-name": (["run", RESUME, "generator.name=null"], "generator.name is missing", None),
    "run-no-critic-name": (["run", RESUME, "discriminators.video.name=null"], "discriminators.video needs a name",
                           None),
    "run-no-discriminators": (["run", "recipe=bare", "run_dir={run}"], "the recipe has no discriminators",
                              recipe_without_critics),
    "run-checkpoint-lacks-critic": (["run", RESUME, "discriminators.extra.name=image"],
                                    "the checkpoint has no discriminator 'extra'", None),
    # eval
    "eval-typo": (["eval", "{run}", "metrics=[acd]", "num_vidoes=4"], "unknown config key 'num_vidoes'", None),
    "eval-metric-typo": (["eval", "{run}", "metrics=[acdd]"], "did you mean 'acd'", None),
    "eval-type": (["eval", "{run}", "metrics=[acd]", "num_videos=many"], "'num_videos'", None),
    "eval-missing-checkpoint": (["eval", "{run}/checkpoints/step-0000009.pt", "metrics=[acd]"], "does not exist",
                                None),
    # generate
    "generate-typo": (["generate", "{run}", "--grid", "contnet-motion"], "choose one of content-motion", None),
    "generate-type": (["generate", "{run}", "--num-videos", "x"], "invalid int value: 'x'", None),
    "generate-missing-checkpoint": (["generate", "{run}/nope.pt"], "does not exist", None),
    "generate-no-videos": (["generate", "{run}", "--num-videos", "0"], "--num-videos must be at least 1", None),
    "generate-category-range": (["generate", "{run}", "--category", "9"], "--category must lie in [0, 6)", None),
    "generate-category-not-one-hot": (["generate", "{run}", "--grid", "category"],
                                      "needs a one-hot category part; this one is gaussian", gaussian_category),
    # convert
    "convert-typo": ([*CONVERT, "generator.ngff=8", "--generator", "{tmp}/G.pth", "--out", "{run}/x.pt"],
                     "did you mean generator.ngf", original_generator_file),
    "convert-type": ([*CONVERT, "generator.ngf=wide", "--generator", "{tmp}/G.pth", "--out", "{run}/x.pt"],
                     "generator.ngf must be int", original_generator_file),
    "convert-missing-file": ([*CONVERT, "--generator", "{tmp}/nope.pth", "--out", "{run}/x.pt"], "nope.pth", None),
    "convert-discriminator-no-file": ([*CONVERT, "--generator", "{tmp}/G.pth", "--discriminator", "video",
                                       "--out", "{run}/x.pt"], "write CRITIC=FILE", original_generator_file),
    "convert-discriminator-typo": ([*CONVERT, "--generator", "{tmp}/G.pth", "--discriminator", "vidoe={tmp}/G.pth",
                                    "--out", "{run}/x.pt"], "with CRITIC one of image, video", original_generator_file),
    # report
    "report-missing-run": (["report", "{tmp}/nope"], "does not exist", None),
    "report-not-a-run": (["report", "{run}/samples"], "has no config.yaml", None),
    "report-option": (["report", "{run}", "--outt", "x"], "unrecognized arguments: --outt", None),
    "report-unwritable": (["report", "{run}", "--out", "{run}/config.yaml/report.html"], "cannot write", None),
    # bench
    "bench-typo": (["bench", "--quick", "--out", "{run}/bench", "train.stpes=3"], "did you mean 'train.steps'", None),
    "bench-type": (["bench", "--quick", "--out", "{run}/bench", "--rounds", "x"], "invalid int value: 'x'", None),
    "bench-value": (["bench", "--quick", "--out", "{run}/bench", "--rounds", "0"], "--rounds must be at least 1",
                    None),
    "bench-device": (["bench", "--quick", "--out", "{run}/bench", "--device", "tpu"], "invalid choice: 'tpu'", None),
    "bench-missing-data": (["bench", "--data", "--out", "{run}/bench", "--data-root", "{tmp}/nope"],
                           "--data-root", None),
    # prepare
    "prepare-missing-source": (["prepare", "{tmp}/nope", "{tmp}/prepared"], "does not exist", None),
    "prepare-no-videos": (["prepare", "{run}/checkpoints", "{tmp}/prepared"], "has no video files", None),
    "prepare-size": (["prepare", "{run}", "{tmp}/prepared", "--size", "0"], "--size must be positive", None),
    "prepare-type": (["prepare", "{run}", "{tmp}/prepared", "--size", "big"], "invalid int value: 'big'", None),
    "prepare-channels": (["prepare", "{run}", "{tmp}/prepared", "--channels", "2"], "invalid choice: 2", None),
    "prepare-into-the-run": (["prepare", "{run}", "{run}/checkpoints"], "lies in SRC", None),  # samples/*.gif
}


def snapshot(folder):
    """Every file and folder under ``folder``: a file's SHA-256, a folder's None."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else None
            for p in sorted(folder.rglob("*"))}


@pytest.fixture
def narrow_terminal(monkeypatch):
    """The command's console as it is made in a 40-column terminal."""
    monkeypatch.setenv("COLUMNS", "40")
    monkeypatch.setattr(cli, "console", Console(stderr=True))
    assert cli.console.width == 40


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_one_line_and_changes_nothing(case, finished_run, tmp_path, monkeypatch, capsys, caplog,
                                                   narrow_terminal):
    args, message, setup = CASES[case]
    run = shutil.copytree(finished_run, tmp_path / "run")
    if setup:
        setup(run, monkeypatch)
    before = snapshot(tmp_path)
    caplog.set_level(logging.INFO)
    code = vidgan(*(a.format(run=run, tmp=tmp_path) for a in args))
    out, err = capsys.readouterr()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and err.startswith("error: ") and message in err, err
    assert out == "" and not caplog.records, (out, caplog.text)  # log records are stderr lines too
    assert snapshot(tmp_path) == before
