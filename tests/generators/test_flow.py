"""flow: a background and a sprite per video, the sprite moved by a dense flow in every frame."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from vidgan.generators.flow import FlowDecoder, FlowGenerator


class Fixed(nn.Module):
    """A stand-in frame decoder: the same background and sprite (colours, alpha) for every code."""

    def __init__(self, layers: torch.Tensor):
        super().__init__()
        self.layers = layers

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.layers.expand(len(z), -1, -1, -1)


def square_scene(size: int = 16) -> torch.Tensor:
    """Background -1 (black); sprite: a white 4x4 square (alpha 1) at rows/columns 6..9, elsewhere alpha 0."""
    layers = torch.full((1, 7, size, size), -1.0)
    layers[:, 3:, 6:10, 6:10] = 1.0  # sprite colours and alpha
    return layers


def constant_flow(generator: FlowGenerator, dx: float, dy: float):
    def flow(z):
        field = torch.tensor([dx, dy]).reshape(1, 2, 1, 1)
        return field.expand(len(z), 2, generator.image_size, generator.image_size)
    return flow


def test_zero_flow_shows_the_sprite_over_the_background_in_every_frame():
    g = FlowGenerator(image_size=16, ngf=4).eval()
    g.decoder = Fixed(square_scene())
    g.frame_flow = constant_flow(g, 0.0, 0.0)
    video = g.sample_videos(2, 3)[0]
    expected = torch.full((3, 16, 16), -1.0)
    expected[:, 6:10, 6:10] = 1.0
    torch.testing.assert_close(video, expected[None, :, None].expand(2, 3, 3, 16, 16))


def test_a_constant_flow_moves_the_sprite_as_a_whole():
    g = FlowGenerator(image_size=16, ngf=4).eval()
    g.decoder = Fixed(square_scene())
    g.frame_flow = constant_flow(g, -4 / 16 * 2 / 2, 0.0)  # sample 2 pixels to the left: the square moves right
    frame = g.sample_videos(1, 1)[0][0, 0, 0]
    expected = torch.full((16, 16), -1.0)
    expected[6:10, 8:12] = 1.0
    torch.testing.assert_close(frame, expected)


def test_the_category_picks_its_own_flow_head():
    decoder = FlowDecoder(dim_in=3, size=8, heads=2, width=4).eval()
    code = torch.randn(1, 3)
    both = decoder(code, torch.tensor([[1.0, 1.0]]))
    first, second = decoder(code, torch.tensor([[1.0, 0.0]])), decoder(code, torch.tensor([[0.0, 1.0]]))
    torch.testing.assert_close(both, first + second)
    assert first.shape == (1, 2, 8, 8) and not torch.allclose(first, second)


def test_the_flow_is_bounded_and_the_background_is_still():
    g = FlowGenerator(image_size=16, ngf=4, dim_z_category=3, max_flow=0.25).eval()
    z, _ = g.sample_latents(2, 4, torch.Generator().manual_seed(0))
    with torch.no_grad():
        flow = g.frame_flow(z.flatten(0, 1))
        video = g(z)
    assert flow.shape == (8, 2, 16, 16) and flow.abs().max() <= 0.25
    assert not torch.allclose(video[:, :, 0], video[:, :, 3])  # the motion code moves the sprite


@pytest.mark.parametrize("flow_size,max_flow", [(3, 1.0), (32, 1.0), (8, 0.0)])
def test_bad_options_are_errors(flow_size, max_flow):
    with pytest.raises(ValueError, match="flow_size|max_flow"):
        FlowGenerator(image_size=16, ngf=4, flow_size=flow_size, max_flow=max_flow)
