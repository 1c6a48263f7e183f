"""The vidgan-tgan plugin: registered through its entry points, keeps vidgan's contracts, trains."""

from __future__ import annotations

import doctest
import json

import pytest
import torch
from einops import rearrange
from torch.nn import functional as F

pytest.importorskip("vidgan_tgan", reason="vidgan-tgan is not installed: pip install -e ./plugins/vidgan-tgan")

import vidgan_tgan.generator  # noqa: E402
import vidgan_tgan.losses  # noqa: E402
from vidgan.cli import main  # noqa: E402
from vidgan.errors import VidganError  # noqa: E402
from vidgan.registry import DISCRIMINATORS, GENERATORS, LOSSES, RECIPES  # noqa: E402
from vidgan.testing import check_component  # noqa: E402
from vidgan_tgan import RECIPE  # noqa: E402
from vidgan_tgan.generator import TGANGenerator  # noqa: E402
from vidgan_tgan.losses import WGANGP  # noqa: E402

SMALL = ["data.image_size=32", "data.video_length=13", "data.every_nth=1", "data.options.num_videos=8",
         "generator.ngf=8", "generator.ntf=16", "generator.dim_z=16", "generator.dim_z_motion=8",
         "discriminators.video.ndf=8", "discriminators.video.batch=2", "train.num_samples=2", "device=cpu"]


def test_registered_by_entry_points():
    assert GENERATORS.get("tgan") is TGANGenerator
    assert LOSSES.get("wgan-gp") is WGANGP
    assert RECIPES.get("tgan") == RECIPE and RECIPE.is_file()
    assert LOSSES.origin("wgan-gp") == "vidgan-tgan 0.1.0"


@pytest.mark.parametrize("module", [vidgan_tgan.generator, vidgan_tgan.losses])
def test_docstring_examples(module):
    assert doctest.testmod(module).failed == 0


@pytest.mark.parametrize("kwargs", [{}, {"image_size": 16, "video_length": 3, "channels": 1, "ntf": 8}])
def test_generator_keeps_the_contract(kwargs):
    check_component("generators", "tgan", **kwargs)


def test_loss_keeps_the_contract():
    check_component("losses", "wgan-gp")


@pytest.mark.parametrize(("video_length", "max_frames"), [(1, 2), (2, 2), (3, 4), (13, 16), (16, 16), (17, 32)])
def test_generator_shapes(video_length, max_frames):
    g = TGANGenerator(image_size=16, video_length=video_length, dim_z=8, dim_z_motion=4, ntf=8, ngf=4)
    assert g.max_frames == max_frames
    assert g.trajectory(torch.randn(2, 8)).shape == (2, max_frames, 4)
    videos, labels = g.sample_videos(3)
    assert videos.shape == (3, 3, video_length, 16, 16) and labels.tolist() == [0, 0, 0]
    assert g.sample_videos(1, max_frames)[0].shape[2] == max_frames
    assert g.sample_images(1)[0].shape == (1, 3, 16, 16)  # batch 1: no batch norm over one value


def test_frames_follow_the_trajectory():
    g = TGANGenerator(image_size=16, video_length=4, dim_z=8, dim_z_motion=4, ntf=8, ngf=4).eval()
    z0 = torch.randn(2, 8)
    with torch.no_grad():
        video, z1 = g(z0), g.trajectory(z0)
        frame = g.decoder(torch.cat([z0, z1[:, 2]], dim=1))
    assert torch.allclose(video[:, :, 2], frame, atol=1e-6)
    with torch.no_grad():  # the trajectory is tanh of the last 1D transposed convolution
        hidden = g.temporal[:-2](z0)
        last = F.conv_transpose1d(hidden, g.temporal[-2].weight, g.temporal[-2].bias, stride=2, padding=1)
    torch.testing.assert_close(z1, rearrange(torch.tanh(last), "b d t -> b t d"))


def test_generator_errors():
    g = TGANGenerator(image_size=16, video_length=5, dim_z=8, ntf=8, ngf=4)
    with pytest.raises(VidganError, match="tgan makes 1 to 8 frames"):
        g.sample_videos(2, 9)
    with pytest.raises(VidganError, match="unconditional"):
        g.sample_videos(2, labels=torch.tensor([1, 0]))
    with pytest.raises(ValueError, match="latents b 8"):
        g.trajectory(torch.randn(2, 3))


def test_penalty_values():
    loss = WGANGP(weight=2.0)

    def critic(scale):  # gradient norm of sum(scale · x) over c t h w is |scale|·sqrt(numel)
        return lambda x: (reduce_all(scale * x), None)

    def reduce_all(x):
        return x.flatten(1).sum(1)

    real, fake = torch.zeros(4, 1, 2, 2, 2), torch.randn(4, 1, 2, 2, 2)  # 8 values: norm = scale·√8
    assert loss.penalty(critic(8 ** -0.5), real, fake).item() == pytest.approx(0.0, abs=1e-6)
    assert loss.penalty(critic(3 * 8 ** -0.5), real, fake).item() == pytest.approx(2.0 * 4.0)
    with pytest.raises(ValueError, match="one shape"):
        loss.penalty(critic(1.0), real, fake[:2])


def test_penalty_trains_the_discriminator():
    d = DISCRIMINATORS.build("video", image_size=16, ndf=4)
    real, fake = torch.randn(2, 3, 10, 16, 16), torch.randn(2, 3, 10, 16, 16)
    penalty = WGANGP().penalty(d, real, fake)
    assert penalty.ndim == 0 and penalty > 0
    penalty.backward()  # create_graph: the penalty's gradient reaches every convolution
    convs = [m.weight for m in d.modules() if isinstance(m, torch.nn.Conv3d)]
    assert len(convs) == 3 and all(w.grad is not None and w.grad.abs().sum() > 0 for w in convs)


def test_recipe_trains_with_the_penalty(tmp_path):
    run_dir = tmp_path / "run"
    try:
        main(["run", "recipe=tgan", "train.steps=2", f"run_dir={run_dir}", *SMALL])
    except SystemExit as exit:
        assert exit.code == 0
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2]
    assert all(torch.isfinite(torch.tensor([r["d_video"], r["g"]])).all() for r in rows)
    assert (run_dir / "samples" / "step-0000002.gif").is_file()


def test_the_penalty_weight_comes_from_the_config(tmp_path):
    from vidgan.config import load_config
    from vidgan.training.trainer import Trainer

    cfg = load_config(["recipe=tgan", f"run_dir={tmp_path}", *SMALL,
                       "discriminators.video.loss={name: wgan-gp, weight: 2.5}"])
    (critic,) = Trainer(cfg).critics
    assert isinstance(critic.loss, WGANGP) and critic.loss.weight == 2.5
    with pytest.raises(VidganError, match="unknown config key discriminators.video.loss.wieght; "
                                          "did you mean discriminators.video.loss.weight"):
        load_config(["recipe=tgan", *SMALL, "discriminators.video.loss={name: wgan-gp, wieght: 2}"])
