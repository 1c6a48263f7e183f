"""A video critic that judges a few frames of a clip at fixed times, stacked as channels."""

from __future__ import annotations

import torch
from einops import rearrange
from torch import nn

from vidgan.discriminators.mocogan import _Discriminator, _down_stack
from vidgan.layers import check_image_size
from vidgan.registry import DISCRIMINATORS

RULER = (0, 1, 4, 9, 15)  # every gap from 1 to 15 frames but 2, 7, 10, 12 and 13 occurs once


@DISCRIMINATORS.register("sparse-video")
class SparseVideoDiscriminator(_Discriminator):
    """Judges the frames at ``frames`` of a clip together: one logit per clip.

    The trainer hands it only those frames of each real clip, and asks the generator for
    only those frames of each fake one (``frames`` is its view), so a step decodes
    ``len(frames)`` frames per clip instead of the whole clip: the critic's verdict is on
    how the picture changes over gaps of 1 to 15 frames at once, at the cost of an image
    critic (the sparse training of DIGAN, Yu et al. 2022, and StyleGAN-V, Skorokhodov et
    al. 2022, with the times fixed instead of drawn). The default times form a ruler whose
    pairwise gaps cover most distances in a 16-frame clip. The frames are stacked as
    channels into a DCGAN image critic (early fusion, as DIGAN's motion critic), so the
    first layer compares them pixel by pixel.

    With ``dim_categorical`` > 0 it also classifies the clip (class logits), as
    ``categorical-video``.

    Shape:
        x: ``b c k h w`` with ``k = len(frames)``; logits: ``b 1``; class logits: ``b k'``
        or None.

    Example:
        >>> d = SparseVideoDiscriminator(image_size=32, ndf=8, dim_categorical=4)
        >>> [o.shape for o in d(torch.randn(2, 3, 5, 32, 32))]
        [torch.Size([2, 1]), torch.Size([2, 4])]
    """

    view = "clips"

    def __init__(self, channels: int = 3, image_size: int = 64, ndf: int = 64, noise_sigma: float = 0.0,
                 norm: str = "batch", dim_categorical: int = 0, frames: tuple[int, ...] = RULER):
        super().__init__(channels, image_size)
        frames = tuple(int(f) for f in frames)
        if len(frames) < 2 or list(frames) != sorted(set(frames)) or frames[0] < 0:
            raise ValueError(f"frames must be at least 2 increasing frame indices from 0 up, got {list(frames)}")
        if dim_categorical < 0:
            raise ValueError(f"dim_categorical must be 0 (no classes) or more, got {dim_categorical}")
        self.frames = frames
        self.min_frames = len(frames)
        self.dim_categorical = dim_categorical
        n = check_image_size(image_size, "sparse-video") - 2
        widths = [channels * len(frames)] + [ndf * 2 ** i for i in range(n)]
        head = nn.Conv2d(widths[-1], 1 + dim_categorical, 4, 1, 0, bias=False)
        self.net = _down_stack(2, widths, head, noise_sigma, noise_before_head=False, norm=norm)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        self.check_input(x)
        if x.shape[2] != len(self.frames):
            raise ValueError(f"sparse-video expects the {len(self.frames)} frames {list(self.frames)} of a clip, "
                             f"got {x.shape[2]}")
        h = self.net(rearrange(x, "b c k h w -> b (k c) h w"))[:, :, 0, 0]
        return h[:, :1], (h[:, 1:] if self.dim_categorical else None)
