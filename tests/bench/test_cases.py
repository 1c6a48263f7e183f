"""What is timed: the conv stacks with each layer config, and each recipe's full iterations
with and without their data."""

import contextlib

import pytest
import torch

from vidgan.bench import Options
from vidgan.bench.cases import describe, iteration_case, iteration_configs, layer_levers
from vidgan.bench.verdicts import HEADLINE
from vidgan import accel
from vidgan.accel import Levers

CPU = torch.device("cpu")


def test_a_layer_config_is_described_by_its_levers():
    assert describe(Levers()) == "fp32 · contiguous · eager"
    assert describe(Levers(precision="bf16", channels_last=True, conv3d_gemm=True, compile=True)) == \
        "bf16 · channels_last · conv3d_gemm · compile"
    assert describe(Levers(cudnn_benchmark=True, compile=True, cuda_graphs=True)) == \
        "fp32 · contiguous · cudnn.benchmark · compile+cuda_graphs"


@pytest.mark.parametrize("compile", [False, True])
def test_the_layer_levers_start_with_the_baseline(compile):
    pairs = layer_levers(CPU, compile)
    assert pairs[0] == (Levers(), False) and pairs[1] == (Levers(channels_last=True), False)
    bf16 = [lv for lv, _ in pairs if lv.precision == "bf16"]
    assert bool(bf16) == accel.native_bf16(CPU)  # without native bf16 only the probes run it
    assert [only for lv, only in pairs if lv.compile] == ([True] if compile else [])  # the target stacks only


def test_the_iterations_start_with_the_reference_and_fast():
    quick = Options(quick=True)
    assert iteration_configs(HEADLINE, CPU, quick) == [("reference", ["train.mode=reference"]),
                                                       ("fast", ["train.mode=fast"])]
    assert iteration_configs("mocogan", CPU, Options()) == iteration_configs(HEADLINE, CPU, quick)
    full = dict(iteration_configs(HEADLINE, CPU, Options(compile=False)))
    assert list(full)[:3] == ["reference", "fast", "standard"]
    assert full["standard + reuse_fakes"] == ["train.reuse_fakes=true"]
    assert "standard + compile" not in full and "fast + compile" not in full
    assert "standard + compile" in dict(iteration_configs(HEADLINE, CPU, Options()))


def test_an_iteration_with_its_data_precomputed_waits_for_none(tiny):
    options = Options(overrides=tuple(t for t in tiny if t != "device=cpu"))
    with contextlib.ExitStack() as stack:
        drawn, precomputed = (iteration_case("mocogan", "fast", ["train.mode=fast"], CPU, options, stack, p)
                              for p in (False, True))
        assert drawn.config == "fast" and precomputed.config == "fast, data precomputed"
        assert drawn.flops_key == precomputed.flops_key and precomputed.precomputed
        assert drawn.settle is not None and precomputed.settle is None  # the fast mode prefetches
        for case in (drawn, precomputed):
            assert set(case.fn()) >= {"d_image", "d_video", "g"}
        assert precomputed.data_time() == 0 and drawn.data_time() > 0
        assert drawn.trainer.cfg.train.mode == "fast" and drawn.modules[0] is drawn.trainer.generator
        assert drawn.levers["prefetch"] == 2 and drawn.dtype == drawn.levers["precision"]
