"""Helpers of the GEMM convolution tests: plain and GEMM layers with the same weights, and
their outputs and gradients."""

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from vidgan.accel.gemm import thresholds, use_gemm

CL3, CL2 = torch.channels_last_3d, torch.channels_last
CPU = torch.device("cpu")
MIN_DEPTH = thresholds.MIN_DEPTH


@pytest.fixture(autouse=True)
def shallow_gemms(monkeypatch):
    """Small layers run as GEMMs too, so the tests stay fast (a test module imports this
    fixture; ``test_only_deep_calls_take_the_gemm`` checks the depth rule)."""
    monkeypatch.setattr(thresholds, "MIN_DEPTH", 1)


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
