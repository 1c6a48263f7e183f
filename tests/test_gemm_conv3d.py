"""Conv3d calls with small outputs as one GEMM: the same numbers as nn.Conv3d, counted as a convolution."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from vidgan.gemm_conv3d import MAX_POSITIONS, GemmConv3d, gemm_convolution3d, takes_gemm, use_gemm

CL3 = torch.channels_last_3d


def pair(cin, cout, kernel, stride, padding, bias=False, channels_last=False):
    torch.manual_seed(0)
    plain = nn.Conv3d(cin, cout, kernel, stride, padding, bias=bias)
    gemm = nn.Conv3d(cin, cout, kernel, stride, padding, bias=bias)
    gemm.load_state_dict(plain.state_dict())
    use_gemm(gemm)
    if channels_last:
        for m in (plain, gemm):
            m.weight.data = m.weight.data.contiguous(memory_format=CL3)
    return plain, gemm


def run(conv, x):
    """Output, input gradient and parameter gradients of a weighted sum of the output."""
    x = x.clone().requires_grad_()
    conv.zero_grad()
    y = conv(x)
    (y.float() * torch.linspace(-1, 1, y.numel()).view(y.shape)).sum().backward()
    return [y, x.grad, *(p.grad for p in conv.parameters())]


def close(a, b, tol):
    return all(((u.float() - v.float()).abs().max() / v.float().abs().max()).item() < tol for u, v in zip(a, b))


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("layer, shape", [
    ((16, 32, 4, (1, 2, 2), (0, 1, 1)), (3, 16, 7, 8, 8)),   # a MoCoGAN video critic's 4×4×4 output
    ((32, 5, 4, 1, 0), (2, 32, 4, 4, 4)),                    # its last layer: one position
    ((8, 12, (3, 2, 3), (2, 1, 2), (1, 0, 2)), (2, 8, 5, 4, 6)),  # uneven kernel, stride and padding
])
def test_matches_conv3d_in_fp32(layer, shape, bias, channels_last):
    plain, gemm = pair(*layer, bias=bias, channels_last=channels_last)
    x = torch.randn(shape)
    if channels_last:
        x = x.contiguous(memory_format=CL3)
    assert takes_gemm(gemm, shape)
    a, b = run(gemm, x), run(plain, x)
    assert [t.shape for t in a] == [t.shape for t in b]
    assert close(a, b, 1e-5)


def test_bf16_autocast_runs_in_bf16_within_its_rounding():
    plain, gemm = pair(64, 128, 4, (1, 2, 2), (0, 1, 1), channels_last=True)
    x = torch.randn(2, 64, 7, 8, 8).contiguous(memory_format=CL3)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        a, b = run(gemm, x), run(plain, x)
    assert a[0].dtype == torch.bfloat16 and a[2].dtype == torch.float32  # bf16 compute, fp32 weight
    assert close(a, b, 2e-2)


def test_only_calls_with_few_output_positions_take_the_gemm():
    _, gemm = pair(4, 8, 4, (1, 2, 2), (0, 1, 1))
    small, large = (2, 4, 7, 8, 8), (2, 4, 7, 32, 32)  # 4·4·4 = 64 and 4·16·16 output positions
    assert 4 * 4 * 4 <= MAX_POSITIONS < 4 * 16 * 16
    for shape, expected in ((small, True), (large, False)):
        with FlopCounterMode(display=False) as counter:
            gemm(torch.randn(shape))
        ops = {str(op) for op in counter.get_flop_counts()["Global"]}
        assert takes_gemm(gemm, shape) == expected
        assert ops == ({"vidgan.gemm_convolution3d"} if expected else {"aten.convolution"})
    assert not takes_gemm(nn.Conv3d(4, 8, 4, (1, 2, 2), (0, 1, 1)), small)  # a plain Conv3d never does
    same = nn.Conv3d(4, 8, 3, padding="same")
    use_gemm(same)
    assert not takes_gemm(same, (2, 4, 4, 4, 4)) and same(torch.randn(2, 4, 4, 4, 4)).shape == (2, 8, 4, 4, 4)


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
    use_gemm(net)
    assert type(net[0]) is GemmConv3d and type(net[2]) is nn.Conv2d
    assert list(net.parameters()) == params and list(net.state_dict()) == keys


def test_the_op_compiles():
    x, w = torch.randn(2, 4, 7, 8, 8), torch.randn(8, 4, 4, 4, 4)
    compiled = torch.compile(gemm_convolution3d, backend="aot_eager", fullgraph=True)
    expected = F.conv3d(x, w, stride=(1, 2, 2), padding=(0, 1, 1))
    assert torch.allclose(compiled(x, w, [1, 2, 2], [0, 1, 1]), expected, atol=1e-5)
