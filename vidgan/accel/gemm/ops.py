"""Convolutions as matrix products: the custom ops behind :mod:`vidgan.accel.gemm`.

- ``vidgan::gemm_convolution3d``: ``F.conv3d`` as the patches (clips × output positions) ×
  (kernel positions × input channels) times the weight (output channels × the same); it
  also returns the patches, which autograd keeps for the weight's gradient, so the
  backward copies no second set. A Conv2d call runs it over one frame.
- ``vidgan::gemm_convolution3d_weight_grad`` and ``vidgan::gemm_convolution3d_input_grad``:
  its two gradients, one GEMM each (the input's summed onto the input positions in fp32,
  or, from :data:`~vidgan.accel.gemm.thresholds.PHASE_POSITIONS` output positions on, as
  stride-1 transposed convolutions, one per phase of the input).
- ``vidgan::gemm_convolution_transpose2d``: ``F.conv_transpose2d``, whose gradients are a
  convolution of the output's gradient (the input's) and that convolution's weight
  gradient (the weight's): the ops above over one frame. Its forward is the input
  gradient of the convolution it transposes on small inputs, else oneDNN's.

Channels are innermost both in the patches and in a channels_last weight, so with
channels_last inputs the patches are one strided copy and the weight a view. Each op has
a FLOP formula, so the FLOP counter and the profiler count it as the convolution it is.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.flop_counter import register_flop_formula

from vidgan.accel.gemm import thresholds


def cache_tag() -> str:
    """A tag from the source of :mod:`vidgan.accel.gemm` for torch.compile's cache keys.

    torch.compile's caches key a graph by its ops' names, not by their Python backward
    formulas (pytorch/pytorch#144344): the tag keeps graphs compiled with another version
    of these ops from being reused. Computed when compiling is switched on.
    """
    sources = sorted(Path(__file__).parent.glob("*.py"))
    digest = hashlib.sha256(b"".join(path.read_bytes() for path in sources)).hexdigest()
    return "vidgan-gemm-conv-" + digest[:16]


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
    """The input's gradient: with at least :data:`~vidgan.accel.gemm.thresholds.PHASE_POSITIONS` output positions per clip
    and strides that divide the kernel, :func:`_phase_input_grad`; else grad @ weight gives
    each patch's gradient, summed in fp32 onto the (padded) input positions the patches
    read, one output position (its patch) or one kernel position (its entry of every patch)
    at a time, whichever are fewer."""
    b, c, *size = input_shape
    kernel, out = list(weight.shape[2:]), list(grad.shape[2:])
    if math.prod(out) >= thresholds.PHASE_POSITIONS and all(k % s == 0 for k, s in zip(kernel, stride)):
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
    ``c = (q + p) div s``. The same FLOPs as the GEMM, without its scatter-add, which is
    slow on many output positions."""
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


def _transposed_size(x: Tensor, weight: Tensor, stride: list[int], padding: list[int]) -> list[int]:
    return [(n - 1) * s - 2 * p + k for n, s, p, k in zip(x.shape[2:], stride, padding, weight.shape[2:])]


@torch.library.custom_op("vidgan::gemm_convolution_transpose2d", mutates_args=())
def gemm_convolution_transpose2d(x: Tensor, weight: Tensor, stride: list[int], padding: list[int]) -> Tensor:
    """``F.conv_transpose2d(x, weight, stride=stride, padding=padding)``: on an input of at
    most :func:`~vidgan.accel.gemm.thresholds.transpose_forward_positions` positions the input gradient of the convolution
    it transposes (x @ weight, summed onto the output), else oneDNN's."""
    if math.prod(x.shape[2:]) > thresholds.transpose_forward_positions(x.device):
        return F.conv_transpose2d(x, weight, stride=stride, padding=padding)
    shape = [x.shape[0], weight.shape[1], 1, *_transposed_size(x, weight, stride, padding)]
    return input_grad(_frame(x), _frame(weight), shape, [1, *stride], [0, *padding]).squeeze(2)


@gemm_convolution_transpose2d.register_fake
def _(x, weight, stride, padding):
    if math.prod(x.shape[2:]) > thresholds.transpose_forward_positions(x.device):
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
