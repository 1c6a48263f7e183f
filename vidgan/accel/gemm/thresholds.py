"""Which convolution calls run as GEMMs: the thresholds, and whether the CPU has AMX.

A call runs as GEMMs when its GEMMs have few rows (output positions of a Conv3d or Conv2d,
input positions of a ConvTranspose2d), where oneDNN's convolutions run far below the
GEMM peak and MKL's GEMMs near it; a Conv3d or Conv2d call also needs a depth (input
channels × kernel positions) from which the GEMMs win. On a CPU with AMX tiles the bf16
GEMMs are faster still, so more calls take them there. benchmarks/README.md records the
measurements behind each number.

AMX is probed on first use (:func:`amx`), not when the module is imported.
"""

from __future__ import annotations

import torch
from torch import nn

MAX_POSITIONS = 64  # GEMM rows per sample (Conv3d: output positions, ConvTranspose2d: input ones)
MIN_DEPTH = 4096  # input channels × kernel positions from which a Conv3d or Conv2d call runs as a GEMM
AMX_CONV3D_POSITIONS = 512  # Conv3d output positions per clip on a CPU with AMX
AMX_TRANSPOSE_FORWARD_POSITIONS = 16  # ConvTranspose2d input positions whose forward runs as GEMMs with AMX
AMX_SPACE_TO_DEPTH_CHANNELS = 3  # Conv3d input channels (RGB) up to which a strided call runs space-to-depth with AMX
PHASE_POSITIONS = 256  # output positions per clip from which a GEMM call's input gradient runs as phase convolutions

_amx: bool | None = None


def amx() -> bool:
    """Whether the CPU has AMX tiles (bf16 GEMMs several times faster than AVX512's).

    Probed once, on the first call; :func:`vidgan.accel.gemm.use_gemm` makes that call, so
    a compiled forward reads the stored answer.
    """
    global _amx
    if _amx is None:
        _amx = bool(torch.cpu._is_amx_tile_supported())
    return _amx


def max_positions(conv: nn.Module, device: torch.device) -> int:
    """The most GEMM rows per sample with which a call of ``conv`` on ``device`` runs as GEMMs."""
    if isinstance(conv, nn.Conv3d) and device.type == "cpu" and amx():
        return AMX_CONV3D_POSITIONS
    return MAX_POSITIONS


def transpose_forward_positions(device: torch.device) -> int:
    """The most input positions on which a ConvTranspose2d call's forward on ``device`` runs as GEMMs."""
    return AMX_TRANSPOSE_FORWARD_POSITIONS if device.type == "cpu" and amx() else 1
