"""layered: a still background per video and a masked foreground per frame."""

from __future__ import annotations

import torch

from vidgan.generators.layered import LayeredGenerator


def test_composite_takes_the_foreground_where_the_mask_is_one_and_the_background_where_zero():
    background = torch.full((2, 3, 4, 4), -0.5)
    layer = torch.cat([torch.full((2, 3, 4, 4), 0.75), torch.full((2, 1, 4, 4), -1.0)], dim=1)
    layer[:, 3, :2] = 1.0  # mask 1 on the top half, 0 below
    out = LayeredGenerator.composite(layer, background)
    assert torch.equal(out[:, :, :2], torch.full((2, 3, 2, 4), 0.75))
    assert torch.equal(out[:, :, 2:], torch.full((2, 3, 2, 4), -0.5))
    half = LayeredGenerator.composite(torch.cat([layer[:, :3], torch.zeros(2, 1, 4, 4)], 1), background)
    torch.testing.assert_close(half, torch.full((2, 3, 4, 4), (0.75 - 0.5) / 2))  # mask 1/2: the mean


def test_where_the_mask_is_zero_every_frame_is_the_video_s_background():
    g = LayeredGenerator(image_size=16, ngf=4, dim_z_category=2).eval()

    class Unmasked(torch.nn.Module):  # a foreground that changes with every frame's latent, mask 0
        def forward(self, z):
            colour = torch.tanh(z[:, -3:])[:, :, None, None].expand(-1, 3, 16, 16)
            return torch.cat([colour, -torch.ones(len(z), 1, 16, 16)], dim=1)

    g.decoder = Unmasked()
    z, _ = g.sample_latents(2, 6, torch.Generator().manual_seed(0))
    with torch.no_grad():
        videos = g(z)
        background = g.background(z[:, 0, :g.dim_z_content])
    assert torch.equal(videos, background[:, :, None].expand_as(videos))


def test_frames_decoded_alone_equal_the_same_frames_of_the_video():
    g = LayeredGenerator(image_size=16, ngf=4, dim_z_category=3).eval()
    z, _ = g.sample_latents(2, 5, torch.Generator().manual_seed(3))
    with torch.no_grad():
        video = g(z)
        frames = g.decode_frames(z[:, 2])
    torch.testing.assert_close(frames, video[:, :, 2])


def test_motion_changes_the_frames_but_not_the_background():
    g = LayeredGenerator(image_size=16, ngf=4).eval()
    z, _ = g.sample_latents(1, 4, torch.Generator().manual_seed(0))
    with torch.no_grad():
        video = g(z)
        background = g.background(z[:, 0, :g.dim_z_content])
    assert not torch.allclose(video[:, :, 0], video[:, :, 3])
    assert background.shape == (1, 3, 16, 16)
    assert g.background.net[0].conv.in_channels == g.dim_z_content  # the background sees the content alone
