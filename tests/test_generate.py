"""Grids and interpolation fix the latent parts they say, decode them, write files, and explain bad input."""

from __future__ import annotations

import re

import pytest
import torch
from cli_runner import vidgan
from einops import rearrange
from omegaconf import OmegaConf
from PIL import Image

from vidgan.config import load_config
from vidgan.errors import VidganError
from vidgan.generate import (category_grid, codes, content_motion_grid, interpolation_grid,
                             motion_content_grid)
from vidgan.generators.mocogan import MoCoGANGenerator
from vidgan.training import checkpoint
from vidgan.build import build_generator

CELL = 32 + 2  # a 32×32 frame and its 2-pixel border in grids


def tiny_generator(**kwargs) -> MoCoGANGenerator:
    torch.manual_seed(0)
    defaults = dict(image_size=16, ngf=4, dim_z_content=6, dim_z_motion=3, video_length=4)
    return MoCoGANGenerator(**{**defaults, **kwargs}).eval()


@pytest.fixture
def spy(monkeypatch):
    """The latents every ``sample_videos`` call of a generator was given."""
    calls = []

    def watch(generator):
        original = generator.sample_videos

        def sample_videos(*args, latents=None, **kwargs):
            calls.append(latents)
            return original(*args, latents=latents, **kwargs)

        monkeypatch.setattr(generator, "sample_videos", sample_videos)
        return calls
    return watch


def one(g, length, **latents):
    """The video decoded from one video's explicit latents."""
    with torch.no_grad():
        return g.sample_videos(1, length, latents={k: v[None] for k, v in latents.items()})[0][0]


# the grids' latents and videos -----------------------------------------------------------------------
@pytest.mark.parametrize("categories", [0, 3])
def test_content_motion_rows_share_content_columns_share_motion(spy, categories):
    g = tiny_generator(dim_z_category=categories)
    calls = spy(g)
    videos = content_motion_grid(g, rows=2, cols=3, length=5, seed=4)
    assert videos.shape == (6, 3, 5, 16, 16)
    (latents,) = calls
    content = rearrange(latents["content"], "(r c) d -> r c d", c=3)
    motion = rearrange(latents["motion"], "(r c) t d -> r c t d", c=3)
    assert torch.equal(content, content[:, :1].expand_as(content))  # one content along a row
    assert torch.equal(motion, motion[:1].expand_as(motion))  # one motion down a column
    assert torch.equal(content[:, 0], codes(g, 2, 5, 4)["content"])
    assert torch.equal(motion[0], codes(g, 3, 5, 4)["motion"])
    assert not torch.equal(content[0, 0], content[1, 0]) and not torch.equal(motion[0, 0], motion[0, 1])
    extra = {"category": latents["category"][3]} if categories else {}
    assert torch.allclose(videos[3 + 2], one(g, 5, content=content[1, 2], motion=motion[1, 2], **extra), atol=1e-5)
    assert not torch.allclose(videos[0], videos[1]) and not torch.allclose(videos[0], videos[3])


def test_motion_content_is_the_transpose(spy):
    g = tiny_generator(dim_z_category=2)
    calls = spy(g)
    transposed = motion_content_grid(g, rows=3, cols=2, length=4, seed=1)
    motion = rearrange(calls[0]["motion"], "(c r) t d -> r c t d", r=3)
    assert torch.equal(motion, motion[:, :1].expand_as(motion))  # one motion along a row
    straight = content_motion_grid(g, rows=2, cols=3, length=4, seed=1)
    assert torch.equal(transposed, rearrange(straight, "(c r) ... -> (r c) ...", r=3))


def test_category_grid_rows_are_categories_columns_keep_content_and_motion(spy):
    g = tiny_generator(dim_z_category=3)
    calls = spy(g)
    videos = category_grid(g, cols=2, length=4, seed=0)
    assert videos.shape == (6, 3, 4, 16, 16)
    latents = {k: rearrange(v, "(k c) ... -> k c ...", c=2) for k, v in calls[0].items()}
    assert latents["category"].argmax(-1).tolist() == [[0, 0], [1, 1], [2, 2]]
    for name in ("content", "motion"):
        assert torch.equal(latents[name], latents[name][:1].expand_as(latents[name])), name
    assert not torch.allclose(videos[0], videos[2])  # the category changes the video


@pytest.mark.parametrize("part", ["content", "motion"])
def test_interpolation_runs_from_one_seeds_code_to_the_others(spy, part):
    g = tiny_generator()
    calls = spy(g)
    videos = interpolation_grid(g, part, steps=5, rows=2, length=4, seed=3, to_seed=8)
    assert videos.shape == (10, 3, 4, 16, 16)
    latents = {k: rearrange(v, "(r k) ... -> r k ...", k=5) for k, v in calls[0].items()}
    path, other = latents[part], latents["motion" if part == "content" else "content"]
    assert torch.equal(path[:, 0], codes(g, 1, 4, 3)[part].expand_as(path[:, 0]))
    assert torch.equal(path[:, -1], codes(g, 1, 4, 8)[part].expand_as(path[:, -1]))
    assert not torch.equal(path[0, 1], path[0, 0]) and torch.equal(path[0], path[1])
    assert torch.equal(other, other[:, :1].expand_as(other))  # the other part stays along a row
    if part == "content":  # spherical: the norm stays between the endpoints' norms
        norms = path[0].norm(dim=-1)
        assert norms.min() >= min(norms[0], norms[-1]) - 1e-4 > 0
    first = interpolation_grid(g, part, steps=3, rows=1, length=4, seed=3, to_seed=8)[0]
    with torch.no_grad():  # one row: its first video is the one video seed 3 draws
        assert torch.allclose(first, g.sample_videos(1, 4, torch.Generator().manual_seed(3))[0][0], atol=1e-5)


def test_longer_than_training_and_reproducible():
    g = tiny_generator()
    a = content_motion_grid(g, 2, 2, length=3 * g.video_length, seed=5)
    assert a.shape[2] == 12
    assert torch.equal(a, content_motion_grid(g, 2, 2, length=12, seed=5))
    assert not torch.equal(a, content_motion_grid(g, 2, 2, length=12, seed=6))
    assert interpolation_grid(g, "motion", 3, length=10).shape == (3, 3, 10, 16, 16)


class NoParts(torch.nn.Module):
    """A generator that only draws whole videos."""

    def sample_videos(self, num_videos, video_length=None, generator=None, labels=None):
        return torch.zeros(num_videos, 3, video_length or 2, 8, 8), torch.zeros(num_videos, dtype=torch.int64)


@pytest.mark.parametrize("make, message", [
    (lambda: content_motion_grid(NoParts(), 2, 2), "--grid content-motion needs a generator with the latent "
                                                   "parts content, motion; NoParts declares no latent parts"),
    (lambda: interpolation_grid(NoParts(), "content", 3), "declares no latent parts"),
    (lambda: category_grid(tiny_generator(), 2), "--grid category: MoCoGANGenerator has no latent part "
                                                 "category; its parts are content, motion"),
    (lambda: interpolation_grid(tiny_generator(), "speed", 3), "has no latent part speed"),
])
def test_grids_a_generator_cannot_make(make, message):
    with pytest.raises(VidganError, match=message):
        make()


# the command ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    from tiny import TINY

    run_dir = tmp_path_factory.mktemp("generate") / "run"
    assert vidgan("run", "recipe=mocogan-categorical", "train.steps=1", f"run_dir={run_dir}", *TINY) == 0
    return run_dir


@pytest.mark.parametrize("args, stem, columns, rows", [
    (["--grid", "content-motion", 2, 3], "content-motion", 3, 2),
    (["--grid", "motion-content", 3, 2, "--category", 5], "motion-content", 2, 3),
    (["--grid", "category", 2], "category", 2, 6),
    (["--grid", "content-motion"], "content-motion", 4, 4),
    (["--interpolate", "content", 4, 2, "--to-seed", 9], "interpolate-content", 4, 2),
    (["--interpolate", "motion", 3], "interpolate-motion", 3, 1),
])
def test_generate_writes_a_gif_and_a_png(tmp_path, run_dir, args, stem, columns, rows):
    out = tmp_path / "out"
    assert vidgan("generate", run_dir, *args, "--length", 20, "--out", out) == 0  # trained on 13 frames
    assert sorted(p.name for p in out.iterdir()) == [f"{stem}.gif", f"{stem}.png"]
    with Image.open(out / f"{stem}.gif") as gif:
        assert gif.n_frames == 20 and gif.size == (columns * CELL + 2, rows * CELL + 2)
    with Image.open(out / f"{stem}.png") as png:  # one row per video, one column per frame
        assert png.size == (20 * CELL + 2, rows * columns * CELL + 2)


def test_the_same_seed_writes_the_same_picture(tmp_path, run_dir):
    for name in ("a", "b", "c"):
        seed = 1 if name == "c" else 0
        assert vidgan("generate", run_dir, "--grid", "content-motion", 2, 2, "--seed", seed, "--out", tmp_path / name) == 0
    png = {name: (tmp_path / name / "content-motion.png").read_bytes() for name in "abc"}
    assert png["a"] == png["b"] != png["c"]


@pytest.mark.parametrize("args, message", [
    (["--grid", "content-motion", 0, 2], "R must be a whole number of at least 1, got '0'"),
    (["--grid", "content-motion", 2, 2, 2], "takes at most 2 number"),
    (["--grid", "motion-content", 2, "x"], "C must be a whole number"),
    (["--grid", "diagonal"], "choose one of content-motion, motion-content, category"),
    (["--grid", "category", "--category", 1], "drop --category"),
    (["--grid", "content-motion", "--num-videos", 4], "--num-videos is for random videos"),
    (["--grid", "content-motion", 2, 2, "--category", 6], r"--category must lie in \[0, 6\)"),
    (["--interpolate", "content"], "give the number of steps"),
    (["--interpolate", "content", 1], "K must be at least 2"),
    (["--interpolate", "speed", 3], "mocogan has no latent part speed; its parts are content, category, motion"),
    (["--interpolate", "category", 3, "--category", 1], "drop it to interpolate the category"),
    (["--to-seed", 3], "use it with --interpolate"),
    (["--length", 0], "--length must be at least 1"),
])
def test_bad_arguments_are_one_line_errors(tmp_path, run_dir, capsys, args, message):
    out = tmp_path / "out"
    assert vidgan("generate", run_dir, *args, "--out", out) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and len(err.strip().splitlines()) <= 2
    assert re.search(message, " ".join(err.split())), err
    assert not out.exists()


def test_tgan_cannot_make_grids_but_still_generates(tmp_path, capsys):
    pytest.importorskip("vidgan_tgan", reason="vidgan-tgan is not installed: pip install -e ./plugins/vidgan-tgan")
    cfg = load_config(["recipe=tgan", "data.image_size=32", "data.video_length=8", "generator.ngf=8",
                       "generator.ntf=16", "generator.dim_z=16", "generator.dim_z_motion=8", "device=cpu"])
    path = checkpoint.save({"step": 0, "config": OmegaConf.to_container(cfg),
                            "generator": build_generator(cfg).state_dict()}, tmp_path / "tgan.pt")
    assert vidgan("generate", path, "--grid", "content-motion", "--out", tmp_path / "grid") == 2
    assert ("--grid content-motion needs a generator with the latent parts content, motion; tgan declares "
            "no latent parts, so only random videos work (drop --grid)") in " ".join(capsys.readouterr().err.split())
    assert vidgan("generate", path, "--interpolate", "content", 3, "--out", tmp_path / "grid") == 2
    assert vidgan("generate", path, "--num-videos", 2, "--out", tmp_path / "plain") == 0
    assert sorted(p.name for p in (tmp_path / "plain").iterdir()) == ["grid.png", "video-000.gif", "video-001.gif"]
