"""GAN objectives: non-saturating BCE (the original's), hinge and least squares."""

from __future__ import annotations

import torch
from torch.nn import functional as F

from vidgan.registry import LOSSES


@LOSSES.register("bce")
class NonSaturatingBCE:
    """BCE with logits: D learns real → 1, fake → 0; G makes fakes → 1 (non-saturating).

    Example:
        >>> round(NonSaturatingBCE().generator(torch.zeros(3)).item(), 4)
        0.6931
    """

    def discriminator(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        return (F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
                + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))

    def generator(self, fake: torch.Tensor) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))


@LOSSES.register("hinge")
class Hinge:
    """Hinge loss: D minimises relu(1 - real) + relu(1 + fake); G minimises -fake.

    Example:
        >>> Hinge().discriminator(torch.tensor([2.0]), torch.tensor([-2.0])).item()
        0.0
    """

    def discriminator(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        return F.relu(1 - real).mean() + F.relu(1 + fake).mean()

    def generator(self, fake: torch.Tensor) -> torch.Tensor:
        return -fake.mean()


@LOSSES.register("least-squares")
class LeastSquares:
    """Least-squares GAN: D regresses real → 1, fake → 0; G regresses fake → 1 (halved squares).

    Example:
        >>> LeastSquares().generator(torch.tensor([0.0])).item()
        0.5
    """

    def discriminator(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        return 0.5 * ((real - 1) ** 2).mean() + 0.5 * (fake ** 2).mean()

    def generator(self, fake: torch.Tensor) -> torch.Tensor:
        return 0.5 * ((fake - 1) ** 2).mean()
