"""Conv3d, Conv2d and ConvTranspose2d layers whose small calls run as GEMMs: the same numbers
as nn.Conv3d, nn.Conv2d and nn.ConvTranspose2d, counted as convolutions, for the calls the
thresholds pick."""

import math

import pytest
import torch
from gemm_helpers import (CL2, CL3, CPU, MIN_DEPTH, close, flop_run, pair, run,  # noqa: F401 (autouse fixture)
                          shallow_gemms)
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from vidgan.accel.gemm import (GemmConv2d, GemmConv3d, GemmConvTranspose2d, takes_gemm, takes_space_to_depth,
                               thresholds, use_gemm)
from vidgan.accel.gemm.thresholds import AMX_CONV3D_POSITIONS, AMX_TRANSPOSE_FORWARD_POSITIONS, MAX_POSITIONS


def test_only_deep_calls_take_the_gemm(monkeypatch):
    monkeypatch.setattr(thresholds, "MIN_DEPTH", MIN_DEPTH)
    for kind, kernel, shape in ((nn.Conv3d, 4, (2, 0, 7, 8, 8)), (nn.Conv2d, 4, (2, 0, 8, 8))):
        deep = MIN_DEPTH // kernel ** (len(shape) - 2)  # input channels × kernel positions = MIN_DEPTH
        for channels, expected in ((deep, True), (deep // 2, False)):
            _, conv = pair(channels, 8, kernel, 2 if kind is nn.Conv2d else (1, 2, 2),
                           1 if kind is nn.Conv2d else (0, 1, 1), kind=kind)
            assert takes_gemm(conv, (2, channels, *shape[2:]), CPU) == expected
    _, transposed = pair(8, 4, 4, 2, 1, kind=nn.ConvTranspose2d)  # its gradients' GEMMs win even when shallow
    assert takes_gemm(transposed, (2, 8, 4, 4), CPU)


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
    monkeypatch.setattr(thresholds, "amx", lambda: has_amx)
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
    monkeypatch.setattr(thresholds, "amx", lambda: has_amx)
    plain, s2d = pair(3, 8, 4, (1, 2, 2), (0, 1, 1), bias=True, channels_last=channels_last)
    shape = (2, 3, 6, 16, 16)  # 3·8·8 output positions: not a GEMM call
    assert takes_space_to_depth(s2d, shape, CPU) == has_amx and not takes_gemm(s2d, shape, CPU)
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
    assert not any(takes_space_to_depth(conv, (2, c, 6, 16, 16), CPU)
                   for conv, c in ((big, 8), (odd, 3), (unstrided, 3)))  # 8 channels, kernel 3 / stride 2, stride 1
    assert not takes_space_to_depth(s2d, (2, 3, 6, 15, 15), CPU)  # 17 padded rows: no 2×2 blocks
    assert not takes_space_to_depth(s2d, shape, torch.device("cuda"))
    assert not takes_space_to_depth(plain, shape, CPU)  # nn.Conv3d itself never


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
    monkeypatch.setattr(thresholds, "amx", lambda: has_amx)
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
