"""The optimisers of a run: Adam with the config's ``optim`` settings."""

from __future__ import annotations

import torch
from omegaconf import DictConfig
from torch import nn

from vidgan.accel import DenseAdam


def adam(module: nn.Module, cfg: DictConfig, fused: bool = False) -> torch.optim.Adam:
    """The optimiser of ``module``: with ``fused`` (``train.fused_optim``) one kernel per
    parameter (:class:`vidgan.accel.DenseAdam`), else PyTorch's default Adam.

    Example:
        >>> from omegaconf import OmegaConf
        >>> cfg = OmegaConf.create({"optim": {"lr": 2e-4, "betas": [0.5, 0.999], "weight_decay": 1e-5}})
        >>> adam(nn.Linear(2, 2), cfg).defaults["betas"]
        (0.5, 0.999)
    """
    return (DenseAdam if fused else torch.optim.Adam)(
        module.parameters(), lr=cfg.optim.lr, betas=tuple(cfg.optim.betas),
        weight_decay=cfg.optim.weight_decay, fused=True if fused else None)
