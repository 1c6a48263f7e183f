"""A video generator that moves a drawn sprite over a still background by a dense flow per frame."""

from __future__ import annotations

import torch
from einops import rearrange, repeat
from torch import nn
from torch.nn import functional as F

from vidgan.generators.mocogan import MoCoGANGenerator, ShiftHeads
from vidgan.layers import check_image_size
from vidgan.registry import GENERATORS


class FlowDecoder(nn.Module):
    """A small decoder of per-frame codes into flow fields, one field per category.

    A field is a translation (:class:`ShiftHeads` of the code, as ``mocogan-warp``'s) plus
    a local flow: linear to ``width`` × 4 × 4, then ×2 upsamplings (nearest, 3×3
    convolution, batch norm, ReLU) to ``size`` × ``size`` and a 3×3 convolution to
    ``2 · heads`` channels. The category's code picks (weighs) its head. The translation
    starts random, so the first videos already move and the critics' gradients can shape
    the motion; the local flow starts near zero (its last weights scaled by 1/20), so the
    sprite starts whole instead of scrambled.

    Shape:
        code ``n d``, weights ``n heads`` -> flow ``n 2 size size`` (x, y).
    """

    def __init__(self, dim_in: int, size: int, heads: int, width: int):
        super().__init__()
        self.width, self.heads = width, heads
        self.shift = ShiftHeads(dim_in, heads, width)
        self.project = nn.Linear(dim_in, width * 16)
        blocks = []
        for _ in range(check_image_size(size * 4, "flow size") - 4):  # 4 -> size
            blocks += [nn.Upsample(scale_factor=2), nn.Conv2d(width, width, 3, 1, 1, bias=False),
                       nn.BatchNorm2d(width), nn.ReLU(True)]
        self.net = nn.Sequential(nn.BatchNorm2d(width), nn.ReLU(True), *blocks,
                                 nn.Conv2d(width, 2 * heads, 3, 1, 1))
        nn.init.zeros_(self.net[-1].bias)
        with torch.no_grad():
            self.net[-1].weight.mul_(0.05)

    def forward(self, code: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        h = rearrange(self.project(code), "n (c y x) -> n c y x", y=4, x=4)
        local = rearrange(self.net(h), "n (k xy) y x -> n k xy y x", xy=2)
        shift = self.shift(weights, code)[:, :, None, None]
        return torch.einsum("nk,nkcyx->ncyx", weights.to(local.dtype), local) + shift.to(local.dtype)


@GENERATORS.register("flow")
class FlowGenerator(MoCoGANGenerator):
    """A still background and a sprite drawn once per video; a dense flow moves the sprite in every frame.

    From the content code the frame decoder draws a background image and a sprite (colours
    and an alpha mask). From [content, motion(t)] a small decoder draws a flow field at
    ``flow_size`` × ``flow_size`` for every frame (one output head per category, as
    ``mocogan-warp``'s translation heads: the category's code picks its head), upsampled to
    the frame's size. Frame t is the sprite resampled along that flow, composited over the
    background by its resampled alpha: ``frame = a · sprite + (1 - a) · background``
    (occlusion decoding). A constant flow moves the sprite as a whole (``mocogan-warp``'s
    motion); a flow that differs across the sprite bends it, so arms and legs move while the
    person keeps its colours, and the background never changes. What the sprite does not
    hold cannot appear: a camera that moves through a scene is beyond it.

    ``max_flow`` bounds the flow (``tanh``), as a fraction of the frame's half-size.

    Shape:
        as ``mocogan``: ``sample_videos(n)`` gives ``b c t h w`` in [-1, 1] and labels ``b``.

    Example:
        >>> g = FlowGenerator(image_size=32, ngf=8, dim_z_category=2)
        >>> g.sample_videos(2, 5)[0].shape
        torch.Size([2, 3, 5, 32, 32])
    """

    decoded = ("content",)

    def __init__(self, channels: int = 3, image_size: int = 64, video_length: int = 16,
                 dim_z_content: int = 50, dim_z_category: int = 0, dim_z_motion: int = 10,
                 ngf: int = 32, content: str = "gaussian-content",
                 category: str = "one-hot-category", motion: str = "sine-motion",
                 decoder: str = "dcgan-frames", motion_noise: float = 1.0, flow_size: int = 16,
                 flow_width: int = 64, max_flow: float = 1.0, background: bool = True):
        super().__init__(channels, image_size, video_length, dim_z_content, dim_z_category,
                         dim_z_motion, ngf, content, category, motion, decoder, motion_noise)
        if flow_size < 4 or flow_size & (flow_size - 1) or flow_size > image_size:
            raise ValueError(f"flow_size must be a power of two from 4 to image_size, got {flow_size}")
        if not max_flow > 0:
            raise ValueError(f"max_flow must be positive, got {max_flow}")
        self.max_flow = max_flow
        self.background = background
        # one decoder draws the picture, or background and sprite (colours and alpha)
        self.decoder = self.build_decoder(decoder, dim_z_content, 2 * channels + 1 if background else channels, ngf)
        self.flow = FlowDecoder(dim_z_content + dim_z_motion, flow_size, max(dim_z_category, 1), flow_width)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Decode latents ``b t d`` into a video ``b c t h w``; the content is read from the
        first frame's latent."""
        b, t, _ = z.shape
        c = self.channels
        layers = self.decoder(z[:, 0, :self.dim_z_content]).float()
        sprite = layers[:, c:] if self.background else layers  # colours (and alpha)
        flow = self.frame_flow(rearrange(z, "b t d -> (b t) d"))  # (b t) 2 h w
        grid = repeat(self.identity(layers), "1 h w xy -> 1 (t h) w xy", t=t) \
            + rearrange(flow, "(b t) xy h w -> b (t h) w xy", b=b)
        # every frame's points sampled from its video's sprite at once (t grids stacked along h)
        moved = F.grid_sample(sprite + 1, grid, align_corners=False, padding_mode="zeros") - 1  # outside: -1
        moved = rearrange(moved, "b c (t h) w -> b c t h w", t=t)
        if not self.background:
            return moved
        alpha = (moved[:, -1:] + 1) / 2  # outside the sprite: 0, the background shows
        background = layers[:, :c, None]
        return background + alpha * (moved[:, :c] - background)

    def frame_flow(self, z: torch.Tensor) -> torch.Tensor:
        """Per-frame flows ``n 2 h w`` (x, y in grid units) from frame latents ``n d``."""
        content, category, motion = self.split_latent(z)
        weights = category if self.dim_z_category else torch.ones(len(z), 1, device=z.device)
        flow = self.flow(torch.cat([content, motion], dim=1), weights).float()
        flow = F.interpolate(flow, size=(self.image_size, self.image_size), mode="bilinear", align_corners=False)
        return self.max_flow * torch.tanh(flow)

    @staticmethod
    def identity(image: torch.Tensor) -> torch.Tensor:
        """The sampling grid that leaves an image ``b c h w`` as it is: ``1 h w 2`` (x, y)."""
        h, w = image.shape[-2:]
        theta = torch.eye(2, 3, device=image.device)[None]
        return F.affine_grid(theta, [1, 1, h, w], align_corners=False)

    def decode_frames(self, z: torch.Tensor) -> torch.Tensor:
        return self(z[:, None])[:, :, 0]
