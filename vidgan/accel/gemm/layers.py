"""Convolution layers whose small calls run as GEMMs (``train.conv3d_gemm``,
``train.conv2d_gemm`` and ``train.conv_transpose_gemm``).

:func:`use_gemm` turns a network's nn.Conv3d, nn.Conv2d or nn.ConvTranspose2d layers into
:class:`GemmConv3d`, :class:`GemmConv2d` or :class:`GemmConvTranspose2d`: the same
parameters and state_dict, and for each call a choice between oneDNN's convolution and
the ops of :mod:`vidgan.accel.gemm.ops`, by the call's shape (:func:`takes_gemm`, with the
numbers of :mod:`vidgan.accel.gemm.thresholds`):

- a Conv3d or Conv2d call with few output positions per sample and a deep enough GEMM
  runs as one GEMM per pass;
- a ConvTranspose2d call on a small input runs its gradients as GEMMs, and its forward
  too on a 1×1 input (and on slightly larger ones on a CPU with AMX);
- on a CPU with AMX, a strided Conv3d call on RGB input runs as a stride-1 convolution of
  the input's space-to-depth blocks (:func:`takes_space_to_depth`).

:func:`gemm_passes` and :func:`space_to_depth_passes` give the passes of one such call to
time them alone (``vidgan bench``).
"""

from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vidgan.accel.gemm import thresholds
from vidgan.accel.gemm.ops import (_frame, _gradients, _padded, _transpose_gradients,
                                   gemm_convolution3d, gemm_convolution_transpose2d, output_size)


def _plain(conv: nn.Module) -> bool:
    """Whether ``conv`` has one group, no dilation or output padding and zero padding given as numbers."""
    return (conv.groups == 1 and set(conv.dilation) == {1} and set(conv.output_padding) == {0}
            and conv.padding_mode == "zeros" and not isinstance(conv.padding, str))


def takes_gemm(conv: nn.Module, input_shape: tuple[int, ...], device: torch.device) -> bool:
    """Whether ``conv`` runs a call on an input of this shape on ``device`` as GEMMs (one that
    :func:`takes_space_to_depth` does not): few GEMM rows and, for a Conv3d or Conv2d, a
    GEMM depth of at least :data:`thresholds.MIN_DEPTH`; on shallower calls oneDNN's own
    kernels are faster."""
    if takes_space_to_depth(conv, input_shape, device) or not (
            isinstance(conv, (GemmConv3d, GemmConv2d, GemmConvTranspose2d)) and _plain(conv)):
        return False
    if isinstance(conv, GemmConvTranspose2d):
        rows = input_shape[2:]
    elif conv.in_channels * math.prod(conv.kernel_size) < thresholds.MIN_DEPTH:
        return False
    else:
        rows = output_size(list(input_shape[2:]), list(conv.kernel_size), list(conv.stride), list(conv.padding))
    return math.prod(rows) <= thresholds.max_positions(conv, device)


def takes_space_to_depth(conv: nn.Module, input_shape: tuple[int, ...], device: torch.device) -> bool:
    """Whether ``conv`` runs a call on an input of this shape on ``device`` as the stride-1
    convolution of its space-to-depth input (:func:`space_to_depth_convolution3d`): a
    :class:`GemmConv3d` of at most :data:`thresholds.AMX_SPACE_TO_DEPTH_CHANNELS` input channels on a
    CPU with AMX, whose strides divide its kernel and its padded input."""
    if not (isinstance(conv, GemmConv3d) and device.type == "cpu" and thresholds.amx() and _plain(conv)
            and conv.in_channels <= thresholds.AMX_SPACE_TO_DEPTH_CHANNELS and max(conv.stride) > 1):
        return False
    return all(k % s == 0 and (n + 2 * p) % s == 0 for n, k, s, p in
               zip(input_shape[2:], conv.kernel_size, conv.stride, conv.padding))


def _space_to_depth(t: Tensor, stride: list[int], padding: list[int]) -> Tensor:
    """``b c t h w`` → ``b (st·sh·sw·c) t/st h/sh w/sw`` (after zero ``padding``), channels_last:
    each channel splits into one per position within a stride block (channels innermost, so
    the copy moves runs of ``sw·c`` values rather than single ones)."""
    padded = _padded(t, padding)
    b, *size, c = padded.shape
    (st, sh, sw) = stride
    blocks = padded.view(b, size[0] // st, st, size[1] // sh, sh, size[2] // sw, sw, c)
    out = blocks.permute(0, 1, 3, 5, 2, 4, 6, 7).reshape(b, *(n // s for n, s in zip(size, stride)), -1)
    return out.permute(0, 4, 1, 2, 3)


def space_to_depth_convolution3d(x: Tensor, weight: Tensor, bias: Tensor | None, stride: list[int],
                                 padding: list[int]) -> Tensor:
    """``F.conv3d(x, weight, bias, stride, padding)`` as a stride-1 convolution of the
    space-to-depth input with the space-to-depth kernel: output position ``o`` reads input
    ``o·s + k``, and with ``k = s·a + r``, input block ``o + a`` at its position ``r``.
    oneDNN runs a strided 3-channel Conv3d far below the peak with AMX, a stride-1 one on
    the blocks' channels far closer to it."""
    return F.conv3d(_space_to_depth(x, stride, padding), _space_to_depth(weight, stride, [0, 0, 0]), bias)


def _autocast(x: Tensor, weight: Tensor) -> tuple[Tensor, Tensor]:
    """``x`` and ``weight`` in autocast's dtype where it is on (the custom ops bypass it)."""
    device = x.device.type
    if not torch.is_autocast_enabled(device):
        return x, weight
    dtype = torch.get_autocast_dtype(device)
    return x.to(dtype), weight.to(dtype)


def _add_bias(y: Tensor, bias: Tensor | None) -> Tensor:
    return y if bias is None else y + bias.to(y.dtype).view(1, -1, *[1] * (y.ndim - 2))


class GemmConv3d(nn.Conv3d):
    """An nn.Conv3d (same parameters and state_dict) whose calls with at most
    :func:`thresholds.max_positions` output positions per clip and a depth of at least :data:`thresholds.MIN_DEPTH` run as
    a GEMM; bf16 under autocast."""

    def _conv_forward(self, x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        if takes_space_to_depth(self, tuple(x.shape), x.device):
            return space_to_depth_convolution3d(x, weight, bias, list(self.stride), list(self.padding))
        if not takes_gemm(self, tuple(x.shape), x.device):
            return super()._conv_forward(x, weight, bias)
        x, weight = _autocast(x, weight)
        return _add_bias(gemm_convolution3d(x, weight, list(self.stride), list(self.padding))[0], bias)


class GemmConv2d(nn.Conv2d):
    """An nn.Conv2d (same parameters and state_dict) whose calls with at most
    :data:`thresholds.MAX_POSITIONS` output positions per image and a depth of at least :data:`thresholds.MIN_DEPTH` run
    as a GEMM (a one-frame :func:`gemm_convolution3d`); bf16 under autocast."""

    def _conv_forward(self, x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        if not takes_gemm(self, tuple(x.shape), x.device):
            return super()._conv_forward(x, weight, bias)
        x, weight = _autocast(x, weight)
        y = gemm_convolution3d(_frame(x), _frame(weight), [1, *self.stride], [0, *self.padding])[0]
        return _add_bias(y.squeeze(2), bias)


class GemmConvTranspose2d(nn.ConvTranspose2d):
    """An nn.ConvTranspose2d (same parameters and state_dict) whose calls on inputs of at
    most :data:`thresholds.MAX_POSITIONS` positions run their gradients as GEMMs (and their forward on
    a 1×1 input); bf16 under autocast."""

    def forward(self, x: Tensor, output_size: list[int] | None = None) -> Tensor:
        if output_size is not None or not takes_gemm(self, tuple(x.shape), x.device):
            return super().forward(x, output_size)
        x, weight = _autocast(x, self.weight)
        return _add_bias(gemm_convolution_transpose2d(x, weight, list(self.stride), list(self.padding)), self.bias)


GEMM_CLASSES = {nn.Conv3d: GemmConv3d, nn.Conv2d: GemmConv2d, nn.ConvTranspose2d: GemmConvTranspose2d}


def use_gemm(module: nn.Module, kind: type[nn.Module]) -> None:
    """Make every ``kind`` layer (nn.Conv3d, nn.Conv2d or nn.ConvTranspose2d) in ``module``
    its GEMM class (parameters and state_dict keys stay as they are).

    Probes the CPU for AMX now (:func:`thresholds.amx`), so that no forward, compiled or
    not, has to.
    """
    thresholds.amx()
    for m in module.modules():
        if type(m) is kind:
            m.__class__ = GEMM_CLASSES[kind]


def gemm_passes(conv: nn.Module, x: Tensor, weight: Tensor, grads: tuple[bool, bool]
                ) -> tuple[Callable[[], Tensor], Callable[[Tensor], tuple]]:
    """The forward and the backward (of the output's gradient; the gradients ``grads``
    asks for, to the input and the weight) of a call of ``conv`` that :func:`takes_gemm`,
    to time them alone."""
    stride, padding = list(conv.stride), list(conv.padding)
    if isinstance(conv, GemmConv2d):  # as GemmConv2d runs it: a one-frame Conv3d
        x, weight, stride, padding = _frame(x), _frame(weight), [1, *stride], [0, *padding]
    if isinstance(conv, (GemmConv3d, GemmConv2d)):
        patches = gemm_convolution3d(x, weight, stride, padding)[1]
        return (lambda: gemm_convolution3d(x, weight, stride, padding)[0],
                lambda grad: _gradients(grad, patches, list(x.shape), weight, stride, padding, grads))
    return (lambda: gemm_convolution_transpose2d(x, weight, stride, padding),
            lambda grad: _transpose_gradients(grad, x, weight, stride, padding, grads))


def space_to_depth_passes(conv: nn.Module, x: Tensor, weight: Tensor, grads: tuple[bool, bool]
                          ) -> tuple[Callable[[], Tensor], Callable[[Tensor], tuple]]:
    """As :func:`gemm_passes`, for a call of ``conv`` that :func:`takes_space_to_depth`."""
    stride, padding = list(conv.stride), list(conv.padding)
    inputs = [t.detach().requires_grad_(g) for t, g in zip((x, weight), grads)]
    graph = space_to_depth_convolution3d(*inputs, None, stride, padding)
    wanted = [t for t in inputs if t.requires_grad]
    return (lambda: space_to_depth_convolution3d(x, weight, None, stride, padding),
            lambda grad: torch.autograd.grad(graph, wanted, grad, retain_graph=True))
