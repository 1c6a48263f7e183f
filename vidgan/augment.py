"""Differentiable augmentation of what the discriminators see (``vidgan.registry.AUGMENTATIONS``).

With little data a discriminator memorises the real set; DiffAugment (Zhao et al., 2020)
counters that by augmenting **both** real and generated batches with the same kind of
random, differentiable transform before the discriminator, in the discriminator's and in
the generator's step, so the generator still gets gradients through it. A recipe turns it
on per critic: ``discriminators.video.augment=diffaugment``.

``diffaugment`` (built on kornia.augmentation), in DiffAugment's order:

- colour: brightness ×U(0.75, 1.25), saturation ×U(0, 2) (RGB only), contrast ×U(0.5, 1.5);
- translation: a shift of up to 1/8 of the height and width, zeros (black) padded in;
- cutout: a black square of half the frame's side at a random place inside the frame.

Each sample draws its own parameters; the frames of a clip share them (kornia's
``VideoSequential(same_on_frame=True)``), so augmentation never adds motion that the video
discriminator could learn to tell apart. Randomness comes from torch's global generator,
which the trainer seeds and checkpoints.

Example:
    >>> import torch
    >>> from vidgan.registry import AUGMENTATIONS
    >>> augment = AUGMENTATIONS.build("diffaugment")
    >>> augment(torch.zeros(2, 3, 8, 16, 16)).shape, augment(torch.zeros(5, 1, 16, 16)).shape
    (torch.Size([2, 3, 8, 16, 16]), torch.Size([5, 1, 16, 16]))
"""

from __future__ import annotations

import kornia.augmentation as K
import torch
from torch import nn

from vidgan.errors import VidganError
from vidgan.registry import AUGMENTATIONS

BRIGHTNESS, CONTRAST, SATURATION = 0, 1, 2  # kornia ColorJitter's order indices


@AUGMENTATIONS.register("diffaugment")
class DiffAugment(nn.Module):
    """DiffAugment's colour, translation and cutout for frames or clips; see the module doc.

    Args:
        policy: which transforms, comma-separated, from ``color``, ``translation``, ``cutout``.

    Shape:
        ``b c h w`` or ``b c t h w`` in [-1, 1] (c = 1 or 3) -> the same shape.
    """

    def __init__(self, policy: str = "color,translation,cutout"):
        super().__init__()
        names = [p.strip() for p in policy.split(",") if p.strip()]
        unknown = sorted(set(names) - {"color", "translation", "cutout"})
        if unknown or not names:
            raise VidganError(f"diffaugment: policy must name some of color, translation, cutout; got {policy!r}")
        self.policy = names
        brightness, contrast, saturation = (0.75, 1.25), (0.5, 1.5), (0.0, 2.0)
        self.colour = nn.ModuleDict({
            "rgb": K.ColorJitter(brightness, contrast, saturation, p=1.0,
                                 order=[BRIGHTNESS, SATURATION, CONTRAST]),
            "gray": K.ColorJitter(brightness, contrast, p=1.0, order=[BRIGHTNESS, CONTRAST]),
        })
        self.translation = K.RandomAffine(degrees=0, translate=(0.125, 0.125), padding_mode="zeros", p=1.0)
        self.cutout = K.RandomErasing(scale=(0.25, 0.25), ratio=(1.0, 1.0), value=0.0, p=1.0)

    def _transforms(self, channels: int) -> list[nn.Module]:
        steps = {"color": self.colour["rgb" if channels == 3 else "gray"],
                 "translation": self.translation, "cutout": self.cutout}
        return [steps[name] for name in self.policy]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        transforms = self._transforms(x.shape[1])
        unit = (x + 1) / 2  # kornia's colour transforms work in [0, 1]
        if x.dim() == 5:
            out = K.VideoSequential(*transforms, data_format="BCTHW", same_on_frame=True)(unit)
        else:
            out = K.AugmentationSequential(*transforms)(unit)
        return out * 2 - 1
