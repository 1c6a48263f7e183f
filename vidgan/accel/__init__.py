"""Speed levers: everything that makes a training iteration faster on particular hardware.

The trainer asks this package for three things:

1. :func:`resolve`: the run's :class:`~vidgan.config.Levers`, from ``train.mode`` and the
   ``train.<lever>`` keys, for its device (:mod:`vidgan.accel.levers`);
2. :func:`apply`: the networks prepared for them, once, before training (layouts, GEMM
   convolutions, per-part batch norms, compilation, the allocator, cudnn); it answers
   which critics' D steps run as one fused call;
3. the hooks that stay in the step (:mod:`vidgan.accel.step`): :func:`autocast`,
   :func:`to_layout`, :func:`frozen`, :func:`begin_step`, :func:`fused_call`, and in the
   reference mode :func:`original_images`; and :class:`DenseAdam`, the optimiser of
   ``train.fused_optim``.

Generators, discriminators, losses, samplers and data sets know nothing of the levers:
the choices about them (which critics can be fused, which layers run as GEMMs) are made
here. Building, sampling and evaluating never import this package.

Example:
    >>> from omegaconf import OmegaConf
    >>> from vidgan.discriminators.mocogan import ImageDiscriminator
    >>> levers = resolve(OmegaConf.create({"fuse_critic_batches": True}), torch.device("cpu"))
    >>> apply(levers, torch.nn.Identity(), [ImageDiscriminator(image_size=16, ndf=4)])
    [True]
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from vidgan.accel import gemm
from vidgan.accel.fused import fused_call, per_part, separable
from vidgan.accel.levers import GEMM_LAYERS, LEVER_NAMES, fast_levers, native_bf16, resolve
from vidgan.accel.memory import keep_memory, malloc_tunable
from vidgan.accel.optim import DenseAdam
from vidgan.accel.reference import original_images
from vidgan.accel.step import autocast, begin_step, frozen, memory_format, to_layout
from vidgan.config import Levers

__all__ = ["DenseAdam", "GEMM_LAYERS", "LEVER_NAMES", "Levers", "apply", "autocast", "begin_step", "fast_levers",
           "frozen", "fused_call", "keep_memory", "malloc_tunable", "memory_format", "native_bf16",
           "original_images", "resolve", "to_layout"]


def apply(levers: Levers, generator: nn.Module, critics: Sequence[nn.Module]) -> list[bool]:
    """Prepare the generator and the critics' networks for ``levers``; returns, per critic,
    whether its D step runs as one :func:`fused_call` on its real and fake batches.

    Converts convolution weights to channels_last, runs small Conv3d, Conv2d and
    ConvTranspose2d calls as GEMMs (:mod:`vidgan.accel.gemm`), gives the critics that can
    be fused per-part batch norms (:mod:`vidgan.accel.fused`), keeps freed memory, sets
    cudnn.benchmark and compiles the frame decoder and the critics. Parameters keep their
    identity (only their data is swapped), so optimisers built before keep working;
    ``Module.compile`` keeps the state_dict keys unchanged.
    """
    nets = (generator, *critics)
    if levers.channels_last:
        for module in nets:
            for p in module.parameters():
                if p.ndim in (4, 5):  # conv weights: 4-D of 2-D convolutions, 5-D of Conv3d
                    p.data = p.data.contiguous(memory_format=memory_format(p))
    for name, kind in GEMM_LAYERS.items():
        if getattr(levers, name):
            for module in nets:
                gemm.use_gemm(module, kind)
    fused = [levers.fuse_critic_batches and separable(critic) for critic in critics]
    for critic, one_call in zip(critics, fused):
        if one_call:
            per_part(critic)
    if levers.keep_memory:
        keep_memory(True)
    if levers.cudnn_benchmark:
        torch.backends.cudnn.benchmark = True
    if levers.compile:
        tag, own = torch.compiler.config.cache_key_tag, gemm.cache_tag()
        if own not in tag:
            torch.compiler.config.cache_key_tag = f"{tag} {own}".strip()
        mode = "reduce-overhead" if levers.cuda_graphs else None
        for module in (getattr(generator, "decoder", generator), *critics):
            module.compile(mode=mode, dynamic=False)
    return fused
