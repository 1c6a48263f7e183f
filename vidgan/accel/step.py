"""The hooks the training step runs while the levers are on: autocast, the layout of
batches, and critics frozen for the G step."""

from __future__ import annotations

import contextlib
from typing import Iterator

import torch
from torch import nn

from vidgan.config import Levers


def autocast(levers: Levers, device: torch.device) -> contextlib.AbstractContextManager:
    """The autocast context of the forward passes (a no-op for fp32)."""
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(levers.precision)
    return torch.autocast(device.type, dtype=dtype, enabled=dtype is not None)


def memory_format(x: torch.Tensor) -> torch.memory_format:
    """channels_last for ``b c h w``, channels_last_3d for ``b c t h w``."""
    return torch.channels_last_3d if x.ndim == 5 else torch.channels_last


def to_layout(levers: Levers, x: torch.Tensor) -> torch.Tensor:
    """``x`` in the layout the levers ask for (unchanged unless channels_last is on)."""
    if not levers.channels_last or x.ndim not in (4, 5):
        return x
    return x.contiguous(memory_format=memory_format(x))


@contextlib.contextmanager
def frozen(modules: list[nn.Module], enabled: bool) -> Iterator[None]:
    """Turn off ``requires_grad`` of the modules' parameters inside the block (when enabled).

    Gradients still flow through the modules to their inputs; only the weight
    gradients, which the G step discards anyway, are not computed.
    """
    params = [p for m in modules for p in m.parameters() if p.requires_grad] if enabled else []
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)


def begin_step(levers: Levers) -> None:
    """Mark the start of an iteration for CUDA graphs (``train.cuda_graphs``), so that the
    graphs' outputs of the last one may be overwritten."""
    if levers.cuda_graphs:
        torch.compiler.cudagraph_mark_step_begin()
