"""WGAN-GP: the Wasserstein critic loss with a gradient penalty (Gulrajani et al., 2017)."""

from __future__ import annotations

import torch
from einops import reduce
from torch import nn


class WGANGP:
    """Critic: ``mean(fake) - mean(real)``; generator: ``-mean(fake)``; plus a gradient penalty.

    The penalty, which vidgan's trainer adds to the critic's loss, is
    ``weight · E[(‖∇x D(x̂)‖ - 1)²]`` at random points ``x̂`` between real and fake
    samples; ``D(x̂)`` is the mean of the discriminator's logits per sample, so patch
    discriminators work too. Any discriminator of any view can use it.

    Shape:
        logits: any shape with the batch first; ``penalty(discriminator, real, fake)``:
        ``real`` and ``fake`` of one shape (``b c h w`` or ``b c t h w``); outputs: scalars.

    Example:
        >>> loss = WGANGP()
        >>> loss.discriminator(torch.tensor([2.0]), torch.tensor([-1.0])).item()
        -3.0
        >>> critic = lambda x: (x.flatten(1).sum(1), None)  # gradient norm sqrt(4) = 2
        >>> loss.penalty(critic, torch.zeros(3, 4), torch.ones(3, 4)).item()
        10.0
    """

    def __init__(self, weight: float = 10.0):
        self.weight = weight

    def discriminator(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        return fake.mean() - real.mean()

    def generator(self, fake: torch.Tensor) -> torch.Tensor:
        return -fake.mean()

    def penalty(self, discriminator: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        if real.shape != fake.shape:
            raise ValueError(f"wgan-gp needs real and fake batches of one shape, got "
                             f"{tuple(real.shape)} and {tuple(fake.shape)}")
        mix = torch.rand((real.shape[0],) + (1,) * (real.ndim - 1), device=real.device, dtype=real.dtype)
        between = (mix * real.detach() + (1 - mix) * fake.detach()).requires_grad_(True)
        logits, _ = discriminator(between)
        (grad,) = torch.autograd.grad(reduce(logits, "b ... -> b", "mean").sum(), between, create_graph=True)
        norm = grad.flatten(1).norm(dim=1)
        return self.weight * ((norm - 1) ** 2).mean()
