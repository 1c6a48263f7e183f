"""One critic call on the real and the fake batch together (``train.fuse_critic_batches``).

A D step judges a real and a fake batch. For a critic that computes each sample on its own
except in batch norm, one call on both batches computes what two calls compute, with
larger, fewer convolutions, provided each batch norm normalises the two batches on their
own: :func:`per_part` gives its batch norms that ability and :func:`fused_call` makes the
call. Which critics qualify is decided here (:func:`separable`), from a list of
discriminator classes known to be built that way, so a discriminator carries no marker
for it.

Example:
    >>> from vidgan.discriminators.mocogan import ImageDiscriminator
    >>> critic = ImageDiscriminator(image_size=16, ndf=4)
    >>> separable(critic)
    True
    >>> per_part(critic)
    >>> [logits.shape for logits, _ in fused_call(critic, [torch.randn(3, 3, 16, 16), torch.randn(2, 3, 16, 16)])]
    [torch.Size([3]), torch.Size([2])]
"""

from __future__ import annotations

import torch
from torch import nn

# Discriminator classes ("module.QualifiedName") that compute each sample of a batch on
# their own but in batch norm: no minibatch statistics and no mixing of samples.
SEPARABLE_CLASSES = frozenset({
    "vidgan.discriminators.mocogan.ImageDiscriminator",
    "vidgan.discriminators.mocogan.PatchImageDiscriminator",
    "vidgan.discriminators.mocogan.VideoDiscriminator",
    "vidgan.discriminators.mocogan.CategoricalVideoDiscriminator",
    "vidgan.discriminators.mocogan.PatchVideoDiscriminator",
    "vidgan_vgan.models.VGANDiscriminator",  # the example plugin's video critic
})


class _PerPart:
    """A batch norm that normalises each part of its batch (``parts``: their sizes) on its
    own, one after the other, as that many calls would (batch statistics, running averages
    and batch counter)."""

    parts: list[int] | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.parts is None:
            return super().forward(x)
        return torch.cat([super(_PerPart, self).forward(part) for part in x.split(self.parts)])


class PerPartBatchNorm2d(_PerPart, nn.BatchNorm2d):
    pass


class PerPartBatchNorm3d(_PerPart, nn.BatchNorm3d):
    pass


PER_PART = {nn.BatchNorm2d: PerPartBatchNorm2d, nn.BatchNorm3d: PerPartBatchNorm3d}


def separable(net: nn.Module) -> bool:
    """Whether ``net`` computes each sample of a batch on its own but in batch norm: its class
    is one of :data:`SEPARABLE_CLASSES`, no layer draws instance noise or runs a
    parametrisation (spectral norm's power iteration) per call, and its batch norms are
    BatchNorm2d or 3d (not synchronised ones)."""
    name = f"{type(net).__module__}.{type(net).__qualname__}"
    return name in SEPARABLE_CLASSES and not any(
        nn.utils.parametrize.is_parametrized(m) or getattr(m, "sigma", 0) > 0
        or isinstance(m, nn.modules.batchnorm._BatchNorm) and type(m) not in (*PER_PART, *PER_PART.values())
        for m in net.modules())


def per_part(net: nn.Module) -> None:
    """Make every BatchNorm2d and BatchNorm3d of ``net`` able to normalise the parts of a
    :func:`fused_call` on their own (parameters and state_dict keys stay as they are)."""
    for m in net.modules():
        if type(m) in PER_PART:
            m.__class__ = PER_PART[type(m)]


def fused_call(net: nn.Module, batches: list[torch.Tensor]) -> list[tuple]:
    """``[net(b) for b in batches]`` as one call on the batches together, for a
    :func:`separable` ``net`` whose batch norms are :func:`per_part` (each batch normalised
    on its own, in order): the same outputs, statistics and gradients, with larger, fewer
    convolutions."""
    sizes = [len(b) for b in batches]
    norms = [m for m in net.modules() if isinstance(m, _PerPart)]
    for m in norms:
        m.parts = sizes
    try:
        outputs = net(torch.cat(batches))
    finally:
        for m in norms:
            m.parts = None
    return list(zip(*[[None] * len(sizes) if o is None else o.split(sizes) for o in outputs]))
