"""Conv3d and ConvTranspose2d calls as GEMMs: the same numbers as nn.Conv3d and
nn.ConvTranspose2d, counted as convolutions."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode
from torch.utils._python_dispatch import TorchDispatchMode

from vidgan import gemm_conv
from vidgan.gemm_conv import (AMX_CONV3D_POSITIONS, AMX_TRANSPOSE_FORWARD_POSITIONS, MAX_POSITIONS, GemmConv2d,
                               GemmConv3d, GemmConvTranspose2d, gemm_convolution_transpose2d, gemm_convolution3d,
                               takes_gemm, use_gemm)

CL3, CL2 = torch.channels_last_3d, torch.channels_last
CPU = torch.device("cpu")
MIN_DEPTH = gemm_conv.MIN_DEPTH


@pytest.fixture(autouse=True)
def shallow_gemms(monkeypatch):
    """Small layers run as GEMMs too, so the tests stay fast
    (:func:`test_only_deep_calls_take_the_gemm` checks the depth rule)."""
    monkeypatch.setattr(gemm_conv, "MIN_DEPTH", 1)


def test_only_deep_calls_take_the_gemm(monkeypatch):
    monkeypatch.setattr(gemm_conv, "MIN_DEPTH", MIN_DEPTH)
    for kind, kernel, shape in ((nn.Conv3d, 4, (2, 0, 7, 8, 8)), (nn.Conv2d, 4, (2, 0, 8, 8))):
        deep = MIN_DEPTH // kernel ** (len(shape) - 2)  # input channels × kernel positions = MIN_DEPTH
        for channels, expected in ((deep, True), (deep // 2, False)):
            _, conv = pair(channels, 8, kernel, 2 if kind is nn.Conv2d else (1, 2, 2),
                           1 if kind is nn.Conv2d else (0, 1, 1), kind=kind)
            assert takes_gemm(conv, (2, channels, *shape[2:]), CPU) == expected
    _, transposed = pair(8, 4, 4, 2, 1, kind=nn.ConvTranspose2d)  # its gradients' GEMMs win even when shallow
    assert takes_gemm(transposed, (2, 8, 4, 4), CPU)


def pair(cin, cout, kernel, stride, padding, bias=False, channels_last=False, kind=nn.Conv3d):
    torch.manual_seed(0)
    plain = kind(cin, cout, kernel, stride, padding, bias=bias)
    gemm = kind(cin, cout, kernel, stride, padding, bias=bias)
    gemm.load_state_dict(plain.state_dict())
    use_gemm(gemm, kind)
    if channels_last:
        for m in (plain, gemm):
            m.weight.data = m.weight.data.contiguous(memory_format=CL3 if kind is nn.Conv3d else CL2)
    return plain, gemm


def run(conv, x):
    """Output, input gradient and parameter gradients of a weighted sum of the output."""
    x = x.clone().requires_grad_()
    conv.zero_grad()
    y = conv(x)
    (y.float() * torch.linspace(-1, 1, y.numel(), device=y.device).view(y.shape)).sum().backward()
    return [y, x.grad, *(p.grad for p in conv.parameters())]


def flop_run(conv, x):
    """:func:`run` under the FLOP counter: its results, the FLOPs and the ops counted."""
    with FlopCounterMode(display=False) as counter:
        out = run(conv, x)
    return out, counter.get_total_flops(), {str(op) for op in counter.get_flop_counts()["Global"]}


def close(a, b, tol):
    return all(((u.float() - v.float()).abs().max() / v.float().abs().max()).item() < tol for u, v in zip(a, b))


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("layer, shape", [
    ((16, 32, 4, (1, 2, 2), (0, 1, 1)), (3, 16, 7, 8, 8)),   # a MoCoGAN video critic's 4×4×4 output
    ((32, 5, 4, 1, 0), (2, 32, 4, 4, 4)),                    # its last layer: one position
    ((16, 8, 4, 1, 0), (2, 16, 5, 5, 5)),                    # 8 overlapping patches, fewer than the kernel's 64
    ((8, 12, (3, 2, 3), (2, 1, 2), (1, 0, 2)), (2, 8, 5, 4, 6)),  # uneven kernel, stride and padding
])
def test_matches_conv3d_in_fp32(layer, shape, bias, channels_last):
    plain, gemm = pair(*layer, bias=bias, channels_last=channels_last)
    x = torch.randn(shape)
    if channels_last:
        x = x.contiguous(memory_format=CL3)
    assert takes_gemm(gemm, shape, CPU)
    a, b = run(gemm, x), run(plain, x)
    assert [t.shape for t in a] == [t.shape for t in b]
    assert close(a, b, 1e-5)


@pytest.mark.parametrize("kind, layer, shape", [
    (nn.Conv3d, (64, 128, 4, (1, 2, 2), (0, 1, 1)), (2, 64, 7, 8, 8)),
    (nn.Conv2d, (64, 128, 4, 2, 1), (4, 64, 16, 16)),
    (nn.ConvTranspose2d, (64, 32, 4, 2, 1), (4, 64, 4, 4)),
])
def test_bf16_autocast_runs_in_bf16_within_its_rounding(kind, layer, shape):
    plain, gemm = pair(*layer, channels_last=True, kind=kind)
    layout = CL3 if kind is nn.Conv3d else CL2
    x = torch.randn(shape).contiguous(memory_format=layout)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        a, b = run(gemm, x), run(plain, x)
    assert a[0].dtype == torch.bfloat16 and a[2].dtype == torch.float32  # bf16 compute, fp32 weight
    assert a[2].is_contiguous(memory_format=layout)  # the weight's gradient in the weight's layout
    assert close(a, b, 2e-2)


def test_only_calls_with_few_output_positions_take_the_gemm():
    _, gemm = pair(4, 8, 4, (1, 2, 2), (0, 1, 1))
    small, large = (2, 4, 7, 8, 8), (2, 4, 7, 32, 32)  # 4·4·4 = 64 and 4·16·16 output positions
    assert 4 * 4 * 4 <= MAX_POSITIONS < 4 * 16 * 16
    for shape, expected in ((small, True), (large, False)):
        with FlopCounterMode(display=False) as counter:
            gemm(torch.randn(shape))
        ops = {str(op) for op in counter.get_flop_counts()["Global"]}
        assert takes_gemm(gemm, shape, CPU) == expected
        assert ops == ({"vidgan.gemm_convolution3d"} if expected else {"aten.convolution"})
    assert not takes_gemm(nn.Conv3d(4, 8, 4, (1, 2, 2), (0, 1, 1)), small, CPU)  # a plain Conv3d never does
    same = nn.Conv3d(4, 8, 3, padding="same")
    use_gemm(same, nn.Conv3d)
    assert not takes_gemm(same, (2, 4, 4, 4, 4), CPU) and same(torch.randn(2, 4, 4, 4, 4)).shape == (2, 8, 4, 4, 4)


@pytest.mark.parametrize("has_amx", [False, True])
def test_on_a_cpu_with_amx_conv3d_calls_with_more_output_positions_take_the_gemm(monkeypatch, has_amx):
    monkeypatch.setattr(gemm_conv, "AMX", has_amx)
    plain, gemm = pair(8, 16, 4, (1, 2, 2), (0, 1, 1))
    shape = (2, 8, 10, 16, 16)  # 7·8·8 = 448 output positions: the video critic's 128→256 layer
    assert MAX_POSITIONS < 7 * 8 * 8 <= AMX_CONV3D_POSITIONS < 10 * 16 * 16
    assert takes_gemm(gemm, shape, CPU) == has_amx
    assert not takes_gemm(gemm, (2, 8, 13, 32, 32), CPU)  # 10·16·16 positions: oneDNN everywhere
    assert not takes_gemm(gemm, shape, torch.device("cuda"))  # AMX is the CPU's
    _, transposed = pair(4, 8, 4, 2, 1, kind=nn.ConvTranspose2d)
    assert not takes_gemm(transposed, (2, 4, 16, 16), CPU)  # only Conv3d calls take more
    x = torch.randn(shape)
    _, _, ops = flop_run(gemm, x)
    assert ("vidgan.gemm_convolution3d_input_grad" in ops) == has_amx
    assert close(run(gemm, x), run(plain, x), 1e-5)


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("has_amx", [False, True])
def test_on_a_cpu_with_amx_strided_rgb_conv3d_calls_run_space_to_depth(monkeypatch, has_amx, channels_last):
    """The video critic's first layer (3 channels, stride 1×2×2) with AMX: a 12-channel
    stride-1 convolution of the input's 2×2 blocks, the same numbers as nn.Conv3d."""
    monkeypatch.setattr(gemm_conv, "AMX", has_amx)
    plain, s2d = pair(3, 8, 4, (1, 2, 2), (0, 1, 1), bias=True, channels_last=channels_last)
    shape = (2, 3, 6, 16, 16)  # 3·8·8 output positions: not a GEMM call
    assert gemm_conv.takes_space_to_depth(s2d, shape, CPU) == has_amx and not takes_gemm(s2d, shape, CPU)
    x = torch.randn(shape)
    if channels_last:
        x = x.contiguous(memory_format=CL3)
    with torch.profiler.profile(record_shapes=True) as prof:
        a = run(s2d, x)
    channels = {e.input_shapes[0][1] for e in prof.events() if e.name == "aten::convolution"}
    assert channels == ({3 * 1 * 2 * 2} if has_amx else {3})
    assert close(a, run(plain, x), 1e-5) and a[0].is_contiguous(memory_format=CL3) == (has_amx or channels_last)
    _, big = pair(8, 8, 4, (1, 2, 2), (0, 1, 1))
    _, odd = pair(3, 8, 3, (1, 2, 2), (0, 1, 1))
    _, unstrided = pair(3, 8, 4, 1, 0)
    assert not any(gemm_conv.takes_space_to_depth(conv, (2, c, 6, 16, 16), CPU)
                   for conv, c in ((big, 8), (odd, 3), (unstrided, 3)))  # 8 channels, kernel 3 / stride 2, stride 1
    assert not gemm_conv.takes_space_to_depth(s2d, (2, 3, 6, 15, 15), CPU)  # 17 padded rows: no 2×2 blocks
    assert not gemm_conv.takes_space_to_depth(s2d, shape, torch.device("cuda"))
    assert not gemm_conv.takes_space_to_depth(plain, shape, CPU)  # nn.Conv3d itself never


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
    assert (phases > 0) == (divides and math.prod(y.shape[2:]) >= gemm_conv.PHASE_POSITIONS)
    with torch.profiler.profile() as prof, FlopCounterMode(display=False) as counter:
        got = gemm_conv.input_grad(grad, conv.weight.detach(), list(shape), list(stride), list(padding))
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


def test_use_gemm_keeps_parameters_and_state_dict_keys():
    net = nn.Sequential(nn.Conv3d(3, 4, 4, (1, 2, 2), (0, 1, 1)), nn.LeakyReLU(), nn.Conv2d(4, 4, 3))
    params, keys = list(net.parameters()), list(net.state_dict())
    use_gemm(net, nn.Conv3d)
    assert type(net[0]) is GemmConv3d and type(net[2]) is nn.Conv2d
    assert list(net.parameters()) == params and list(net.state_dict()) == keys
    use_gemm(net, nn.Conv2d)
    assert type(net[0]) is GemmConv3d and type(net[2]) is GemmConv2d
    assert list(net.parameters()) == params and list(net.state_dict()) == keys
    net = nn.Sequential(nn.ConvTranspose2d(6, 4, 4), nn.BatchNorm2d(4), nn.ConvTranspose3d(4, 2, 3))
    params, keys = list(net.parameters()), list(net.state_dict())
    use_gemm(net, nn.ConvTranspose2d)
    assert type(net[0]) is GemmConvTranspose2d and type(net[2]) is nn.ConvTranspose3d
    assert list(net.parameters()) == params and list(net.state_dict()) == keys


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
    monkeypatch.setattr(gemm_conv, "_patches", lambda *a: calls.append(a[0].numel()) or patches(*a))
    with Sizes() as sizes:
        y.sum().backward()
    monkeypatch.setattr(gemm_conv, "_patches", patches)
    assert conv.weight.grad is not None
    return len(calls), max(sizes.sizes)


patches = gemm_conv._patches


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


# Conv2d ----------------------------------------------------------------------------------
def matches_in_fp32(kind, layer, shape, bias, channels_last):
    """A 2-D GEMM layer's call on ``shape`` takes the GEMM and gives the plain layer's output
    and gradients within 1e-5: the GEMM layer, its results, both FLOP counts and its ops."""
    plain, gemm = pair(*layer, bias=bias, channels_last=channels_last, kind=kind)
    x = torch.randn(shape)
    if channels_last:
        x = x.contiguous(memory_format=CL2)
    assert takes_gemm(gemm, shape, CPU)
    (a, flops_a, ops), (b, flops_b, _) = flop_run(gemm, x), flop_run(plain, x)
    assert [t.shape for t in a] == [t.shape for t in b]
    assert close(a, b, 1e-5)
    return gemm, a, flops_a, flops_b, ops


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("layer, shape", [
    ((16, 32, 4, 2, 1), (3, 16, 8, 8)),                # an image critic's 256→512 geometry: 4×4 output
    ((32, 3, 4, 1, 0), (2, 32, 4, 4)),                 # its last layer: one position
    ((8, 12, (3, 2), (2, 1), (1, 0)), (2, 8, 5, 6)),   # uneven kernel, stride and padding
])
def test_conv2d_matches_in_fp32(layer, shape, bias, channels_last):
    _, a, flops_a, flops_b, ops = matches_in_fp32(nn.Conv2d, layer, shape, bias, channels_last)
    assert flops_a == flops_b and "vidgan.gemm_convolution3d" in ops  # counted as the convolution it is
    if channels_last:
        assert a[0].is_contiguous(memory_format=CL2)


def test_only_conv2d_calls_with_few_output_positions_take_the_gemm():
    _, gemm = pair(4, 8, 4, 2, 1, kind=nn.Conv2d)
    small, large = (2, 4, 16, 16), (2, 4, 32, 32)  # 8·8 = 64 and 16·16 output positions
    assert 8 * 8 <= MAX_POSITIONS < 16 * 16
    for shape, expected in ((small, True), (large, False)):
        with FlopCounterMode(display=False) as counter:
            gemm(torch.randn(shape))
        assert takes_gemm(gemm, shape, CPU) == expected
        assert {str(op) for op in counter.get_flop_counts()["Global"]} == (
            {"vidgan.gemm_convolution3d"} if expected else {"aten.convolution"})
    assert not takes_gemm(nn.Conv2d(4, 8, 4, 2, 1), small, CPU)  # a plain Conv2d never does


# ConvTranspose2d -------------------------------------------------------------------------
@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("layer, shape", [
    ((66, 32, 4, 1, 0), (3, 66, 1, 1)),                # the latent's projection: a 1×1 input
    ((16, 8, 4, 2, 1), (3, 16, 4, 4)),                 # a DCGAN decoder's upsampling layer
    ((8, 5, (3, 4), (2, 1), (1, 0)), (2, 8, 5, 6)),    # uneven kernel, stride and padding
    ((8, 5, 4, 1, 1), (2, 8, 1, 1)),                   # a 1×1 input with padding
])
def test_transposed_matches_conv_transpose2d_in_fp32(layer, shape, bias, channels_last):
    gemm, _, flops_a, flops_b, ops = matches_in_fp32(nn.ConvTranspose2d, layer, shape, bias, channels_last)
    assert ops == {"vidgan.gemm_convolution_transpose2d", "vidgan.gemm_convolution3d",
                   "vidgan.gemm_convolution3d_weight_grad"}  # the gradients ran as GEMMs
    assert flops_a == flops_b == 3 * 2 * math.prod(shape) * math.prod(gemm.weight.shape[1:])


def test_only_transposed_calls_on_small_inputs_take_the_gemm():
    _, gemm = pair(4, 8, 4, 2, 1, kind=nn.ConvTranspose2d)
    small, large = (2, 4, 8, 8), (2, 4, 16, 16)
    assert 8 * 8 <= MAX_POSITIONS < 16 * 16
    for shape, expected in ((small, True), (large, False)):
        _, _, ops = flop_run(gemm, torch.randn(shape))
        assert takes_gemm(gemm, shape, CPU) == expected
        assert ("vidgan.gemm_convolution3d_weight_grad" in ops) == expected
        assert ("aten.convolution_backward" in ops) != expected
    assert not takes_gemm(nn.ConvTranspose2d(4, 8, 4, 2, 1), small, CPU)  # a plain ConvTranspose2d never does
    padded = nn.ConvTranspose2d(4, 8, 3, 2, 1, output_padding=1)
    use_gemm(padded, nn.ConvTranspose2d)
    assert not takes_gemm(padded, small, CPU) and padded(torch.randn(small)).shape == (2, 8, 16, 16)
    x = torch.randn(small)  # an explicit output_size (one of two possible) goes to nn.ConvTranspose2d
    assert gemm(x, output_size=[17, 17]).shape == (2, 8, 17, 17)


@pytest.mark.parametrize("has_amx", [False, True])
def test_on_a_cpu_with_amx_transposed_forwards_on_4x4_inputs_run_as_gemms(monkeypatch, has_amx):
    monkeypatch.setattr(gemm_conv, "AMX", has_amx)
    plain, gemm = pair(16, 8, 4, 2, 1, channels_last=True, kind=nn.ConvTranspose2d)
    assert 4 * 4 <= AMX_TRANSPOSE_FORWARD_POSITIONS < 8 * 8
    for shape, gemm_forward in (((3, 16, 1, 1), True), ((3, 16, 4, 4), has_amx), ((3, 16, 8, 8), False)):
        x = torch.randn(shape).contiguous(memory_format=CL2)
        with torch.no_grad(), torch.profiler.profile() as prof:
            gemm(x)
        names = {e.name for e in prof.events()}
        assert ("vidgan::gemm_convolution3d_input_grad" in names) == gemm_forward, shape
        assert ("aten::conv_transpose2d" in names) != gemm_forward, shape
        a, b = run(gemm, x), run(plain, x)
        assert close(a, b, 1e-5) and a[0].is_contiguous(memory_format=CL2)


@pytest.mark.parametrize("has_amx", [False, True])
def test_the_transposed_op_compiles(monkeypatch, has_amx):
    monkeypatch.setattr(gemm_conv, "AMX", has_amx)
    x, w = torch.randn(2, 4, 4, 4), torch.randn(4, 8, 4, 4)
    compiled = torch.compile(gemm_convolution_transpose2d, backend="aot_eager", fullgraph=True)
    for x in (x, x[:, :, :1, :1]):  # GEMMs on a 1×1 input, on the 4×4 one with AMX
        expected = gemm_convolution_transpose2d(x, w, [2, 2], [1, 1])
        got = compiled(x, w, [2, 2], [1, 1])
        assert torch.allclose(got, F.conv_transpose2d(x, w, stride=2, padding=1), atol=1e-5)
        assert got.stride() == expected.stride()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("kind, layer, shape", [
    (nn.Conv3d, (16, 32, 4, (1, 2, 2), (0, 1, 1)), (3, 16, 7, 8, 8)),
    (nn.ConvTranspose2d, (16, 8, 4, 2, 1), (3, 16, 4, 4)),
    (nn.ConvTranspose2d, (66, 32, 4, 1, 0), (3, 66, 1, 1)),
])
def test_gemm_paths_match_on_cuda(kind, layer, shape):
    plain, gemm = (m.cuda() for m in pair(*layer, bias=True, kind=kind))
    x = torch.randn(shape, device="cuda")
    assert takes_gemm(gemm, shape, x.device)
    with torch.backends.cudnn.flags(enabled=True, allow_tf32=False):  # fp32 convolutions, as the GEMMs
        a, b = run(gemm, x), run(plain, x)
    assert all(t.is_cuda for t in a) and close(a, b, 1e-5)
