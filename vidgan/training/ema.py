"""The generator's exponential moving average (``train.ema_decay``), used for samples and
evaluation."""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel


def ema_with_warm_up(decay: float) -> Callable[[list, list, torch.Tensor], None]:
    """The generator EMA's update: decay ``min(decay, (1 + n) / (10 + n))`` after ``n`` updates.

    Early on the average follows the generator closely instead of keeping the random
    initial weights for ``~1 / (1 - decay)`` steps (whose samples are flat grey); from
    ``n = (10 · decay - 1) / (1 - decay)`` on (8990 for 0.999) it is the plain EMA. Batch
    norm's running statistics are averaged alike, its batch counter copied.
    """
    def update(averaged: list[torch.Tensor], current: list[torch.Tensor], n: torch.Tensor) -> None:
        d = ((1 + n) / (10 + n)).clamp(max=decay)  # a tensor on the device: no host sync
        for a, c in zip(averaged, current):
            if a.is_floating_point():
                a.lerp_(c, (1 - d).to(a.dtype))
            else:  # batch norm's num_batches_tracked: a count, not averaged
                a.copy_(c)
    return update


def averaged(generator: nn.Module, decay: float) -> AveragedModel | None:
    """A copy of ``generator`` that :func:`ema_with_warm_up` averages at each
    ``update_parameters``, parameters and buffers; None when ``decay`` is 0.

    Example:
        >>> ema = averaged(nn.Linear(2, 2), 0.999)
        >>> int(ema.n_averaged), averaged(nn.Linear(2, 2), 0.0)
        (0, None)
    """
    if decay <= 0:
        return None
    return AveragedModel(generator, multi_avg_fn=ema_with_warm_up(decay), use_buffers=True)
