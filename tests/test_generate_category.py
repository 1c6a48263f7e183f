"""`vidgan generate --category K` makes videos of category K, in random videos, grids and
interpolations: K is the category part of every video's latents, and MCS's clip
classifier sees K's motion in the pictures the command writes.

Training a quick-start checkpoint until its category controls the motion takes minutes;
here the generator is MoCoGAN's latent machinery (its parts, their sampling, the given
labels and latents) with a renderer in place of the frame decoder: the category part
picks the motion class of a synthetic-shapes video, the content code which video of that
class. The MCS classifier is trained by `vidgan eval metrics=[mcs]` on the real
synthetic-shapes clips (other videos than the rendered ones), and then reads the PNG
grids `vidgan generate` writes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from cli_runner import vidgan
from einops import rearrange
from omegaconf import OmegaConf
from PIL import Image
from torch.nn import functional as F

from vidgan import generate as generate_module
from vidgan.config import load_config
from vidgan.data.shapes import SyntheticShapes
from vidgan.generators.mocogan import MoCoGANGenerator
from vidgan.metrics.mcs import ClipClassifier, accuracy
from vidgan.registry import GENERATORS, Entry
from vidgan.build import build_generator
from vidgan.training import checkpoint

SIZE, LENGTH, CATEGORIES = 32, 13, 2
CELL = SIZE + 2  # a frame and its 2-pixel border in the PNG grids


class ShapeMotions(MoCoGANGenerator):
    """MoCoGAN whose latents ``b t d`` are rendered, not decoded: video ``i`` is the
    synthetic-shapes video of motion class ``argmax(category)``, the content code's first
    entry choosing one of 100 videos of that class (shape, colour, size and place)."""

    videos = SyntheticShapes(image_size=SIZE, num_videos=100 * CATEGORIES, num_classes=CATEGORIES, seed=7)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        category = z[:, 0, self.dim_z_content:self.dim_z_content + self.dim_z_category].argmax(1)
        which = (z[:, 0, 0].abs() * 1000).long() % 100
        return torch.stack([self.videos.frames(int(w) * CATEGORIES + int(k), range(z.shape[1]))
                            for w, k in zip(which, category)])


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A checkpoint of the renderer (registered while the module's tests run), and the MCS
    classifier `vidgan eval` trains beside it."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        GENERATORS.names()  # discover the built-ins first
        monkeypatch.setitem(GENERATORS._entries, "shape-motions", Entry("shape-motions", "test", obj=ShapeMotions))
        cfg = load_config(["recipe=mocogan-categorical", "generator.name=shape-motions", "generator.ngf=8",
                           f"generator.dim_z_category={CATEGORIES}", f"data.options.num_classes={CATEGORIES}",
                           "data.options.num_videos=200", f"data.image_size={SIZE}",
                           f"data.video_length={LENGTH}", "data.every_nth=1", "device=cpu"])
        run = tmp_path_factory.mktemp("category") / "run"
        state = {"step": 1, "config": OmegaConf.to_container(cfg), "generator": build_generator(cfg).state_dict()}
        checkpoint.save(state, checkpoint.checkpoint_path(run, 1))
        assert vidgan("eval", run, "metrics=[mcs]", "num_videos=8", "options.mcs.steps=100",
                      "options.mcs.batch=16", "options.mcs.heldout_clips=40") == 0
        mcs = json.loads((run / "eval.json").read_text())["metrics"]["mcs"]
        assert mcs["classifier_accuracy"] >= 0.9, mcs  # it tells the two motions of real clips apart
        yield run


def classifier(run):
    saved = torch.load(run / "mcs-classifier.pt", weights_only=True)
    net = ClipClassifier(saved["num_classes"], saved["signature"]["size"])
    net.load_state_dict(saved["state_dict"])
    return net.eval()


def videos_of(png, size=SIZE):
    """The videos of a PNG that `vidgan generate` wrote: one row per video, frames left to right.

    Shape:
        ``b 3 t h w`` uint8.
    """
    cell = size + 2  # a frame and its 2-pixel border
    with Image.open(png) as image:
        pixels = torch.from_numpy(np.array(image.convert("RGB")))
    rows, cols = (pixels.shape[0] - 2) // cell, (pixels.shape[1] - 2) // cell
    cells = rearrange(pixels[2:2 + rows * cell, 2:2 + cols * cell], "(b y) (t x) c -> b c t y x", y=cell, x=cell)
    return cells[..., :size, :size].contiguous()


@pytest.fixture
def decoded(monkeypatch):
    """The latent parts of the videos each `vidgan generate` decodes: what the generator's
    ``sample_parts`` returns at its last call, the one whose parts become the videos."""
    calls = []
    load = generate_module.load_generator

    def load_and_watch(*args, **kwargs):
        generator, cfg = load(*args, **kwargs)
        sample_parts = generator.sample_parts

        def watched(*args, **kwargs):
            parts, labels = sample_parts(*args, **kwargs)
            calls.append(parts)
            return parts, labels

        monkeypatch.setattr(generator, "sample_parts", watched)
        return generator, cfg

    monkeypatch.setattr(generate_module, "load_generator", load_and_watch)
    return calls


MODES = {  # the arguments and the PNG they write
    "random": (["--num-videos", 6], "grid.png"),
    "content-motion": (["--grid", "content-motion", 2, 3], "content-motion.png"),
    "motion-content": (["--grid", "motion-content", 3, 2], "motion-content.png"),
    "interpolate-content": (["--interpolate", "content", 3, 2], "interpolate-content.png"),
    "interpolate-motion": (["--interpolate", "motion", 3, 2], "interpolate-motion.png"),
}


@pytest.mark.parametrize("mode", MODES)
def test_every_video_has_the_category_asked_for(run, decoded, tmp_path, mode):
    args, png = MODES[mode]
    net = classifier(run)
    for category in range(CATEGORIES):
        out = tmp_path / f"out-{category}"
        decoded.clear()
        assert vidgan("generate", run, *args, "--category", category, "--seed", 3, "--out", out) == 0
        videos = videos_of(out / png)
        assert videos.shape == (6, 3, LENGTH, SIZE, SIZE)
        parts = decoded[-1]
        assert torch.equal(parts["category"], F.one_hot(torch.full((6,), category), CATEGORIES).float()), mode
        agree = accuracy(net, videos, torch.full((6,), category), 6, torch.device("cpu")).float().mean().item()
        assert agree >= 5 / 6, f"{mode}: the classifier sees category {category} in {agree:.0%} of the videos"


@pytest.mark.trained_run
def test_a_trained_quick_start_draws_the_motion_of_the_category_asked_for(tmp_path):
    """On a trained run (``VIDGAN_TRAINED_RUN``, such as the README's main job), the MCS
    classifier sees category K in most videos of `vidgan generate --category K`: more than
    half over all the categories together (chance: one in the number of categories); each
    category's share is in the message."""
    run = os.environ.get("VIDGAN_TRAINED_RUN")
    if not run:
        pytest.skip("set VIDGAN_TRAINED_RUN to a trained categorical run folder (the README's main job) to run it")
    cfg = OmegaConf.load(Path(run) / "config.yaml")
    categories, size = cfg.generator.dim_z_category, cfg.data.image_size
    assert vidgan("eval", run, "metrics=[mcs]", "num_videos=64", f"out={tmp_path / 'eval'}") == 0
    net = classifier(tmp_path / "eval")
    agree = []
    for category in range(categories):
        out = tmp_path / f"out-{category}"
        assert vidgan("generate", run, "--num-videos", 8, "--category", category, "--out", out) == 0
        videos = videos_of(out / "grid.png", size)
        assert videos.shape[:3] == (8, 3, cfg.data.video_length)
        agree.append(accuracy(net, videos, torch.full((8,), category), 8, torch.device("cpu")).float().mean().item())
    shares = ", ".join(f"{k}: {a:.0%}" for k, a in enumerate(agree))
    assert sum(agree) / categories > 0.5, f"the classifier sees the category asked for in {shares}"
