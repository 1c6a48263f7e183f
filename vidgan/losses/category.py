"""The InfoGAN category loss of categorical MoCoGAN."""

from __future__ import annotations

import torch
from torch.nn import functional as F

from vidgan.registry import LOSSES


@LOSSES.register("infogan-category")
class InfoGANCategory:
    """Cross-entropy between a discriminator's class logits and category labels.

    The trainer applies it to real videos and their labels in the discriminator step,
    and to generated videos and the categories they were asked for in the generator
    step (the original's ``--use_categories`` and ``--use_infogan``).

    ``weight`` scales the loss in both steps (the original: 1).

    Shape:
        class_logits: ``b k``; labels: ``b`` int64; output: scalar.

    Example:
        >>> round(InfoGANCategory()(torch.zeros(2, 4), torch.tensor([0, 3])).item(), 4)
        1.3863
        >>> round(InfoGANCategory(weight=2)(torch.zeros(2, 4), torch.tensor([0, 3])).item(), 4)
        2.7726
    """

    def __init__(self, weight: float = 1.0):
        self.weight = weight

    def __call__(self, class_logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.weight * F.cross_entropy(class_logits, labels)
