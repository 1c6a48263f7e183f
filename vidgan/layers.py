"""Building blocks shared by the generators and discriminators."""

from __future__ import annotations

import math

import torch
from torch import nn

from vidgan.errors import VidganError


def check_image_size(image_size: int, who: str) -> int:
    """Return log2(image_size), or fail unless it is a power of two of at least 16."""
    if image_size < 16 or image_size & (image_size - 1):
        raise VidganError(
            f"{who} supports image sizes that are powers of two >= 16 (16, 32, 64, 128, ...), "
            f"got {image_size}; set data.image_size accordingly"
        )
    return int(math.log2(image_size))


class InstanceNoise(nn.Module):
    """Adds N(0, sigma^2) noise to its input while training (off when sigma is 0).

    The original adds it in evaluation too; here evaluation is deterministic.
    """

    def __init__(self, sigma: float = 0.0):
        super().__init__()
        self.sigma = sigma

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and self.sigma > 0:
            return x + self.sigma * torch.randn_like(x)
        return x

    def extra_repr(self) -> str:
        return f"sigma={self.sigma}"


class ConvBlock(nn.Module):
    """noise → convolution → optional batch norm → optional activation."""

    def __init__(self, conv: nn.Module, norm: nn.Module | None = None,
                 act: nn.Module | None = None, noise_sigma: float = 0.0):
        super().__init__()
        self.noise = InstanceNoise(noise_sigma)
        self.conv = conv
        self.norm = norm if norm is not None else nn.Identity()
        self.act = act if act is not None else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.norm(self.conv(self.noise(x))))
