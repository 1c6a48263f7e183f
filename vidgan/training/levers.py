"""Speed levers of the training step, and the original MoCoGAN's computation as a baseline.

``train.mode`` picks the computation:

- ``standard`` (the default): vidgan's iteration with every lever off;
- ``reference``: the original MoCoGAN's computation (eager fp32, contiguous tensors, the
  generator run forward four times per iteration, single frames picked from 2·T latent
  videos per wanted frame); the benchmarks' baseline;
- ``fast``: the levers that help on the device the run uses (:func:`fast_levers`).

Each lever is its own ``train`` option; left unset (null) it takes the mode's value, set
explicitly it wins. The algorithmic levers compute what a plain implementation of the same
algorithm computes (``reuse_fakes`` and ``skip_critic_grads`` exactly, ``fuse_critic_batches``
within the rounding of larger convolutions); the numeric ones (precision, layout, compiler,
fused optimiser) agree with fp32 eager within a tolerance the tests state; prefetching
(``prefetch``, see :mod:`vidgan.training.prefetch`) draws the very batches the step would.

Example:
    >>> from omegaconf import OmegaConf
    >>> train = OmegaConf.create({"mode": "fast", "reuse_fakes": False})
    >>> lv = resolve(train, torch.device("cpu"))
    >>> lv.reuse_fakes, lv.skip_critic_grads
    (False, True)
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
from dataclasses import dataclass, fields, replace
from typing import Callable, Iterator

import torch
from einops import rearrange
from omegaconf import DictConfig
from torch import nn

from vidgan import gemm_conv
from vidgan.errors import VidganError
from vidgan.gemm_conv import use_gemm


@dataclass(frozen=True)
class Levers:
    """The resolved speed options of a run (see the module docstring)."""

    precision: str = "fp32"  # autocast dtype for forward passes: fp32 (off), bf16, fp16 (CUDA)
    channels_last: bool = False  # channels_last / channels_last_3d weights and inputs
    compile: bool = False  # torch.compile the frame decoder and the discriminators
    reuse_fakes: bool = False  # one generator forward per critic and iteration, reused by D and G steps
    skip_critic_grads: bool = False  # G step computes no (discarded) gradients of the critics' weights
    fused_optim: bool = False  # Adam(fused=True): one kernel per parameter instead of ~10
    cudnn_benchmark: bool = False  # CUDA: cudnn picks the fastest convolution algorithm per shape
    cuda_graphs: bool = False  # CUDA: compile with mode="reduce-overhead" (CUDA graphs)
    prefetch: int = 0  # real batches drawn this many steps ahead in a thread; 0: drawn in the step
    keep_memory: bool = False  # glibc malloc keeps freed memory for reuse (see keep_memory)
    conv3d_gemm: bool = False  # Conv3d calls with small outputs as one GEMM, RGB ones space-to-depth with AMX
    conv2d_gemm: bool = False  # Conv2d calls with small outputs as one GEMM
    conv_transpose_gemm: bool = False  # ConvTranspose2d gradients on small inputs as GEMMs
    fuse_critic_batches: bool = False  # D step: one critic call on its real and fake batches (see fused_call)


LEVER_NAMES = tuple(f.name for f in fields(Levers))
# The levers that run small calls of a kind of layer as GEMMs (vidgan.gemm_conv), and that kind.
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
    the real and fake batches together (:func:`fused_call`). On a CPU with native bf16: bf16
    autocast, channels_last, and the Conv3d and Conv2d calls with small outputs and the
    ConvTranspose2d gradients on small inputs as GEMMs (``conv3d_gemm``, ``conv2d_gemm``,
    ``conv_transpose_gemm``). On an AVX2-only CPU bf16 is far slower than fp32 and channels_last
    did not help the Conv3d stack (benchmarks/README.md), so they stay off;
    ``torch.compile`` gives no measurable gain on CPU for minutes of compilation and stays
    off. On a CPU whose C library is glibc: keep freed memory (:func:`keep_memory`). On
    CUDA: bf16 (fp16 where bf16 is not supported), channels_last and
    cudnn.benchmark.
    """
    everywhere = Levers(reuse_fakes=True, skip_critic_grads=True, fused_optim=True, prefetch=2)
    if device.type == "cuda":
        return replace(everywhere, precision="bf16" if native_bf16(device) else "fp16",
                       channels_last=True, cudnn_benchmark=True)
    cpu = replace(everywhere, keep_memory=malloc_tunable(), fuse_critic_batches=True)
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
        if levers.keep_memory and not malloc_tunable():
            raise VidganError("train.keep_memory=true needs glibc's malloc (Linux); this C library "
                              "has no mallopt: drop it")
        if levers.precision == "fp16":
            raise VidganError("train.precision=fp16 needs device=cuda; use bf16 or fp32 on CPU")
    if levers.cuda_graphs and not levers.compile:
        levers = replace(levers, compile=True)  # CUDA graphs come through torch.compile
    return levers


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


def apply(levers: Levers, generator: nn.Module, critics: list[nn.Module]) -> None:
    """Convert weights to channels_last, run small Conv3d, Conv2d and ConvTranspose2d calls as
    GEMMs, compile the conv stacks, keep freed memory and set cudnn.benchmark.

    Parameters keep their identity (only their data is swapped), so optimisers built
    before keep working; ``Module.compile`` keeps the state_dict keys unchanged.
    """
    if levers.channels_last:
        for module in (generator, *critics):
            for p in module.parameters():
                if p.ndim in (4, 5):  # conv weights: 4-D of 2-D convolutions, 5-D of Conv3d
                    p.data = p.data.contiguous(memory_format=memory_format(p))
    for name, kind in GEMM_LAYERS.items():
        if getattr(levers, name):
            for module in (generator, *critics):
                use_gemm(module, kind)
    if levers.fuse_critic_batches:
        for critic in critics:
            if batch_separable(critic):
                for m in critic.modules():
                    if type(m) in PER_PART:
                        m.__class__ = PER_PART[type(m)]
    if levers.keep_memory:
        keep_memory(True)
    if levers.cudnn_benchmark:
        torch.backends.cudnn.benchmark = True
    if levers.compile:
        tag = torch.compiler.config.cache_key_tag
        if gemm_conv.CACHE_TAG not in tag:
            torch.compiler.config.cache_key_tag = f"{tag} {gemm_conv.CACHE_TAG}".strip()
        mode = "reduce-overhead" if levers.cuda_graphs else None
        for module in (getattr(generator, "decoder", generator), *critics):
            module.compile(mode=mode, dynamic=False)


M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4  # mallopt's parameters (malloc.h)
GLIBC_DEFAULTS = {M_TRIM_THRESHOLD: 128 * 1024, M_MMAP_MAX: 65536}
KEPT = {M_TRIM_THRESHOLD: 2**31 - 1, M_MMAP_MAX: 0}


@functools.cache
def _mallopt() -> Callable[[int, int], int] | None:
    """glibc's ``mallopt``, or None where the C library has none."""
    name = ctypes.util.find_library("c")
    libc = ctypes.CDLL(name) if name else None
    return getattr(libc, "mallopt", None)


def malloc_tunable() -> bool:
    """Whether the C library is glibc's, whose malloc :func:`keep_memory` tunes."""
    return _mallopt() is not None


def keep_memory(on: bool) -> None:
    """Make glibc's malloc keep freed memory for the next allocation (``on``), or restore
    its default thresholds.

    By default glibc serves every block over 128 KiB (a threshold it raises as it goes) with
    its own ``mmap`` and returns it to the system when freed, and trims its heap's top: a
    training iteration allocates the same large activations every step, and each one is
    page-faulted in afresh (zeroed by the kernel) every time. With ``on`` no block is
    mmapped and the heap is never trimmed, so freed pages are reused; the process's resident
    memory stays at its peak. Process-wide; threads off glibc's main arena (all but the first)
    still mmap blocks of 64 MiB and more. Restoring sets the documented defaults but not the
    raised threshold glibc may have reached.
    """
    mallopt = _mallopt()
    if mallopt is None:
        raise VidganError("keeping freed memory needs glibc's malloc (Linux); this C library has no mallopt")
    for param, value in (KEPT if on else GLIBC_DEFAULTS).items():
        if not mallopt(param, value):
            raise VidganError(f"mallopt({param}, {value}) failed")


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


def batch_separable(net: nn.Module) -> bool:
    """Whether ``net`` computes each sample of a batch on its own but in batch norm: its class
    says so (``batch_separable = True``), no layer draws instance noise or runs a
    parametrisation (spectral norm's power iteration) per call, and its batch norms are
    BatchNorm2d or 3d (not synchronised ones)."""
    return getattr(net, "batch_separable", False) and not any(
        nn.utils.parametrize.is_parametrized(m) or getattr(m, "sigma", 0) > 0
        or isinstance(m, nn.modules.batchnorm._BatchNorm) and type(m) not in (*PER_PART, *PER_PART.values())
        for m in net.modules())


def fused_call(net: nn.Module, batches: list[torch.Tensor]) -> list[tuple]:
    """``[net(b) for b in batches]`` as one call on the batches together, for a
    :func:`batch_separable` ``net`` whose batch norms :func:`apply` made per-part (each batch
    normalised on its own, in order): the same outputs, statistics and gradients, with
    larger, fewer convolutions (``fuse_critic_batches``)."""
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


def original_images(generator: nn.Module, num_images: int,
                    rng: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Single frames the original's way: latents of ``2·T`` whole videos per wanted frame.

    Samples ``num_images · 2T`` latent videos of ``T`` steps (content, category and the
    motion GRU for all of them), picks ``num_images`` of their frames without
    replacement (in order) and decodes only those. Same distribution as
    ``sample_images``, at the original's cost.

    Shape:
        output: ``b c h w`` and labels ``b``.

    Example:
        >>> from vidgan.generators.mocogan import MoCoGANGenerator
        >>> original_images(MoCoGANGenerator(image_size=16, ngf=4, video_length=4), 3)[0].shape
        torch.Size([3, 3, 16, 16])
    """
    if not hasattr(generator, "sample_latents") or not hasattr(generator, "decode_frames"):
        raise VidganError(f"train.mode=reference reproduces MoCoGAN and needs a generator with "
                          f"sample_latents and decode_frames; {type(generator).__name__} has not; "
                          "use train.mode=standard")
    t = generator.video_length
    z, labels = generator.sample_latents(num_images * 2 * t, t, rng)
    frames = rearrange(z, "b t d -> (b t) d")
    keep = torch.randperm(frames.shape[0], generator=rng)[:num_images].sort().values.to(z.device)
    return generator.decode_frames(frames[keep]), labels[keep // t]
