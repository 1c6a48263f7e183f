"""Convolutions whose GEMMs have few rows, as matrix products (``train.conv3d_gemm``,
``train.conv2d_gemm`` and ``train.conv_transpose_gemm``).

oneDNN runs such calls far below the machine's GEMM peak. On a Zen 5 EPYC in bf16: the
256→512 Conv3d of ``mocogan-categorical``'s video critic (7×8×8 in, 4×4×4 out) at 29–41%
forward and backward, and the generator's ConvTranspose2d backward passes on 1×1 and 4×4
inputs at 2–44%. Written as matrix products they are one GEMM per pass, which MKL runs
near its peak:

- :class:`GemmConv3d`: the patches (clips × output positions) × (kernel positions × input
  channels) times the weight (output channels × the same), when a call's output has at
  most :func:`max_positions` positions per clip: :data:`MAX_POSITIONS`, or
  :data:`AMX_CONV3D_POSITIONS` on a CPU with AMX, whose GEMMs outrun oneDNN's 3-D
  convolutions further (on a 2-core Xeon with AMX in bf16, the 128→256 Conv3d of the video
  critic, 7×8×8 = 448 output positions, forward and both gradients: oneDNN 97–146 ms,
  GEMMs 73–76 ms; the 64→128 one, 2560 positions, stays faster in oneDNN);
- :class:`GemmConv2d`: the same GEMMs over one frame, when a call's output has at most
  :data:`MAX_POSITIONS` positions per image (``mocogan``'s image critic's 256→512 layer on
  8×8 inputs: on the 2-core Xeon with AMX in bf16, 20 frames forward 3.9 ms and backward
  7.4 ms against oneDNN's 8.4 and 33.0 ms; with 256 positions, 32×32 inputs, oneDNN's are
  faster);
- :class:`GemmConvTranspose2d`: a transposed convolution's gradients are a convolution of
  the output's gradient (its input gradient) and that convolution's weight gradient, so
  they run as the Conv3d GEMMs above over one frame, when a call's input has at most
  :data:`MAX_POSITIONS` positions. Its forward is the input gradient of the convolution
  it transposes (one GEMM and the fp32 sum of its patches) on a 1×1 input (the latent's
  projection) and, on a CPU with AMX, on inputs of up to
  :data:`AMX_TRANSPOSE_FORWARD_POSITIONS` positions (the 4×4 ones: 48 frames of 512→256
  there 10–11 ms against oneDNN's 19–20 ms; on 8×8 inputs oneDNN's is faster), else oneDNN's.

:class:`GemmConv3d` and :class:`GemmConv2d` take a call only from a depth (input channels ×
kernel positions) of at least :data:`MIN_DEPTH`: oneDNN runs shallower ones well, and their
input gradient's scatter-add is many small ops.

A Conv3d call with at least :data:`PHASE_POSITIONS` output positions per clip (with AMX,
the 128→256 layer) computes its input gradient as stride-1 transposed convolutions, one
per phase of the input (:func:`_phase_input_grad`), not as a GEMM and a sum.

On a CPU with AMX a :class:`GemmConv3d` call on 3 (RGB) channels with spatial strides of 2
(the video critic's first layer) runs as a stride-1 convolution of the input's
space-to-depth blocks (:func:`space_to_depth_convolution3d`).

Channels are innermost both in the patches and in a channels_last weight, so with
channels_last inputs the patches are one strided copy and the weight a view. The
operations are custom ops (``vidgan::gemm_convolution3d``, which also runs the 2-D calls,
its two gradients and ``vidgan::gemm_convolution_transpose2d``) with FLOP formulas, so the
FLOP counter and the profiler count them as convolutions.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.flop_counter import register_flop_formula

MAX_POSITIONS = 64  # GEMM rows per sample (Conv3d: output positions, ConvTranspose2d: input ones)
MIN_DEPTH = 4096  # input channels × kernel positions from which a Conv3d or Conv2d call runs as a GEMM
AMX_CONV3D_POSITIONS = 512  # Conv3d output positions per clip on a CPU with AMX
AMX_TRANSPOSE_FORWARD_POSITIONS = 16  # ConvTranspose2d input positions whose forward runs as GEMMs with AMX
AMX_SPACE_TO_DEPTH_CHANNELS = 3  # Conv3d input channels (RGB) up to which a strided call runs space-to-depth with AMX
PHASE_POSITIONS = 256  # output positions per clip from which a GEMM call's input gradient runs as phase convolutions
AMX = torch.cpu._is_amx_tile_supported()  # AMX tiles: bf16 GEMMs several times faster than AVX512's
# torch.compile's caches key a graph by its ops' names, not by their Python backward formulas
# (pytorch/pytorch#144344): a tag from this file's source keeps graphs compiled with an
# older version of these ops from being reused (levers.apply adds it when compiling).
CACHE_TAG = "vidgan-gemm-conv-" + hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]


def output_size(size: list[int], kernel: list[int], stride: list[int], padding: list[int]) -> list[int]:
    return [(n + 2 * p - k) // s + 1 for n, k, s, p in zip(size, kernel, stride, padding)]


def _padded(x: Tensor, padding: list[int]) -> Tensor:
    """``b c t h w`` → ``b t h w c`` with zero ``padding`` around t, h and w, contiguous."""
    (pt, ph, pw) = padding
    return F.pad(x.permute(0, 2, 3, 4, 1), (0, 0, pw, pw, ph, ph, pt, pt)).contiguous()


def _patches(x: Tensor, kernel: list[int], stride: list[int], padding: list[int]) -> Tensor:
    """``b c t h w`` → ``(b·t'·h'·w') × (kt·kh·kw·c)``: every output position's input patch,
    channels innermost."""
    padded, c = _padded(x, padding), x.shape[1]
    out = output_size(list(padded.shape[1:4]), kernel, stride, [0, 0, 0])
    s = padded.stride()
    windows = padded.as_strided((padded.shape[0], *out, *kernel, c),
                                (s[0], *(s[i + 1] * stride[i] for i in range(3)), s[1], s[2], s[3], 1))
    return windows.reshape(-1, math.prod(kernel) * c)


def _matrix(weight: Tensor) -> Tensor:
    """``n c kt kh kw`` → ``n × (kt·kh·kw·c)`` (a view for a channels_last_3d weight)."""
    return weight.permute(0, 2, 3, 4, 1).reshape(weight.shape[0], -1)


def _rows(y: Tensor) -> Tensor:
    """``b n t' h' w'`` → ``(b·t'·h'·w') × n``."""
    return y.permute(0, 2, 3, 4, 1).reshape(-1, y.shape[1])


@torch.library.custom_op("vidgan::gemm_convolution3d", mutates_args=())
def gemm_convolution3d(x: Tensor, weight: Tensor, stride: list[int], padding: list[int]) -> tuple[Tensor, Tensor]:
    """``F.conv3d(x, weight, stride=stride, padding=padding)`` as patches @ weightᵀ, and the
    patches: autograd keeps them for the weight's gradient, which so needs no second copy."""
    out = output_size(list(x.shape[2:]), list(weight.shape[2:]), stride, padding)
    patches = _patches(x, list(weight.shape[2:]), stride, padding)
    y = patches @ _matrix(weight).t()
    return y.view(x.shape[0], *out, weight.shape[0]).permute(0, 4, 1, 2, 3), patches


@torch.library.custom_op("vidgan::gemm_convolution3d_weight_grad", mutates_args=())
def weight_grad(grad: Tensor, patches: Tensor, weight_shape: list[int]) -> Tensor:
    """The weight's gradient from the output's gradient and the input's :func:`_patches`:
    gradᵀ @ patches, in channels_last_3d."""
    n, c, *kernel = weight_shape
    g = _rows(grad).t().contiguous() @ patches  # faster than a transposed view
    return g.view(n, *kernel, c).permute(0, 4, 1, 2, 3)


@torch.library.custom_op("vidgan::gemm_convolution3d_input_grad", mutates_args=())
def input_grad(grad: Tensor, weight: Tensor, input_shape: list[int], stride: list[int],
               padding: list[int]) -> Tensor:
    """The input's gradient: with at least :data:`PHASE_POSITIONS` output positions per clip
    and strides that divide the kernel, :func:`_phase_input_grad`; else grad @ weight gives
    each patch's gradient, summed in fp32 onto the (padded) input positions the patches
    read, one output position (its patch) or one kernel position (its entry of every patch)
    at a time, whichever are fewer."""
    b, c, *size = input_shape
    kernel, out = list(weight.shape[2:]), list(grad.shape[2:])
    if math.prod(out) >= PHASE_POSITIONS and all(k % s == 0 for k, s in zip(kernel, stride)):
        return _phase_input_grad(grad, weight, size, stride, padding)
    patches = (_rows(grad) @ _matrix(weight)).view(b, *out, *kernel, c)
    padded = grad.new_zeros((b, *(n + 2 * p for n, p in zip(size, padding)), c), dtype=torch.float32)
    if math.prod(out) < math.prod(kernel):
        for o in itertools.product(*map(range, out)):
            reads = [slice(i * s, i * s + k) for i, s, k in zip(o, stride, kernel)]
            padded[:, reads[0], reads[1], reads[2]] += patches[:, o[0], o[1], o[2]]
    else:
        for k in itertools.product(*map(range, kernel)):
            reads = [slice(i, i + (n - 1) * s + 1, s) for i, n, s in zip(k, out, stride)]
            padded[:, reads[0], reads[1], reads[2]] += patches[:, :, :, :, k[0], k[1], k[2]]
    (pt, ph, pw), (t, h, w) = padding, size
    return padded[:, pt:pt + t, ph:ph + h, pw:pw + w].to(grad.dtype).contiguous().permute(0, 4, 1, 2, 3)


def _phase_input_grad(grad: Tensor, weight: Tensor, size: list[int], stride: list[int],
                      padding: list[int]) -> Tensor:
    """The input's gradient as one stride-1 transposed convolution of ``grad`` per phase of
    the input (the positions ``i`` with one ``i mod stride``), for strides that divide the
    kernel. Input ``i = s·m + q`` gets ``w[k]·grad[o]`` for ``s·o + k = i + p``: the taps
    ``k = r + s·j`` with ``r = (q + p) mod s``, from ``grad[m + c - j]`` with
    ``c = (q + p) div s``. The same FLOPs as the GEMM, without its scatter-add (the video
    critic's 128→256 Conv3d in bf16 with AMX: 6 clips 42–44 ms against 65–98, 3 clips
    20–24 against 38–40)."""
    taps = [k // s for k, s in zip(weight.shape[2:], stride)]
    phases = [[(q, (q + p) % s, (q + p) // s, -(-(n - q) // s)) for q in range(s)]
              for n, s, p in zip(size, stride, padding)]  # (q, r, c, positions) per dimension
    left = [max(0, *(j - 1 - c for _, _, c, _ in ph)) for j, ph in zip(taps, phases)]
    right = [max(0, *(c + m - o for _, _, c, m in ph)) for ph, o in zip(phases, grad.shape[2:])]
    padded = F.pad(grad, [n for lr in reversed(list(zip(left, right))) for n in lr])
    out = grad.new_empty((grad.shape[0], *size, weight.shape[1]))
    for phase in itertools.product(*phases):
        if any(m == 0 for *_, m in phase):
            continue
        reads = [slice(c - j + 1 + l, c + l + m) for (_, _, c, m), j, l in zip(phase, taps, left)]
        kernel = weight[:, :, *(slice(r, None, s) for (_, r, _, _), s in zip(phase, stride))]
        writes = [slice(q, None, s) for (q, *_), s in zip(phase, stride)]
        out[:, writes[0], writes[1], writes[2]] = F.conv_transpose3d(
            padded[:, :, reads[0], reads[1], reads[2]], kernel, padding=[j - 1 for j in taps]).permute(0, 2, 3, 4, 1)
    return out.permute(0, 4, 1, 2, 3)


@gemm_convolution3d.register_fake
def _(x, weight, stride, padding):
    out = output_size(list(x.shape[2:]), list(weight.shape[2:]), stride, padding)
    return (x.new_empty(x.shape[0], *out, weight.shape[0]).permute(0, 4, 1, 2, 3),
            x.new_empty(x.shape[0] * math.prod(out), weight[0].numel()))


@weight_grad.register_fake
def _(grad, patches, weight_shape):
    n, c, *kernel = weight_shape
    return grad.new_empty(n, *kernel, c).permute(0, 4, 1, 2, 3)


@input_grad.register_fake
def _(grad, weight, input_shape, stride, padding):
    b, c, *size = input_shape
    return grad.new_empty(b, *size, c).permute(0, 4, 1, 2, 3)


def _setup_context(ctx, inputs, output) -> None:
    x, weight, ctx.stride, ctx.padding = inputs
    ctx.input_shape = list(x.shape)
    ctx.save_for_backward(output[1] if ctx.needs_input_grad[1] else None, weight)  # patches: weight gradient
    ctx.mark_non_differentiable(output[1])
    ctx.set_materialize_grads(False)  # else autograd fills a zero gradient of the patches


def _gradients(grad: Tensor, patches: Tensor, input_shape: list[int], weight: Tensor, stride: list[int],
               padding: list[int], needs: tuple[bool, bool]) -> tuple[Tensor | None, Tensor | None]:
    """The input's and the weight's gradients of :func:`gemm_convolution3d`, those ``needs`` asks for."""
    return (input_grad(grad, weight, input_shape, stride, padding) if needs[0] else None,
            weight_grad(grad, patches, list(weight.shape)) if needs[1] else None)


def _backward(ctx, grad: Tensor, _patches_grad: Tensor | None):
    patches, weight = ctx.saved_tensors
    return *_gradients(grad, patches, ctx.input_shape, weight, ctx.stride, ctx.padding,
                       ctx.needs_input_grad[:2]), None, None


gemm_convolution3d.register_autograd(_backward, setup_context=_setup_context)


def _frame(t: Tensor) -> Tensor:
    """``b c h w`` → ``b c 1 h w``: a 2-D tensor as one frame of a 3-D one."""
    return t.unsqueeze(2)


def transpose_forward_positions(device: torch.device) -> int:
    """The most input positions on which a ConvTranspose2d call's forward on ``device`` runs as GEMMs."""
    return AMX_TRANSPOSE_FORWARD_POSITIONS if device.type == "cpu" and AMX else 1


def _transposed_size(x: Tensor, weight: Tensor, stride: list[int], padding: list[int]) -> list[int]:
    return [(n - 1) * s - 2 * p + k for n, s, p, k in zip(x.shape[2:], stride, padding, weight.shape[2:])]


@torch.library.custom_op("vidgan::gemm_convolution_transpose2d", mutates_args=())
def gemm_convolution_transpose2d(x: Tensor, weight: Tensor, stride: list[int], padding: list[int]) -> Tensor:
    """``F.conv_transpose2d(x, weight, stride=stride, padding=padding)``: on an input of at
    most :func:`transpose_forward_positions` positions the input gradient of the convolution
    it transposes (x @ weight, summed onto the output), else oneDNN's."""
    if math.prod(x.shape[2:]) > transpose_forward_positions(x.device):
        return F.conv_transpose2d(x, weight, stride=stride, padding=padding)
    shape = [x.shape[0], weight.shape[1], 1, *_transposed_size(x, weight, stride, padding)]
    return input_grad(_frame(x), _frame(weight), shape, [1, *stride], [0, *padding]).squeeze(2)


@gemm_convolution_transpose2d.register_fake
def _(x, weight, stride, padding):
    if math.prod(x.shape[2:]) > transpose_forward_positions(x.device):
        return F.conv_transpose2d(x, weight, stride=stride, padding=padding)
    return x.new_empty(x.shape[0], *_transposed_size(x, weight, stride, padding), weight.shape[1]).permute(0, 3, 1, 2)


def _transpose_gradients(grad: Tensor, x: Tensor, weight: Tensor, stride: list[int], padding: list[int],
                         needs: tuple[bool, bool]) -> tuple[Tensor | None, Tensor | None]:
    """The input's and the weight's gradients of :func:`gemm_convolution_transpose2d`: the input's
    is the convolution of ``grad`` with the same weight, the weight's that convolution's
    weight gradient with ``x`` as its output's gradient (both over one frame, from one copy
    of ``grad``'s patches)."""
    stride, padding, grad, weight = [1, *stride], [0, *padding], _frame(grad), _frame(weight)
    x_grad, patches = (gemm_convolution3d(grad, weight, stride, padding) if needs[0]
                       else (None, _patches(grad, list(weight.shape[2:]), stride, padding)))
    return (x_grad.squeeze(2) if needs[0] else None,
            weight_grad(_frame(x), patches, list(weight.shape)).squeeze(2) if needs[1] else None)


def _transpose_setup_context(ctx, inputs, output) -> None:
    x, weight, ctx.stride, ctx.padding = inputs
    ctx.save_for_backward(x, weight)


def _transpose_backward(ctx, grad: Tensor):
    x, weight = ctx.saved_tensors
    return *_transpose_gradients(grad, x, weight, ctx.stride, ctx.padding, ctx.needs_input_grad[:2]), None, None


gemm_convolution_transpose2d.register_autograd(_transpose_backward, setup_context=_transpose_setup_context)


@register_flop_formula(torch.ops.vidgan.gemm_convolution3d)
def _forward_flops(x_shape, w_shape, *args, out_shape, **kwargs) -> int:
    return 2 * math.prod(out_shape[0]) * math.prod(w_shape[1:])


@register_flop_formula(torch.ops.vidgan.gemm_convolution3d_weight_grad)
def _weight_grad_flops(grad_shape, x_shape, *args, out_shape, **kwargs) -> int:
    return 2 * math.prod(grad_shape) * math.prod(out_shape[1:])


@register_flop_formula(torch.ops.vidgan.gemm_convolution3d_input_grad)
def _input_grad_flops(grad_shape, w_shape, *args, out_shape, **kwargs) -> int:
    return 2 * math.prod(grad_shape) * math.prod(w_shape[1:])


@register_flop_formula(torch.ops.vidgan.gemm_convolution_transpose2d)
def _transpose_flops(x_shape, w_shape, *args, out_shape, **kwargs) -> int:
    return 2 * math.prod(x_shape) * math.prod(w_shape[1:])


def max_positions(conv: nn.Module, device: torch.device) -> int:
    """The most GEMM rows per sample with which a call of ``conv`` on ``device`` runs as GEMMs."""
    if isinstance(conv, nn.Conv3d) and device.type == "cpu" and AMX:
        return AMX_CONV3D_POSITIONS
    return MAX_POSITIONS


def _plain(conv: nn.Module) -> bool:
    """Whether ``conv`` has one group, no dilation or output padding and zero padding given as numbers."""
    return (conv.groups == 1 and set(conv.dilation) == {1} and set(conv.output_padding) == {0}
            and conv.padding_mode == "zeros" and not isinstance(conv.padding, str))


def takes_gemm(conv: nn.Module, input_shape: tuple[int, ...], device: torch.device) -> bool:
    """Whether ``conv`` runs a call on an input of this shape on ``device`` as GEMMs (one that
    :func:`takes_space_to_depth` does not): few GEMM rows and, for a Conv3d or Conv2d, a
    GEMM depth of at least :data:`MIN_DEPTH`; on shallower calls oneDNN's own kernels are
    faster (the quick start's 32→64 Conv3d, 112 output positions, in bf16 with AMX: backward
    as GEMMs 13.4 ms, oneDNN's 7.7 ms; its 16→32 Conv2d 2.7 against 0.5 ms)."""
    if takes_space_to_depth(conv, input_shape, device) or not (
            isinstance(conv, (GemmConv3d, GemmConv2d, GemmConvTranspose2d)) and _plain(conv)):
        return False
    if isinstance(conv, GemmConvTranspose2d):
        rows = input_shape[2:]
    elif conv.in_channels * math.prod(conv.kernel_size) < MIN_DEPTH:
        return False
    else:
        rows = output_size(list(input_shape[2:]), list(conv.kernel_size), list(conv.stride), list(conv.padding))
    return math.prod(rows) <= max_positions(conv, device)


def takes_space_to_depth(conv: nn.Module, input_shape: tuple[int, ...], device: torch.device) -> bool:
    """Whether ``conv`` runs a call on an input of this shape on ``device`` as the stride-1
    convolution of its space-to-depth input (:func:`space_to_depth_convolution3d`): a
    :class:`GemmConv3d` of at most :data:`AMX_SPACE_TO_DEPTH_CHANNELS` input channels on a
    CPU with AMX, whose strides divide its kernel and its padded input."""
    if not (isinstance(conv, GemmConv3d) and device.type == "cpu" and AMX and _plain(conv)
            and conv.in_channels <= AMX_SPACE_TO_DEPTH_CHANNELS and max(conv.stride) > 1):
        return False
    return all(k % s == 0 and (n + 2 * p) % s == 0 for n, k, s, p in
               zip(input_shape[2:], conv.kernel_size, conv.stride, conv.padding))


def _space_to_depth(t: Tensor, stride: list[int], padding: list[int]) -> Tensor:
    """``b c t h w`` → ``b (st·sh·sw·c) t/st h/sh w/sw`` (after zero ``padding``), channels_last:
    each channel splits into one per position within a stride block (channels innermost, so
    the copy moves runs of ``sw·c`` values: twice as fast as with the positions innermost)."""
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
    oneDNN runs a strided 3-channel Conv3d far below the peak with AMX (the video critic's
    first layer in bf16 on 6 clips: 21 ms forward, 39 ms with its weight gradient; as a
    12-channel stride-1 convolution 7 and 12 ms)."""
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
    :func:`max_positions` output positions per clip and a depth of at least :data:`MIN_DEPTH` run as
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
    :data:`MAX_POSITIONS` output positions per image and a depth of at least :data:`MIN_DEPTH` run
    as a GEMM (a one-frame :func:`gemm_convolution3d`); bf16 under autocast."""

    def _conv_forward(self, x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        if not takes_gemm(self, tuple(x.shape), x.device):
            return super()._conv_forward(x, weight, bias)
        x, weight = _autocast(x, weight)
        y = gemm_convolution3d(_frame(x), _frame(weight), [1, *self.stride], [0, *self.padding])[0]
        return _add_bias(y.squeeze(2), bias)


class GemmConvTranspose2d(nn.ConvTranspose2d):
    """An nn.ConvTranspose2d (same parameters and state_dict) whose calls on inputs of at
    most :data:`MAX_POSITIONS` positions run their gradients as GEMMs (and their forward on
    a 1×1 input); bf16 under autocast."""

    def forward(self, x: Tensor, output_size: list[int] | None = None) -> Tensor:
        if output_size is not None or not takes_gemm(self, tuple(x.shape), x.device):
            return super().forward(x, output_size)
        x, weight = _autocast(x, self.weight)
        return _add_bias(gemm_convolution_transpose2d(x, weight, list(self.stride), list(self.padding)), self.bias)


GEMM_CLASSES = {nn.Conv3d: GemmConv3d, nn.Conv2d: GemmConv2d, nn.ConvTranspose2d: GemmConvTranspose2d}


def use_gemm(module: nn.Module, kind: type[nn.Module]) -> None:
    """Make every ``kind`` layer (nn.Conv3d, nn.Conv2d or nn.ConvTranspose2d) in ``module``
    its GEMM class (parameters and state_dict keys stay as they are)."""
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
