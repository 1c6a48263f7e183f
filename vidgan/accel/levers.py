"""Which speed levers a run uses: ``train.mode`` and the ``train.<lever>`` keys resolved
into :class:`~vidgan.config.Levers` for the run's device.

``train.mode`` picks the computation:

- ``standard`` (the default): vidgan's iteration with every lever off;
- ``reference``: the original MoCoGAN's computation (eager fp32, contiguous tensors, the
  generator run forward four times per iteration, single frames picked from 2·T latent
  videos per wanted frame, :func:`vidgan.accel.reference.original_images`); the
  benchmarks' baseline;
- ``fast``: the levers that help on the device the run uses (:func:`fast_levers`).

Each lever is its own ``train`` option; left unset (null) it takes the mode's value, set
explicitly it wins. The algorithmic levers compute what a plain implementation of the same
algorithm computes (``reuse_fakes`` and ``skip_critic_grads`` exactly, ``fuse_critic_batches``
within the rounding of larger convolutions); the numeric ones (precision, layout, compiler,
fused optimiser, GEMM convolutions) agree with fp32 eager within a tolerance the tests
state; prefetching (``prefetch``, see :mod:`vidgan.training.prefetch`) draws the very
batches the step would.

Example:
    >>> from omegaconf import OmegaConf
    >>> train = OmegaConf.create({"mode": "fast", "reuse_fakes": False})
    >>> lv = resolve(train, torch.device("cpu"))
    >>> lv.reuse_fakes, lv.skip_critic_grads
    (False, True)
"""

from __future__ import annotations

from dataclasses import fields, replace

import torch
from omegaconf import DictConfig
from torch import nn

from vidgan.accel import memory
from vidgan.config import Levers
from vidgan.errors import VidganError

LEVER_NAMES = tuple(f.name for f in fields(Levers))
# The levers that run small calls of a kind of layer as GEMMs (vidgan.accel.gemm), and that kind.
GEMM_LAYERS = {"conv3d_gemm": nn.Conv3d, "conv2d_gemm": nn.Conv2d, "conv_transpose_gemm": nn.ConvTranspose2d}
# Levers that change which operations run; the reference mode fixes those to the original's.
ALGORITHMIC = ("reuse_fakes", "skip_critic_grads", "fuse_critic_batches")
CUDA_ONLY = ("cudnn_benchmark", "cuda_graphs")


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` runs bf16 convolutions and matmuls natively (fast).

    On CPU that needs oneDNN's bf16 path (AVX512-BF16, AMX or AVX512 emulation); an
    AVX2-only CPU falls back to reference kernels that are tens of times slower than fp32.
    """
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def fast_levers(device: torch.device) -> Levers:
    """The levers ``train.mode=fast`` turns on for ``device``.

    Everywhere: reuse the fakes, skip the critics' weight gradients in the G step and use
    fused Adam (each removes work), and draw the real batches two steps ahead in a thread
    (takes the data off the step's critical path). On CPU: one critic call per D step on
    the real and fake batches together (:func:`vidgan.accel.fused.fused_call`). On a CPU with native bf16: bf16
    autocast, channels_last, and the Conv3d and Conv2d calls with small outputs and the
    ConvTranspose2d gradients on small inputs as GEMMs (``conv3d_gemm``, ``conv2d_gemm``,
    ``conv_transpose_gemm``). On an AVX2-only CPU bf16 is far slower than fp32 and channels_last
    does not help the Conv3d stack (benchmarks/README.md), so they stay off;
    ``torch.compile`` gives no measurable gain on CPU for minutes of compilation and stays
    off. On a CPU whose C library is glibc: keep freed memory
    (:func:`vidgan.accel.memory.keep_memory`). On CUDA: bf16 (fp16 where bf16 is not
    supported), channels_last and cudnn.benchmark.
    """
    everywhere = Levers(reuse_fakes=True, skip_critic_grads=True, fused_optim=True, prefetch=2)
    if device.type == "cuda":
        return replace(everywhere, precision="bf16" if native_bf16(device) else "fp16",
                       channels_last=True, cudnn_benchmark=True)
    cpu = replace(everywhere, keep_memory=memory.malloc_tunable(), fuse_critic_batches=True)
    if native_bf16(device):
        return replace(cpu, precision="bf16", channels_last=True, conv3d_gemm=True, conv2d_gemm=True,
                       conv_transpose_gemm=True)
    return cpu


def resolve(train: DictConfig, device: torch.device) -> Levers:
    """The levers of a run: the mode's values, then the explicitly set ``train.<lever>`` keys."""
    mode = train.get("mode", "standard")
    base = fast_levers(device) if mode == "fast" else Levers()
    explicit = {name: train.get(name) for name in LEVER_NAMES if train.get(name) is not None}
    if mode == "reference":
        changed = [n for n in ALGORITHMIC if explicit.get(n)]
        if changed:
            raise VidganError(f"train.mode=reference runs the original's algorithm; drop "
                              f"{', '.join('train.' + n for n in changed)} or use train.mode=standard")
    levers = replace(base, **explicit)
    if device.type != "cuda":
        on = [n for n in CUDA_ONLY if getattr(levers, n)]
        if on:
            raise VidganError(f"{', '.join('train.' + n + '=true' for n in on)} needs device=cuda; "
                              "drop it on CPU")
        if levers.keep_memory and not memory.malloc_tunable():
            raise VidganError("train.keep_memory=true needs glibc's malloc (Linux); this C library "
                              "has no mallopt: drop it")
        if levers.precision == "fp16":
            raise VidganError("train.precision=fp16 needs device=cuda; use bf16 or fp32 on CPU")
    if levers.cuda_graphs and not levers.compile:
        levers = replace(levers, compile=True)  # CUDA graphs come through torch.compile
    return levers
