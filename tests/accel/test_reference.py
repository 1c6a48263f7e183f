"""The reference mode's single frames: drawn the original MoCoGAN's way, from whole latent videos."""

import pytest
import torch
from einops import rearrange
from torch import nn

from vidgan import accel
from vidgan.errors import VidganError
from vidgan.generators.mocogan import MoCoGANGenerator


def test_original_images_are_frames_of_whole_latent_videos():
    g = MoCoGANGenerator(image_size=16, ngf=4, video_length=5, dim_z_category=3).eval()
    images, labels = accel.original_images(g, 6, torch.Generator().manual_seed(3))
    rng = torch.Generator().manual_seed(3)
    z, video_labels = g.sample_latents(6 * 2 * 5, 5, rng)  # the same draws, decoded in full
    with torch.no_grad():
        frames = rearrange(g(z), "b c t h w -> (b t) c h w")
    distance = (images.detach()[:, None] - frames[None]).flatten(2).abs().amax(2)  # image × frame
    match = distance.argmin(1)
    assert distance.min(1).values.max() < 1e-5
    assert match.unique().numel() == 6 and torch.equal(match, match.sort().values)  # distinct, in order
    assert torch.equal(labels, video_labels[match // 5])


def test_reference_mode_needs_a_mocogan_generator():
    with pytest.raises(VidganError, match="needs a generator with sample_latents and decode_frames"):
        accel.original_images(nn.Linear(2, 2), 3)
