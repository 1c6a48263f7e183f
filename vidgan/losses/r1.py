"""R1: a gradient penalty on real inputs that keeps the critic smooth where the data is."""

from __future__ import annotations

import torch

from vidgan.losses.adversarial import NonSaturatingBCE
from vidgan.registry import LOSSES


@LOSSES.register("bce-r1")
class BCEWithR1(NonSaturatingBCE):
    """The non-saturating BCE loss plus R1 (Mescheder et al., "Which training methods for
    GANs actually converge?", ICML 2018): ``gamma / 2 · E ||∇_x D(x)||²`` over real inputs.

    Penalising the critic's slope at the real data keeps it from sharpening its verdict
    there without bound, which with few training videos it otherwise does within a few
    hundred steps (every real and fake input right, the generator's gradient vanishing).
    The penalty costs one more critic call on the real batch and a second backward; with
    ``every`` > 1 it is applied on one step in ``every``, drawn from torch's global
    generator (so a resumed run draws the same steps), and weighted ``every`` times as much
    (the lazy regularisation of StyleGAN2, Karras et al. 2020).

    Shape:
        ``penalty(critic, real, fake)``: real ``b c h w`` or ``b c t h w`` -> a scalar.

    Example:
        >>> from torch import nn
        >>> critic = lambda x: (x.sum(dim=(1, 2, 3)), None)  # slope 1 at every pixel
        >>> BCEWithR1(gamma=2.0).penalty(critic, torch.zeros(4, 3, 2, 2), None).item()
        12.0
    """

    def __init__(self, gamma: float = 1.0, every: int = 1):
        if not gamma > 0:
            raise ValueError(f"bce-r1 needs gamma > 0, got {gamma}")
        if every < 1:
            raise ValueError(f"bce-r1 needs every >= 1, got {every}")
        self.gamma = gamma
        self.every = every

    def penalty(self, discriminator, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        if self.every > 1 and torch.rand(()) * self.every >= 1:  # lazy: 1 step in `every`, on average
            return torch.zeros((), device=real.device)
        real = real.detach().requires_grad_(True)
        with torch.autocast(real.device.type, enabled=False):  # second derivatives in full precision
            logits, _ = discriminator(real.float())
            (grad,) = torch.autograd.grad(logits.float().sum(), real, create_graph=True)
        return self.gamma * self.every / 2 * grad.pow(2).flatten(1).sum(1).mean()
