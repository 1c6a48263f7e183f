"""End to end: the `vidgan` command trains, resumes, generates, lists and explains errors."""

import json
import subprocess
import sys

import pytest
import torch
from cli_runner import vidgan
from PIL import Image

from vidgan.training import checkpoint

RECIPES = ["mocogan", "mocogan-patch", "mocogan-categorical", "mocogan-small", "mocogan-plus-small", "layered",
           "layered-small"]
SHORT_CLIPS = {"layered": ["discriminators.video.frames=[0,1,4,9,12]"]}  # tiny clips have 13 frames, not 16


def metrics(run_dir):
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("recipe", RECIPES)
def test_run_writes_run_folder(tmp_path, tiny, recipe):
    run_dir = tmp_path / "run"
    assert vidgan("run", f"recipe={recipe}", "train.steps=3", "train.sample_every=2",
                  f"run_dir={run_dir}", *tiny, *SHORT_CLIPS.get(recipe.removesuffix("-small"), [])) == 0
    assert (run_dir / "config.yaml").is_file()
    rows = metrics(run_dir)
    assert [r["step"] for r in rows] == [1, 2, 3]
    # the accuracies' values are checked against the critics' logits in training/test_diagnostics.py
    accuracies = {f"acc_{c}_{s}" for c in ("image", "video") for s in ("real", "fake")}
    assert {"d_image", "d_video", "g", "gnorm_d_image", "gnorm_d_video", "gnorm_g", *accuracies} <= rows[0].keys()
    assert all(torch.isfinite(torch.tensor(v)) for r in rows for v in r.values())
    gifs = sorted(p.name for p in (run_dir / "samples").glob("*.gif"))
    assert gifs == ["step-0000002.gif", "step-0000003.gif"]
    with Image.open(run_dir / "samples" / gifs[-1]) as gif:
        assert gif.n_frames == 13
    state = checkpoint.load(run_dir)
    assert state["step"] == 3 and state["config"]["recipe"] == recipe


def test_quick_start_recipe_trains_at_its_own_sizes(tmp_path):
    """The README's main job, shortened: 32×32 frames, batches 16 / 8, 4 motions, the fast mode."""
    run_dir = tmp_path / "run"
    assert vidgan("run", "recipe=mocogan-plus-small", "train.steps=2", "device=cpu", f"run_dir={run_dir}") == 0
    state = checkpoint.load(run_dir)
    assert state["step"] == 2 and state["config"]["train"]["mode"] == "fast"
    assert state["config"]["generator"]["name"] == "mocogan-warp" and "ema_generator" in state
    assert state["config"]["data"]["options"]["num_classes"] == state["config"]["generator"]["dim_z_category"] == 4
    with Image.open(run_dir / "samples" / "step-0000002.gif") as gif:  # 8 videos of 32×32 in a 3×3 grid
        assert gif.n_frames == 16 and gif.size == (3 * 34 + 2, 3 * 34 + 2)


def test_resume_continues_exactly(tmp_path, tiny):
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert vidgan("run", "recipe=mocogan-categorical", "train.steps=4", f"run_dir={straight}", *tiny) == 0
    assert vidgan("run", "recipe=mocogan-categorical", "train.steps=2", f"run_dir={split}", *tiny) == 0
    assert vidgan("run", f"train.resume={split}", "train.steps=4") == 0
    assert [r["step"] for r in metrics(split)] == [1, 2, 3, 4]
    drop_time = [{k: v for k, v in r.items() if k not in ("time", "data_time")} for r in metrics(split)]
    assert drop_time == [{k: v for k, v in r.items() if k not in ("time", "data_time")} for r in metrics(straight)]
    a, b = checkpoint.load(straight), checkpoint.load(split)
    assert b["step"] == 4
    for key, value in a["generator"].items():
        assert torch.equal(value, b["generator"][key]), key


def test_run_refuses_to_overwrite_a_run(tmp_path, tiny, capsys):
    run_dir = tmp_path / "run"
    assert vidgan("run", "recipe=mocogan", "train.steps=1", f"run_dir={run_dir}", *tiny) == 0
    before = checkpoint.list_checkpoints(run_dir)
    assert vidgan("run", "recipe=mocogan", "train.steps=1", f"run_dir={run_dir}", *tiny) == 2
    assert "train.resume=" in capsys.readouterr().err
    assert checkpoint.list_checkpoints(run_dir) == before


def test_generate_writes_gifs_and_grid(tmp_path, tiny):
    run_dir = tmp_path / "run"
    assert vidgan("run", "recipe=mocogan-categorical", "train.steps=1", f"run_dir={run_dir}", *tiny) == 0
    out = tmp_path / "gen"
    assert vidgan("generate", run_dir, "--num-videos", 3, "--category", 1, "--length", 5, "--out", out) == 0
    assert sorted(p.name for p in out.iterdir()) == ["grid.png", "video-000.gif", "video-001.gif",
                                                     "video-002.gif"]
    with Image.open(out / "video-000.gif") as gif:
        assert gif.n_frames == 5 and gif.size == (32, 32)
    with Image.open(out / "grid.png") as grid:
        assert grid.size == (5 * 34 + 2, 3 * 34 + 2)


def test_generate_rejects_bad_category(tmp_path, tiny, capsys):
    run_dir = tmp_path / "run"
    assert vidgan("run", "recipe=mocogan", "train.steps=1", f"run_dir={run_dir}", *tiny) == 0
    assert vidgan("generate", run_dir, "--category", 1, "--out", tmp_path / "g") == 2
    assert "no category code" in capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["recipe=mocogn"], "did you mean 'mocogan'"),
    (["recipe=mocogan", "discriminators.video.name=patch-vido"], "did you mean 'patch-video'"),
    (["recipe=mocogan", "train.stpes=3"], "did you mean 'train.steps'"),
    (["recipe=mocogan", "generator.dim_z_motoin=3"], "did you mean generator.dim_z_motion"),
    (["recipe=mocogan", "generator.dim_z_motion=many"], "generator.dim_z_motion must be int"),
    (["recipe=mocogan", "train.steps=many"], "'train.steps'"),
    (["recipe=mocogan", "data.image_size=48"], "powers of two"),
    (["recipe=mocogan", "generator.image_size=32"], "comes from data.image_size"),
    (["recipe=mocogan", "device=tpu"], "device must be one of"),
    (["recipe=mocogan", "train.steps"], "write key=value"),
    (["train.steps=3"], "name a recipe"),
])
def test_bad_config_is_one_line_error(tmp_path, args, message, capsys):
    assert vidgan("run", f"run_dir={tmp_path / 'r'}", *args) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
    assert not (tmp_path / "r").exists()


def test_show_prints_resolved_config(capsys):
    assert vidgan("show", "recipe=mocogan-categorical", "generator.dim_z_motion=16") == 0
    out = capsys.readouterr().out
    assert "dim_z_motion: 16" in out and "name: categorical-video" in out and "lr: 0.0002" in out


def test_list_shows_all_components(capsys):
    assert vidgan("list") == 0
    out = capsys.readouterr().out
    for name in ["gaussian-content", "one-hot-category", "gru-motion", "dcgan-frames", "mocogan",
                 "image", "patch-image", "video", "patch-video", "categorical-video", "bce", "hinge",
                 "least-squares", "infogan-category", "synthetic-shapes", "frame-strips", *RECIPES]:
        assert name in out, name
    assert vidgan("list", "discriminatros") == 2
    assert "did you mean 'discriminators'" in capsys.readouterr().err


def test_console_script_runs():
    result = subprocess.run([sys.executable, "-m", "vidgan", "show", "recipe=mocogan-patch"],
                            capture_output=True, text=True, check=True)
    assert "name: patch-video" in result.stdout
