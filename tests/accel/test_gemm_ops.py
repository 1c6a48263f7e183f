"""The GEMM convolution ops: gradients, FLOP counts, the patches autograd keeps, and compiling."""

import math

import pytest
import torch
import torch.nn.functional as F
from gemm_helpers import CL3, pair, run, close, shallow_gemms  # noqa: F401 (an autouse fixture)
from torch import nn
from torch.utils.flop_counter import FlopCounterMode
from torch.utils._python_dispatch import TorchDispatchMode

from vidgan.accel.gemm import gemm_convolution_transpose2d, gemm_convolution3d, ops, takes_gemm, thresholds

CPU = torch.device("cpu")


@pytest.mark.parametrize("shape, kernel, stride, padding, phases", [
    ((2, 8, 10, 16, 16), (4, 4, 4), (1, 2, 2), (0, 1, 1), 4),   # the video critic's 128→256 layer: 7·8·8 outputs
    ((2, 4, 11, 22, 31), (2, 4, 6), (2, 2, 3), (1, 2, 0), 12),  # uneven; input rows no output reads
    ((1, 4, 6, 20, 20), (3, 2, 2), (1, 2, 2), (2, 0, 1), 4),    # padding wider than the kernel in time
    ((2, 4, 10, 16, 16), (3, 3, 3), (1, 2, 2), (0, 1, 1), 0),   # stride 2 does not divide kernel 3: the slices
    ((2, 4, 7, 8, 8), (4, 4, 4), (1, 2, 2), (0, 1, 1), 0),      # 4·4·4 outputs: the slices
])
def test_input_gradients_with_many_output_positions_run_as_phase_convolutions(shape, kernel, stride, padding, phases):
    """One stride-1 transposed convolution per phase of the input (its positions with one
    index modulo the stride) once a call has PHASE_POSITIONS output positions per clip and
    its strides divide the kernel: the gradient of nn.Conv3d, channels_last, its FLOPs the GEMM's."""
    torch.manual_seed(0)
    conv = nn.Conv3d(shape[1], 6, kernel, stride, padding, bias=False)
    x = torch.randn(shape, requires_grad=True)
    y = conv(x)
    grad = torch.randn_like(y)
    expected, = torch.autograd.grad(y, x, grad)
    divides = all(k % s == 0 for k, s in zip(kernel, stride))
    assert (phases > 0) == (divides and math.prod(y.shape[2:]) >= thresholds.PHASE_POSITIONS)
    with torch.profiler.profile() as prof, FlopCounterMode(display=False) as counter:
        got = ops.input_grad(grad, conv.weight.detach(), list(shape), list(stride), list(padding))
    assert [e.name for e in prof.events()].count("aten::conv_transpose3d") == phases
    assert close([got], [expected], 1e-5) and got.is_contiguous(memory_format=CL3)
    assert counter.get_total_flops() == 2 * y.numel() * math.prod(conv.weight.shape[1:])


def test_flops_are_the_convolutions():
    plain, gemm = pair(16, 32, 4, (1, 2, 2), (0, 1, 1))
    x = torch.randn(3, 16, 7, 8, 8)
    totals = []
    for conv in (plain, gemm):
        with FlopCounterMode(display=False) as counter:
            run(conv, x)
        totals.append(counter.get_total_flops())
    assert totals[0] == totals[1] == 3 * 2 * (3 * 32 * 4 * 4 * 4) * (16 * 4 * 4 * 4)  # forward + two gradients


class Sizes(TorchDispatchMode):
    """The sizes of the tensors the ops it sees return."""

    def __init__(self):
        super().__init__()
        self.sizes = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        self.sizes += [t.numel() for t in (out if isinstance(out, (tuple, list)) else [out])
                       if isinstance(t, torch.Tensor)]
        return out


def backward_patches(monkeypatch, conv, x):
    """How many times the backward of ``conv(x)`` copies patches out of a tensor, and the
    largest tensor it makes outside these ops."""
    calls = []
    y = conv(x)
    monkeypatch.setattr(ops, "_patches", lambda *a: calls.append(a[0].numel()) or patches(*a))
    with Sizes() as sizes:
        y.sum().backward()
    monkeypatch.setattr(ops, "_patches", patches)
    assert conv.weight.grad is not None
    return len(calls), max(sizes.sizes)


patches = ops._patches


def test_the_weight_gradient_reuses_the_forward_patches(monkeypatch):
    _, conv = pair(4, 8, 4, (1, 2, 2), (0, 1, 1), channels_last=True)
    x = torch.randn(2, 4, 7, 8, 8).contiguous(memory_format=CL3)
    assert takes_gemm(conv, tuple(x.shape), CPU)
    copies, largest = backward_patches(monkeypatch, conv, x)
    assert copies == 0 and largest < 2 * 64 * 64 * 4  # and no (zero) gradient of the patches
    _, conv = pair(8, 4, 4, 2, 1, kind=nn.ConvTranspose2d)
    assert backward_patches(monkeypatch, conv, torch.randn(2, 8, 4, 4, requires_grad=True))[0] == 1  # both gradients


def test_autograd_keeps_the_patches_only_for_a_weight_gradient():
    _, conv = pair(4, 8, 4, (1, 2, 2), (0, 1, 1))
    x = torch.randn(2, 4, 7, 8, 8, requires_grad=True)
    weight = tuple(conv.weight.shape)
    for weight_grad, kept in ((True, [(2 * 64, 64 * 4), weight]), (False, [weight])):
        conv.weight.requires_grad_(weight_grad)  # frozen: a critic in the G step (train.skip_critic_grads)
        saved = []
        with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(tuple(t.shape)) or t, lambda t: t):
            conv(x)
        assert saved == kept


def test_the_op_compiles():
    x, w = torch.randn(2, 4, 7, 8, 8), torch.randn(8, 4, 4, 4, 4)
    compiled = torch.compile(gemm_convolution3d, backend="aot_eager", fullgraph=True)
    expected = F.conv3d(x, w, stride=(1, 2, 2), padding=(0, 1, 1))
    assert torch.allclose(compiled(x, w, [1, 2, 2], [0, 1, 1])[0], expected, atol=1e-5)


@pytest.mark.parametrize("has_amx", [False, True])
def test_the_transposed_op_compiles(monkeypatch, has_amx):
    monkeypatch.setattr(thresholds, "amx", lambda: has_amx)
    x, w = torch.randn(2, 4, 4, 4), torch.randn(4, 8, 4, 4)
    compiled = torch.compile(gemm_convolution_transpose2d, backend="aot_eager", fullgraph=True)
    for x in (x, x[:, :, :1, :1]):  # GEMMs on a 1×1 input, on the 4×4 one with AMX
        expected = gemm_convolution_transpose2d(x, w, [2, 2], [1, 1])
        got = compiled(x, w, [2, 2], [1, 1])
        assert torch.allclose(got, F.conv_transpose2d(x, w, stride=2, padding=1), atol=1e-5)
        assert got.stride() == expected.stride()
