"""Each convolution of an iteration is timed alone with its shapes and gradients, and its
GEMMs (as im2col lowers them) as plain matrix products."""

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from vidgan.accel.gemm import thresholds, use_gemm
from vidgan.bench import passes
from vidgan.bench.timing import Case


def iteration(fn, modules, config="plain"):
    return Case("iteration", "cpu", "nets", config, "iteration", "fp32", fn, modules=modules,
                levers={"precision": "fp32"})


def test_the_calls_are_counted_per_module_shape_and_gradients():
    torch.manual_seed(0)
    conv = nn.Conv2d(3, 4, 3, padding=1)
    x, y = torch.randn(2, 3, 8, 8), torch.randn(2, 3, 8, 8, requires_grad=True)

    def step():
        (conv(x).sum() + conv(x).sum() + conv(y).sum()).backward()
        with torch.no_grad():
            conv(x)
    calls = passes.convolution_calls(iteration(step, [conv]))
    assert [(shape, grads, n) for _, shape, grads, n in calls] == [
        ((2, 3, 8, 8), (False, True), 2), ((2, 3, 8, 8), (True, True), 1), ((2, 3, 8, 8), (False, False), 1)]
    assert not conv._forward_hooks  # the hooks are removed


@pytest.mark.parametrize("conv, shape", [
    (nn.Conv3d(4, 6, 4, (1, 2, 2), (0, 1, 1)), (2, 4, 7, 8, 8)),
    (nn.Conv2d(4, 6, 3, 1, 1), (3, 4, 5, 5)),
    (nn.Conv2d(4, 6, 4, 2, 1, groups=2), (2, 4, 8, 8)),
    (nn.ConvTranspose2d(5, 3, 4, 2, 1), (3, 5, 4, 4)),
    (nn.ConvTranspose2d(8, 4, 4, 1, 0), (2, 8, 1, 1)),
])
@pytest.mark.parametrize("grads", [(True, True), (False, True), (True, False)])
def test_gemm_shapes_have_the_flops_of_each_pass(conv, shape, grads):
    """The matrix products a convolution comes to do, pass by pass, the FLOPs that torch's
    counter gives the convolution: the forward, and the backward's gradients that are asked for."""
    x = torch.randn(shape, requires_grad=grads[0])
    conv.weight.requires_grad_(grads[1])
    with FlopCounterMode(display=False) as forward:
        y = conv(x)
    with FlopCounterMode(display=False) as backward:
        y.sum().backward()
    shapes = passes.gemm_shapes(conv, shape, tuple(y.shape), grads)
    flops = {name: sum(2 * m * k * n for m, k, n in shapes[name]) for name in shapes}
    assert flops["forward"] == forward.get_total_flops() > 0
    assert flops["backward"] == sum(grads) * flops["forward"]  # each gradient as many as the forward
    if conv.groups == 1:  # torch's counter overcounts a grouped convolution's backward
        assert flops["backward"] == backward.get_total_flops()
    assert len(shapes["backward"]) == sum(grads) * conv.groups


def test_convolution_passes_time_a_groups_gemm_once_and_count_it_per_group(monkeypatch):
    torch.manual_seed(0)
    grouped = nn.Conv2d(4, 6, 4, 2, 1, groups=2)
    x = torch.randn(2, 4, 8, 8)
    timed = []
    monkeypatch.setattr(passes, "matmul_seconds", lambda shape, *args: timed.append(shape) or 0.5)
    [row] = passes.convolution_passes(iteration(lambda: grouped(x).sum().backward(), [grouped]), torch.device("cpu"),
                                      repeats=1)
    assert timed == [(32, 32, 3), (3, 32, 32)]  # forward, weight gradient: one group's each
    assert row["forward"]["gemm_seconds"] == row["backward"]["gemm_seconds"] == 1.0  # two groups
    assert row["layer"] == "Conv2d 4→6, kernel 4×4, stride 2×2" and row["input"] == "2×4×8×8"
    assert row["calls"] == 1 and row["gradients"] == "weight"


@pytest.mark.parametrize("times", [(0.4, 0.25), (0.25, 0.4)])
def test_matmul_seconds_times_both_layouts_and_keeps_the_faster(monkeypatch, times):
    layouts = []

    def fake_best(fn, repeats):
        assert fn().shape == (3, 7) and repeats == 2
        layouts.append(len(layouts))
        return times[layouts[-1]]
    monkeypatch.setattr(passes, "best_seconds", fake_best)
    assert passes.matmul_seconds((3, 5, 7), torch.device("cpu"), torch.float32, 2) == 0.25
    assert layouts == [0, 1]


def test_convolution_passes_time_the_gemm_path_of_calls_that_take_it(monkeypatch):
    """Calls that run as GEMMs (train.conv3d_gemm, conv2d_gemm, conv_transpose_gemm) are
    timed as such, labelled so, with the same FLOPs as the convolutions they compute."""
    monkeypatch.setattr(thresholds, "MIN_DEPTH", 1)  # these small layers too

    def nets(gemm):
        torch.manual_seed(0)
        video, image, frames = (nn.Conv3d(4, 6, 4, (1, 2, 2), (0, 1, 1)), nn.Conv2d(4, 6, 4, 2, 1),
                                nn.ConvTranspose2d(5, 3, 4, 2, 1))
        if gemm:
            for net, kind in ((video, nn.Conv3d), (image, nn.Conv2d), (frames, nn.ConvTranspose2d)):
                use_gemm(net, kind)
        return video, image, frames

    def case(gemm):
        video, image, frames = nets(gemm)
        x, y, z = torch.randn(2, 4, 7, 8, 8), torch.randn(2, 4, 8, 8), torch.randn(3, 5, 4, 4, requires_grad=True)

        def step():
            (video(x).sum() + image(y).sum() + frames(z).sum()).backward()
        return iteration(step, [video, image, frames], "fast" if gemm else "plain")

    plain, gemm = (passes.convolution_passes(case(g), torch.device("cpu"), repeats=1) for g in (False, True))
    assert [r["layer"] for r in gemm] == [r["layer"] + ", as GEMMs" for r in plain]
    assert [r["gradients"] for r in gemm] == [r["gradients"] for r in plain] == ["weight", "weight",
                                                                                "input and weight"]
    for a, b in zip(plain, gemm):
        for name in ("forward", "backward"):
            assert a[name]["gflop"] == b[name]["gflop"] > 0 and b[name]["seconds"] > 0
            assert a[name]["gemm_seconds"] > 0 and b[name]["gemm_seconds"] > 0


def test_convolution_passes_time_the_space_to_depth_path_of_calls_that_take_it(monkeypatch):
    monkeypatch.setattr(thresholds, "amx", lambda: True)
    torch.manual_seed(0)
    first = nn.Conv3d(3, 4, 4, (1, 2, 2), (0, 1, 1))
    use_gemm(first, nn.Conv3d)
    x = torch.randn(2, 3, 6, 8, 8, requires_grad=True)
    [row] = passes.convolution_passes(iteration(lambda: first(x).sum().backward(), [first], "fast"),
                                      torch.device("cpu"), repeats=1)
    assert row["layer"] == "Conv3d 3→4, kernel 4×4×4, stride 1×2×2, space-to-depth"
    assert row["gradients"] == "input and weight"
    flops = 2 * (2 * 4 * 3 * 4 * 4) * (3 * 4 * 4 * 4)  # output elements × a patch
    assert row["forward"]["gflop"] * 1e9 == flops and row["backward"]["gflop"] * 1e9 == 2 * flops
    assert row["forward"]["seconds"] > 0 and row["backward"]["seconds"] > 0
