"""Each convolution of an iteration timed alone, and its GEMMs timed as plain matrix products.

The convolutions one call of an iteration runs are found by hooks on its modules; each is
then timed alone, forward and backward, with the iteration's shapes, dtype, layout and
gradients: what the convolutions take when nothing else runs, the limit the convolution
library sets. Their GEMMs as im2col lowers them (:func:`gemm_shapes`) are timed as plain
matrix products too: what the BLAS takes for the same FLOPs with no patches to copy or
sum, so the report can split the convolutions' time into GEMMs and lowering.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any, Callable

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from vidgan.bench.timing import DTYPES, Case, best_seconds
from vidgan import accel
from vidgan.accel.gemm import gemm_passes, space_to_depth_passes, takes_gemm, takes_space_to_depth

CONVOLUTIONS = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)


def convolution_calls(case: Case) -> list[tuple[nn.Module, tuple[int, ...], tuple[bool, bool], int]]:
    """The convolutions one call of ``case`` runs, per distinct module, input shape and the
    gradients autograd needs of it (to the input, to the weight): ``(module, shape, grads,
    calls)``."""
    calls: dict[tuple, list] = {}

    def record(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: Any) -> None:
        grad = torch.is_grad_enabled()
        grads = (grad and inputs[0].requires_grad, grad and module.weight.requires_grad)
        key = (id(module), tuple(inputs[0].shape), grads)
        calls.setdefault(key, [module, key[1], grads, 0])[-1] += 1

    hooks = [m.register_forward_hook(record) for net in case.modules for m in net.modules()
             if isinstance(m, CONVOLUTIONS)]
    try:
        case.fn()
    finally:
        for hook in hooks:
            hook.remove()
    if case.settle:
        case.settle()
    return [tuple(c) for c in calls.values()]


def gemm_shapes(conv: nn.Module, input_shape: tuple[int, ...], output_shape: tuple[int, ...],
                grads: tuple[bool, bool]) -> dict[str, list[tuple[int, int, int]]]:
    """The matrix products (rows × depth × columns) one call of ``conv`` comes to, per pass,
    lowered as im2col does: the forward, then the input's and the weight's gradients that
    ``grads`` asks for; one per group. A convolution has a row per output position, a depth
    of input channels × kernel positions and a column per output channel; a transposed one
    is the input gradient of the convolution it transposes (a row per input position)."""
    kernel, groups = math.prod(conv.kernel_size), conv.groups
    if isinstance(conv, nn.modules.conv._ConvTransposeNd):
        rows = input_shape[0] * math.prod(input_shape[2:])
        depth, columns = conv.out_channels // groups * kernel, conv.in_channels // groups
        forward, input_grad = (rows, columns, depth), (rows, depth, columns)
    else:
        rows = output_shape[0] * math.prod(output_shape[2:])
        depth, columns = conv.in_channels // groups * kernel, conv.out_channels // groups
        forward, input_grad = (rows, depth, columns), (rows, columns, depth)
    backward = [g for g, needed in zip((input_grad, (columns, rows, depth)), grads) if needed]
    return {"forward": [forward] * groups, "backward": backward * groups}


def matmul_seconds(shape: tuple[int, int, int], device: torch.device, dtype: torch.dtype, repeats: int) -> float:
    """The best time of a plain matrix product of ``shape`` (rows × depth × columns), over
    both layouts of its second operand (depth-major, as im2col's weight, or column-major)."""
    m, k, n = shape
    a = torch.randn(m, k, device=device, dtype=dtype)
    return min(best_seconds(lambda: a @ b, repeats) for b in (torch.randn(k, n, device=device, dtype=dtype),
                                                               torch.randn(n, k, device=device, dtype=dtype).t()))


def convolution_passes(case: Case, device: torch.device, repeats: int = 5,
                       between: Callable[[], None] = lambda: None) -> list[dict[str, Any]]:
    """Each convolution of one call of ``case`` timed alone (best of ``repeats``), forward and
    backward (one call for the gradients autograd needs, as in the iteration), with the
    iteration's shapes, dtype and layout: what its convolutions take when nothing else runs;
    and its :func:`gemm_shapes` as plain matrix products (:func:`matmul_seconds`): what the
    BLAS takes for the same FLOPs with no patches to copy or sum. ``between`` runs before
    each. Rows: the layer, its input, its calls, per pass its seconds, GFLOP and GEMMs'
    seconds (and the backward's gradients)."""
    dtype = DTYPES[case.levers.get("precision", "fp32")]
    rows = []
    for module, shape, grads, count in convolution_calls(case):
        between()
        x = torch.randn(shape, device=device, dtype=dtype)
        w = module.weight.detach().to(dtype)
        if case.levers.get("channels_last") and x.dim() in (4, 5):
            x, w = (t.contiguous(memory_format=accel.memory_format(x)) for t in (x, w))
        gemm, space_to_depth = takes_gemm(module, shape, device), takes_space_to_depth(module, shape, device)
        if gemm or space_to_depth:  # as GEMMs or space-to-depth (train.conv3d_gemm, conv2d_gemm, conv_transpose_gemm)
            forward, other_backward = (gemm_passes if gemm else space_to_depth_passes)(module, x, w, grads)

            def backward() -> Any:
                return other_backward(grad)
        else:
            transposed = isinstance(module, nn.modules.conv._ConvTransposeNd)
            geometry = (module.stride, module.padding, module.dilation, transposed, module.output_padding,
                        module.groups)

            def forward() -> Any:
                return torch.ops.aten.convolution(x, w, None, *geometry)

            def backward() -> Any:
                return torch.ops.aten.convolution_backward(grad, x, w, None, *geometry, [*grads, False])
        grad = torch.randn_like(forward())
        shapes = gemm_shapes(module, shape, tuple(grad.shape), grads)
        passes = {"forward": forward, "backward": backward} if any(grads) else {"forward": forward}
        kind = next(c.__name__ for c in type(module).__mro__ if c.__module__.startswith("torch.nn"))
        row: dict[str, Any] = {"layer": f"{kind} {module.in_channels}→{module.out_channels}, "
                                        f"kernel {'×'.join(map(str, module.kernel_size))}, "
                                        f"stride {'×'.join(map(str, module.stride))}"
                                        + (", as GEMMs" if gemm else ", space-to-depth" if space_to_depth else ""),
                               "input": "×".join(map(str, shape)), "calls": count,
                               "gradients": " and ".join(n for n, g in zip(("input", "weight"), grads) if g)}
        for name, fn in passes.items():
            with FlopCounterMode(display=False) as counter:
                fn()
            row[name] = {"seconds": best_seconds(fn, repeats), "gflop": counter.get_total_flops() / 1e9,
                         "gemm_seconds": sum(n * matmul_seconds(s, device, dtype, repeats)  # a group's once
                                             for s, n in Counter(shapes[name]).items())}
        rows.append(row)
    return rows
