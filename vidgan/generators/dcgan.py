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

    def __init__(self, dim_z: int = 60, channels: int = 3, image_size: int = 64, ngf: int = 64):
        super().__init__()
        upsamplings = check_image_size(image_size, "dcgan-frames") - 2
        self.dim_z = dim_z
        widths = [ngf * 2 ** i for i in reversed(range(upsamplings))]  # 64px: 8,4,2,1 × ngf
        layers = [ConvBlock(nn.ConvTranspose2d(dim_z, widths[0], 4, 1, 0, bias=False),
                            nn.BatchNorm2d(widths[0]), nn.ReLU(True))]
        for c_in, c_out in zip(widths, widths[1:]):
            layers.append(ConvBlock(nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False),
                                    nn.BatchNorm2d(c_out), nn.ReLU(True)))
        layers.append(ConvBlock(nn.ConvTranspose2d(widths[-1], channels, 4, 2, 1, bias=False),
                                act=nn.Tanh()))
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.ndim != 2 or z.shape[1] != self.dim_z:
            raise ValueError(f"dcgan-frames expects latents b {self.dim_z}, got {tuple(z.shape)}")
        return self.net(rearrange(z, "b d -> b d 1 1"))
