"""The DCGAN frame decoder that MoCoGAN uses as its image generator G_I."""

from __future__ import annotations

import torch
from einops import rearrange
from torch import nn

from vidgan.layers import ConvBlock, check_image_size
from vidgan.registry import GENERATORS


@GENERATORS.register("dcgan-frames")
class DCGANFrameDecoder(nn.Module):
    """Decodes latent vectors into frames with transposed convolutions.

    ConvTranspose2d(dim_z → 8·ngf, 4, 1, 0), then ×2 upsamplings halving the channels
    down to ngf, then ConvTranspose2d(ngf → channels, 4, 2, 1) and tanh; batch norm and
    ReLU in between, no biases. At 64×64 these are exactly the original's layers; other
    power-of-two sizes add or remove one upsampling per factor of two.

    Shape:
        z: ``b d`` with ``d = dim_z``; output: ``b c h w`` in [-1, 1], ``h = w = image_size``.

    Example:
        >>> DCGANFrameDecoder(dim_z=60)(torch.randn(2, 60)).shape
        torch.Size([2, 3, 64, 64])
    """

    name = "dcgan-frames"

    def __init__(self, dim_z: int = 60, channels: int = 3, image_size: int = 64, ngf: int = 64):
        super().__init__()
        upsamplings = check_image_size(image_size, self.name) - 2
        self.dim_z = dim_z
        widths = [ngf * 2 ** i for i in reversed(range(upsamplings))]  # 64px: 8,4,2,1 × ngf
        layers = [ConvBlock(nn.ConvTranspose2d(dim_z, widths[0], 4, 1, 0, bias=False),
                            nn.BatchNorm2d(widths[0]), nn.ReLU(True))]
        for c_in, c_out in zip(widths, widths[1:]):
            layers.append(ConvBlock(self.upsampling(c_in, c_out), nn.BatchNorm2d(c_out), nn.ReLU(True)))
        layers.append(ConvBlock(self.upsampling(widths[-1], channels), act=nn.Tanh()))
        self.net = nn.Sequential(*layers)

    def upsampling(self, c_in: int, c_out: int) -> nn.Module:
        """A ×2 upsampling convolution without bias."""
        return nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.ndim != 2 or z.shape[1] != self.dim_z:
            raise ValueError(f"{self.name} expects latents b {self.dim_z}, got {tuple(z.shape)}")
        return self.net(rearrange(z, "b d -> b d 1 1"))


@GENERATORS.register("resize-conv-frames")
class ResizeConvFrameDecoder(DCGANFrameDecoder):
    """``dcgan-frames`` whose ×2 upsamplings resize and then convolve: nearest-neighbour
    ×2, then Conv2d(3, 1, 1), instead of ConvTranspose2d(4, 2, 1).

    A stride-2 transposed convolution with a 4×4 kernel adds its kernel's taps unevenly
    (each output pixel gets 4 of the 16, a different 4 by parity), which draws a
    checkerboard over flat regions (Odena et al., "Deconvolution and checkerboard
    artifacts", Distill 2016); resizing first weights every output pixel alike. The 3×3
    convolution at the larger size costs 9/4 of the transposed one's FLOPs.

    Shape:
        as ``dcgan-frames``: ``b d`` -> ``b c h w`` in [-1, 1].

    Example:
        >>> ResizeConvFrameDecoder(dim_z=60, image_size=32, ngf=8)(torch.randn(2, 60)).shape
        torch.Size([2, 3, 32, 32])
    """

    name = "resize-conv-frames"

    def upsampling(self, c_in: int, c_out: int) -> nn.Module:
        return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c_in, c_out, 3, 1, 1, bias=False))


@GENERATORS.register("modulated-frames")
class ModulatedFrameDecoder(DCGANFrameDecoder):
    """``dcgan-frames`` whose batch norms are scaled and shifted by the content code.

    Every hidden layer's batch norm loses its own scale and shift; a linear map of the
    first ``dim_style`` values of the latent (the content code, first in MoCoGAN's
    latents; the video generators pass its size) gives them per sample instead, as
    StyleGAN's style modulation or a conditional batch norm does. So the content sets
    every layer's channels directly, not only through the first layer, where the whole
    latent, motion included, still enters. The maps start at scale 1 and shift 0: the
    decoder starts as ``dcgan-frames``.

    Shape:
        as ``dcgan-frames``: ``b d`` -> ``b c h w`` in [-1, 1].

    Example:
        >>> ModulatedFrameDecoder(dim_z=60, image_size=32, ngf=8)(torch.randn(2, 60)).shape
        torch.Size([2, 3, 32, 32])
    """

    name = "modulated-frames"

    def __init__(self, dim_z: int = 60, channels: int = 3, image_size: int = 64, ngf: int = 64, dim_style: int = 50):
        super().__init__(dim_z, channels, image_size, ngf)
        if not 0 < dim_style <= dim_z:
            raise ValueError(f"{self.name}: dim_style must be from 1 to dim_z ({dim_z}), got {dim_style}")
        self.dim_style = dim_style
        hidden = self.net[:-1]
        for block in hidden:
            block.norm = nn.BatchNorm2d(block.norm.num_features, affine=False)
        self.styles = nn.ModuleList(nn.Linear(dim_style, 2 * block.norm.num_features) for block in hidden)
        for style in self.styles:
            nn.init.zeros_(style.weight)
            nn.init.zeros_(style.bias)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.ndim != 2 or z.shape[1] != self.dim_z:
            raise ValueError(f"{self.name} expects latents b {self.dim_z}, got {tuple(z.shape)}")
        h, style = rearrange(z, "b d -> b d 1 1"), z[:, :self.dim_style]
        for block, to_style in zip(self.net[:-1], self.styles):
            scale, shift = rearrange(to_style(style), "b (two c) -> two b c 1 1", two=2)
            h = block.act(block.norm(block.conv(block.noise(h))) * (1 + scale) + shift)
        return self.net[-1](h)
