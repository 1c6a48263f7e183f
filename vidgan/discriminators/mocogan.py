"""MoCoGAN's image, patch-image, video, patch-video and categorical-video discriminators.

At 64×64 the layers are exactly the original's (ndf=64, kernel 4, LeakyReLU 0.2, batch
norm after every convolution but the first and last, no biases), so original weights
convert (see :mod:`vidgan.convert`). Instance noise (``noise_sigma`` > 0) is added to
the input of every convolution but the last while training.

``norm`` picks the normalisation: ``batch`` (the original's), ``spectral`` (spectral
normalisation of every convolution's weight, head included, and no batch norm: each
layer is 1-Lipschitz, and real and fake batches no longer share statistics that tell
them apart) or ``none``.
"""

from __future__ import annotations

import torch
from einops import reduce
from torch import nn

from torch.nn.utils.parametrizations import spectral_norm

from vidgan.errors import VidganError
from vidgan.layers import ConvBlock, check_image_size
from vidgan.registry import DISCRIMINATORS


NORMS = ("batch", "spectral", "none")


def _down_stack(dims: int, widths: list[int], head: nn.Module, noise_sigma: float,
                noise_before_head: bool, norm: str = "batch") -> nn.Sequential:
    """Stride-2 (spatially) convolutions through ``widths`` followed by ``head``."""
    if norm not in NORMS:
        raise VidganError(f"discriminator norm must be one of {', '.join(NORMS)}, got {norm!r}")
    conv = nn.Conv2d if dims == 2 else nn.Conv3d
    batch_norm = nn.BatchNorm2d if dims == 2 else nn.BatchNorm3d
    wrap = spectral_norm if norm == "spectral" else (lambda module: module)
    stride, padding = (2, 1) if dims == 2 else ((1, 2, 2), (0, 1, 1))
    blocks = []
    for i, (c_in, c_out) in enumerate(zip(widths, widths[1:])):
        blocks.append(ConvBlock(wrap(conv(c_in, c_out, 4, stride, padding, bias=False)),
                                batch_norm(c_out) if i > 0 and norm == "batch" else None,
                                nn.LeakyReLU(0.2, inplace=True), noise_sigma))
    blocks.append(ConvBlock(wrap(head), noise_sigma=noise_sigma if noise_before_head else 0.0))
    return nn.Sequential(*blocks)


class _Discriminator(nn.Module):
    view = "frames"
    min_frames = 1

    def __init__(self, channels: int, image_size: int):
        super().__init__()
        self.channels = channels
        self.image_size = image_size

    def check_input(self, x: torch.Tensor) -> None:
        ndim = 4 if self.view == "frames" else 5
        layout = "b c h w" if ndim == 4 else "b c t h w"
        expected = (self.channels, self.image_size, self.image_size)
        got = (x.shape[1], x.shape[-2], x.shape[-1]) if x.ndim == ndim else None
        if got != expected or (ndim == 5 and x.shape[2] < self.min_frames):
            frames = f", t >= {self.min_frames}" if ndim == 5 else ""
            raise ValueError(
                f"{type(self).__name__} expects {layout} with c={self.channels}, "
                f"h=w={self.image_size}{frames}; got {tuple(x.shape)}"
            )


@DISCRIMINATORS.register("image")
class ImageDiscriminator(_Discriminator):
    """DCGAN image discriminator: one real/fake logit per frame.

    Shape:
        x: ``b c h w``; logits: ``b``.

    Example:
        >>> ImageDiscriminator()(torch.randn(2, 3, 64, 64))[0].shape
        torch.Size([2])
    """

    def __init__(self, channels: int = 3, image_size: int = 64, ndf: int = 64, noise_sigma: float = 0.0,
                 norm: str = "batch"):
        super().__init__(channels, image_size)
        n = check_image_size(image_size, "image") - 2
        widths = [channels] + [ndf * 2 ** i for i in range(n)]
        self.net = _down_stack(2, widths, nn.Conv2d(widths[-1], 1, 4, 1, 0, bias=False),
                               noise_sigma, noise_before_head=False, norm=norm)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, None]:
        self.check_input(x)
        return self.net(x).flatten(), None


@DISCRIMINATORS.register("patch-image")
class PatchImageDiscriminator(_Discriminator):
    """Patch image discriminator: a map of logits, one per 16×16-pixel-strided patch.

    Shape:
        x: ``b c h w``; logits: ``b h/16 w/16``.

    Example:
        >>> PatchImageDiscriminator()(torch.randn(2, 3, 64, 64))[0].shape
        torch.Size([2, 4, 4])
    """

    def __init__(self, channels: int = 3, image_size: int = 64, ndf: int = 64, noise_sigma: float = 0.0,
                 norm: str = "batch"):
        super().__init__(channels, image_size)
        check_image_size(image_size, "patch-image")
        widths = [channels, ndf, ndf * 2, ndf * 4]
        self.net = _down_stack(2, widths, nn.Conv2d(ndf * 4, 1, 4, 2, 1, bias=False),
                               noise_sigma, noise_before_head=True, norm=norm)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, None]:
        self.check_input(x)
        return self.net(x)[:, 0], None


@DISCRIMINATORS.register("video")
class VideoDiscriminator(_Discriminator):
    """3D-convolutional video discriminator: one logit per 16-frame window.

    Convolutions stride 2 in space and 1 in time, so a clip of t frames gives
    ``t - 3·n - 3`` logits (n = log2(image_size) - 2 strided layers; 1 logit for 16
    frames at 64×64).

    Shape:
        x: ``b c t h w``; logits: ``b t'``.

    Example:
        >>> VideoDiscriminator()(torch.randn(2, 3, 16, 64, 64))[0].shape
        torch.Size([2, 1])
    """

    view = "clips"

    def __init__(self, channels: int = 3, image_size: int = 64, ndf: int = 64,
                 noise_sigma: float = 0.0, norm: str = "batch", outputs: int = 1):
        super().__init__(channels, image_size)
        n = check_image_size(image_size, "video") - 2
        self.min_frames = 3 * n + 4
        widths = [channels] + [ndf * 2 ** i for i in range(n)]
        self.net = _down_stack(3, widths, nn.Conv3d(widths[-1], outputs, 4, 1, 0, bias=False),
                               noise_sigma, noise_before_head=False, norm=norm)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, None]:
        self.check_input(x)
        return self.net(x)[:, 0, :, 0, 0], None


@DISCRIMINATORS.register("categorical-video")
class CategoricalVideoDiscriminator(VideoDiscriminator):
    """Video discriminator that also classifies the action category (1 + k outputs).

    Shape:
        x: ``b c t h w``; logits: ``b t'``; class logits: ``b k`` (averaged over t').

    Example:
        >>> d = CategoricalVideoDiscriminator(dim_categorical=6)
        >>> [o.shape for o in d(torch.randn(2, 3, 16, 64, 64))]
        [torch.Size([2, 1]), torch.Size([2, 6])]
    """

    def __init__(self, channels: int = 3, image_size: int = 64, ndf: int = 64,
                 noise_sigma: float = 0.0, norm: str = "batch", dim_categorical: int = 6):
        if dim_categorical < 1:
            raise ValueError(f"categorical-video needs dim_categorical >= 1, got {dim_categorical}")
        super().__init__(channels, image_size, ndf, noise_sigma, norm, outputs=1 + dim_categorical)
        self.dim_categorical = dim_categorical

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        self.check_input(x)
        h = self.net(x)[:, :, :, 0, 0]
        return h[:, 0], reduce(h[:, 1:], "b k t -> b k", "mean")


@DISCRIMINATORS.register("patch-video")
class PatchVideoDiscriminator(_Discriminator):
    """Patch video discriminator: a map of logits over time and space.

    Shape:
        x: ``b c t h w``; logits: ``b (t-12) h/16 w/16``.

    Example:
        >>> PatchVideoDiscriminator()(torch.randn(2, 3, 16, 64, 64))[0].shape
        torch.Size([2, 4, 4, 4])
    """

    view = "clips"
    min_frames = 13

    def __init__(self, channels: int = 3, image_size: int = 64, ndf: int = 64, noise_sigma: float = 0.0,
                 norm: str = "batch"):
        super().__init__(channels, image_size)
        check_image_size(image_size, "patch-video")
        widths = [channels, ndf, ndf * 2, ndf * 4]
        self.net = _down_stack(3, widths, nn.Conv3d(ndf * 4, 1, 4, (1, 2, 2), (0, 1, 1), bias=False),
                               noise_sigma, noise_before_head=False, norm=norm)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, None]:
        self.check_input(x)
        return self.net(x)[:, 0], None
