"""Per-frame content features, the input of ACD (``vidgan.registry.FEATURES``).

A feature is a class built with its options; calling it maps frames to vectors. Built in:

- ``shape-colour``: the mean RGB colour (0..255) of a frame's foreground pixels, those
  brighter than ``threshold`` (a fraction of full brightness) in some channel: the
  feature the MoCoGAN paper used for its shape-motion ACD (one shape on a black
  background). A frame without foreground pixels gets black, ``(0, 0, 0)``, so a shape
  that vanishes counts as a change of content.

Example:
    >>> import torch
    >>> from vidgan.registry import FEATURES
    >>> frames = torch.full((1, 3, 4, 4), -1.0)
    >>> frames[0, 0, 1:3, 1:3] = 1.0  # a red square on black
    >>> FEATURES.build("shape-colour")(frames)
    tensor([[255.,   0.,   0.]])
"""

from __future__ import annotations

import torch

from vidgan.errors import VidganError
from vidgan.registry import FEATURES


@FEATURES.register("shape-colour")
class ShapeColour:
    """Mean colour of the foreground; see the module doc.

    Args:
        threshold: a pixel is foreground when a channel exceeds this fraction of full brightness.

    Shape:
        frames ``b c h w`` in [-1, 1] (c = 1 or 3) -> ``b c`` in [0, 255].
    """

    def __init__(self, threshold: float = 0.2):
        if not 0 <= threshold < 1:
            raise VidganError(f"shape-colour: threshold must lie in [0, 1), got {threshold}")
        self.threshold = threshold

    def __call__(self, frames: torch.Tensor) -> torch.Tensor:
        colour = (frames.float().clamp(-1, 1) + 1) * 127.5  # b c h w in 0..255
        mask = (colour.amax(1, keepdim=True) > self.threshold * 255).float()  # b 1 h w
        area = mask.sum((2, 3))  # b 1
        return (colour * mask).sum((2, 3)) / area.clamp(min=1)
