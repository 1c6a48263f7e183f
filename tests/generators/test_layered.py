"""layered: a still background per video and a masked foreground per frame."""

from __future__ import annotations

import pytest
import torch

from vidgan.generators.layered import LayeredGenerator, translate


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


@pytest.mark.parametrize("options", [{}, {"foreground": "video"}, {"foreground": "video", "shift": True},
                                     {"foreground": "blend", "shift": True}])
def test_frames_decoded_alone_equal_the_same_frames_of_the_video(options):
    g = LayeredGenerator(image_size=16, ngf=4, dim_z_category=3, **options).eval()
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


@pytest.mark.parametrize("options", [{}, {"shift": True}])
def test_a_video_foreground_keeps_the_video_s_colours_and_changes_only_its_mask(options):
    g = LayeredGenerator(image_size=16, ngf=4, dim_z_category=2, foreground="video", **options).eval()
    assert g.decoder.net[-1].conv.out_channels == 1  # per frame: the mask alone
    assert g.background.net[-1].conv.out_channels == 6  # per video: background and foreground colours
    z, _ = g.sample_latents(2, 5, torch.Generator().manual_seed(2))
    with torch.no_grad():
        video = g(z)
        scene = g.background(z[:, 0, :g.dim_z_content])
        layer = torch.cat([scene[:, None, 3:].expand(-1, 5, -1, -1, -1).flatten(0, 1), g.decoder(z.flatten(0, 1))], 1)
        if g.shift is not None:  # the colours and the mask moved together
            layer = translate(layer, torch.tanh(g.shift(z.flatten(0, 1)[:, 50:52], z.flatten(0, 1)[:, 52:])))
    moved = layer.reshape(2, 5, 4, 16, 16).transpose(1, 2)
    background, colours, mask = scene[:, :3, None], moved[:, :3], (moved[:, 3:] + 1) / 2
    torch.testing.assert_close(video, background + mask * (colours - background))
    if g.shift is None:  # unmoved: every frame's foreground has the video's colours
        torch.testing.assert_close(colours, scene[:, 3:, None].expand_as(colours))


def test_an_unknown_foreground_says_which_are_allowed():
    with pytest.raises(ValueError, match="foreground must be one of frame, video, blend, got 'clip'"):
        LayeredGenerator(image_size=16, ngf=4, foreground="clip")


def test_a_shut_motion_gate_draws_one_foreground_a_video_that_only_the_translation_moves():
    g = LayeredGenerator(image_size=16, ngf=4, dim_z_category=2, shift=True, motion_gate=True).eval()
    z, _ = g.sample_latents(2, 5, torch.Generator().manual_seed(7))
    with torch.no_grad():
        moving = g(z)
        g.shift[-1].weight.zero_()  # no translation
        still = g(z)
        g.motion_gate.fill_(1.0)  # the gate open: the motion code reaches the frame decoder
        opened = g(z)
    assert LayeredGenerator(image_size=16, ngf=4, motion_gate=True).motion_gate.item() == 0.0
    assert not torch.allclose(moving[:, :, 0], moving[:, :, 4])
    torch.testing.assert_close(still, still[:, :, :1].expand_as(still))
    assert not torch.allclose(opened[:, :, 0], opened[:, :, 4])


def test_the_motion_gate_starts_shut_and_learns_from_the_frames():
    g = LayeredGenerator(image_size=16, ngf=4, motion_gate=True)
    video = g.sample_videos(2, 4)[0]
    (video * torch.randn(video.shape, generator=torch.Generator().manual_seed(8))).sum().backward()
    assert g.motion_gate.grad is not None and float(g.motion_gate.grad) != 0.0


def test_a_blend_foreground_starts_as_the_video_s_still_one_and_its_weight_moves_it_to_the_frame_s():
    g = LayeredGenerator(image_size=16, ngf=4, dim_z_category=2, foreground="blend").eval()
    assert g.background.net[-1].conv.out_channels == 3 and g.blend.item() == 0.0
    z, _ = g.sample_latents(2, 5, torch.Generator().manual_seed(4))
    frames = z.flatten(0, 1)
    with torch.no_grad():
        still = g(z)
        background = g.background(frames[:, :g.dim_z_content])
        unmoved = g.decoder(torch.cat([frames[:, :-g.dim_z_motion], torch.zeros(10, g.dim_z_motion)], 1))
        drawn = g.decoder(frames)
        outputs = {}
        for weight in (1.0, 0.25):
            g.blend.fill_(weight)
            outputs[weight] = g(z)
    per_frame = g.composite(drawn, background).reshape(2, 5, 3, 16, 16).transpose(1, 2)
    quarter = g.composite(unmoved + 0.25 * (drawn - unmoved), background).reshape(2, 5, 3, 16, 16).transpose(1, 2)
    torch.testing.assert_close(still, still[:, :, :1].expand_as(still))  # weight 0: one foreground
    torch.testing.assert_close(still[:, :, 0], g.composite(unmoved[::5], background[::5]))  # motion code 0
    torch.testing.assert_close(outputs[1.0], per_frame)  # weight 1: the frame decoder's, as foreground="frame"
    torch.testing.assert_close(outputs[0.25], quarter)
    assert not torch.allclose(outputs[0.25][:, :, 0], outputs[0.25][:, :, 4])


def test_the_blend_weight_learns_from_the_frames():
    g = LayeredGenerator(image_size=16, ngf=4, foreground="blend", shift=True)
    video = g.sample_videos(2, 4)[0]
    (video * torch.randn(video.shape, generator=torch.Generator().manual_seed(8))).sum().backward()
    assert g.blend.grad is not None and g.blend.grad.item() != 0.0


def test_a_checkpoint_that_kept_the_translation_under_net_loads_unchanged():
    g = LayeredGenerator(image_size=16, ngf=4, dim_z_category=2, shift=True).eval()
    old = {k.replace("shift.", "shift.net.", 1) if k.startswith("shift.") else k: v for k, v in g.state_dict().items()}
    assert "shift.net.2.weight" in old and "shift.2.weight" not in old
    loaded = LayeredGenerator(image_size=16, ngf=4, dim_z_category=2, shift=True).eval()
    loaded.load_state_dict(old)
    z, _ = g.sample_latents(2, 4, torch.Generator().manual_seed(3))
    with torch.no_grad():
        torch.testing.assert_close(loaded(z), g(z))


def test_translate_moves_by_whole_pixels_and_fills_with_background():
    images = torch.rand(1, 3, 8, 8) * 2 - 1
    moved = translate(images, torch.tensor([[0.5, 0.0]]))  # half the half-width: 2 px, sampled from x + 2
    torch.testing.assert_close(moved[..., :-2], images[..., 2:])
    assert torch.equal(moved[..., -2:], torch.full_like(moved[..., -2:], -1))

