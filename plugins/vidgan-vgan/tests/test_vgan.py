"""The vidgan-vgan plugin: registered through its entry points, keeps vidgan's contracts, trains."""

from __future__ import annotations

import json

import pytest
import torch

pytest.importorskip("vidgan_vgan", reason="vidgan-vgan is not installed: pip install -e ./plugins/vidgan-vgan")

from vidgan.cli import main  # noqa: E402
from vidgan.errors import VidganError  # noqa: E402
from vidgan.registry import DISCRIMINATORS, GENERATORS, RECIPES  # noqa: E402
from vidgan.testing import check_component  # noqa: E402
from vidgan_vgan import RECIPE  # noqa: E402
from vidgan_vgan.models import VGANDiscriminator, VGANGenerator  # noqa: E402

SMALL = ["data.image_size=32", "data.video_length=8", "data.every_nth=1", "data.options.num_videos=8",
         "generator.ngf=8", "generator.dim_z=16", "discriminators.video.ndf=8",
         "discriminators.video.batch=2", "train.num_samples=2", "device=cpu"]


def test_registered_by_entry_points():
    assert GENERATORS.get("vgan") is VGANGenerator
    assert DISCRIMINATORS.get("vgan") is VGANDiscriminator
    assert RECIPES.get("vgan") == RECIPE and RECIPE.is_file()
    assert GENERATORS.origin("vgan") == "vidgan-vgan 0.1.0"


@pytest.mark.parametrize("kwargs", [{}, {"image_size": 16, "video_length": 5, "channels": 1}])
def test_generator_keeps_the_contract(kwargs):
    check_component("generators", "vgan", **kwargs)


@pytest.mark.parametrize("kwargs", [{}, {"image_size": 16, "channels": 1}])
def test_discriminator_keeps_the_contract(kwargs):
    check_component("discriminators", "vgan", **kwargs)


@pytest.mark.parametrize(("image_size", "video_length", "max_frames"),
                         [(16, 1, 4), (16, 5, 8), (32, 8, 8), (32, 13, 16), (64, 16, 16)])
def test_generator_shapes(image_size, video_length, max_frames):
    g = VGANGenerator(image_size=image_size, video_length=video_length, dim_z=8, ngf=4)
    assert g.max_frames == max_frames
    assert g(torch.randn(2, 8)).shape == (2, 3, max_frames, image_size, image_size)
    videos, labels = g.sample_videos(3)
    assert videos.shape == (3, 3, video_length, image_size, image_size)
    assert labels.tolist() == [0, 0, 0]
    assert g.sample_videos(1, max_frames)[0].shape[2] == max_frames
    assert g.sample_images(4)[0].shape == (4, 3, image_size, image_size)


def test_paper_layers_at_64():
    g = VGANGenerator(image_size=64, video_length=32)
    convs = [m for m in g.foreground if isinstance(m, torch.nn.ConvTranspose3d)]
    assert [(c.in_channels, c.out_channels) for c in convs] == [(100, 512), (512, 256), (256, 128), (128, 64)]
    assert convs[0].kernel_size == (2, 4, 4)  # 2×4×4 up to 32×64×64


def test_closed_mask_shows_the_still_background():
    g = VGANGenerator(image_size=16, video_length=4, dim_z=8, ngf=4).eval()
    with torch.no_grad():
        g.to_mask[0].bias.fill_(-1e4)  # sigmoid → 0 everywhere
        z = torch.randn(2, 8)
        video, still = g(z), g.background(z)
    assert torch.allclose(video, still[:, :, None].expand_as(video))


def test_generator_errors():
    g = VGANGenerator(image_size=16, video_length=5, dim_z=8, ngf=4)
    with pytest.raises(VidganError, match="vgan makes 1 to 8 frames"):
        g.sample_videos(2, 9)
    with pytest.raises(VidganError, match="unconditional"):
        g.sample_videos(2, labels=torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="latents b 8"):
        g(torch.randn(2, 9))
    with pytest.raises(VidganError, match="powers of two"):
        VGANGenerator(image_size=24)


@pytest.mark.parametrize(("frames", "logits"), [(8, 1), (15, 1), (16, 2), (33, 4)])
def test_discriminator_shapes(frames, logits):
    d = VGANDiscriminator(image_size=32, ndf=4)
    assert d.min_frames == 8
    out, classes = d(torch.randn(2, 3, frames, 32, 32))
    assert out.shape == (2, logits) and classes is None


def test_discriminator_rejects_short_or_wrong_input():
    d = VGANDiscriminator(image_size=32, ndf=4)
    with pytest.raises(ValueError, match="t >= 8"):
        d(torch.randn(2, 3, 7, 32, 32))
    with pytest.raises(ValueError, match="c=3"):
        d(torch.randn(2, 1, 8, 32, 32))


def test_recipe_trains(tmp_path):
    run_dir = tmp_path / "run"
    try:
        main(["run", "recipe=vgan", "train.steps=2", f"run_dir={run_dir}", *SMALL])
    except SystemExit as exit:
        assert exit.code == 0
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2]
    assert {"d_video", "g"} <= rows[0].keys()
    assert (run_dir / "samples" / "step-0000002.gif").is_file()
