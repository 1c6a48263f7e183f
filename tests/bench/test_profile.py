"""A profiled iteration's ops fall into categories, the profile adds its scopes to the
trainer's parts and removes them after, and its passes are judged against peak GEMMs timed
between them."""

import os
import sys
from types import SimpleNamespace

import pytest
import torch
from torch import nn
from torch.autograd import DeviceType
from torch.profiler import ProfilerActivity, profile

from vidgan.bench import profile as bench_profile
from vidgan.bench.profile import BACKWARD, CATEGORIES, breakdown, category, trainer_scopes
from vidgan.bench.timing import Case
from vidgan.config import load_config
from vidgan.training.trainer import Trainer


@pytest.mark.parametrize("names, category_", [
    (["aten::mkldnn_convolution", "aten::_convolution", "aten::convolution", "aten::conv3d"], "convolutions"),
    (["aten::convolution_backward", "autograd::engine::evaluate_function: ConvolutionBackward0"], "convolutions"),
    (["aten::slow_conv_transpose2d", "aten::conv_transpose2d"], "convolutions"),
    (["aten::empty", "aten::native_batch_norm", "aten::_batch_norm_impl_index", "aten::batch_norm"],
     "batch norm and activations"),
    (["aten::leaky_relu_"], "batch norm and activations"),
    (["aten::sigmoid_", "aten::gru_cell"], "motion GRU and samplers"),  # the outermost op: the GRU
    (["aten::normal_", "aten::randn"], "motion GRU and samplers"),
    (["aten::mul", "vidgan.latents", "aten::conv2d"], "motion GRU and samplers"),  # a scope beats op names
    (["aten::sigmoid", "aten::binary_cross_entropy_with_logits"], "losses"),
    (["aten::mean", "vidgan.losses"], "losses"),
    (["aten::softplus"], "losses"),
    (["aten::_foreach_addcdiv_", "Optimizer.step#Adam.step"], "optimiser steps"),
    (["aten::_fused_adam_"], "optimiser steps"),
    (["aten::zero_", "Optimizer.zero_grad#Adam.zero_grad"], "optimiser steps"),
    (["aten::copy_", "aten::_to_copy", "aten::to", "vidgan.data"], "data"),  # the innermost scope
    (["aten::copy_", "aten::_to_copy", "aten::to"], "casts and layout conversions"),
    (["aten::clone", "aten::contiguous"], "casts and layout conversions"),
    (["aten::copy_", "aten::_to_copy", "aten::to", "aten::conv3d"], "casts and layout conversions"),  # a weight cast
    (["aten::clone", "aten::contiguous", "aten::_fused_adam_", "Optimizer.step#Adam.step"],
     "casts and layout conversions"),
    (["aten::empty", "aten::_to_copy", "aten::to", "aten::conv3d"], "convolutions"),  # only the copy itself
    (["aten::stack"], "other"),
    (["aten::lerp_"], "other"),
])
def test_profiler_ops_fall_into_categories(names, category_):
    assert category(names) == category_


def test_breakdown_counts_backward_ops_with_their_forward_op():
    def event(name, ms, parent=None, sequence_nr=-1, fwd_thread=None):
        return SimpleNamespace(name=name, self_cpu_time_total=ms * 1e3, cpu_parent=parent, sequence_nr=sequence_nr,
                               thread=1, fwd_thread=fwd_thread, device_type=DeviceType.CPU)

    latents = event("vidgan.latents", 1)
    gru = event("aten::gru_cell", 2, latents, sequence_nr=7)
    conv = event("aten::conv3d", 4, sequence_nr=8)
    node = event(f"{BACKWARD}: SigmoidBackward0", 0.5, sequence_nr=7, fwd_thread=1)
    conv_node = event(f"{BACKWARD}: ConvolutionBackward0", 1, sequence_nr=8, fwd_thread=1)
    unmatched = event(f"{BACKWARD}: torch::autograd::AccumulateGrad", 0.25, fwd_thread=1)
    events = [latents, gru, event("aten::sigmoid", 3, gru, sequence_nr=7), conv, node,
              event("aten::sigmoid_backward", 5, node), conv_node, event("aten::convolution_backward", 6, conv_node),
              unmatched, event("aten::add_", 0.75, unmatched)]
    spent = breakdown(events, "self_cpu_time_total")
    assert spent == pytest.approx({**dict.fromkeys(CATEGORIES, 0.0), "motion GRU and samplers": 11.5,
                                   "convolutions": 11.0, "other": 1.0})


class SharedLoss:
    """A loss with a penalty, shared by both critics: each wraps it in the profile."""

    def discriminator(self, real, fake):
        return nn.functional.softplus(-real).mean() + nn.functional.softplus(fake).mean()

    def generator(self, fake):
        return nn.functional.softplus(-fake).mean()

    def penalty(self, discriminator, real, fake):
        return 0.0 * real.mean()


def test_the_profile_scopes_the_trainers_parts_and_leaves_them_as_they_were(tiny):
    """The core has no profiler scopes: a profile adds them to the data, the latents and the
    losses for its duration, so those categories get their time, and removes them after."""
    trainer = Trainer(load_config(["recipe=mocogan-categorical", "run_dir=unused", *tiny]))
    shared = SharedLoss()
    for critic in trainer.critics:
        critic.loss = shared
    aux = trainer.critics[1].aux
    assert aux  # the categorical critic's InfoGAN loss

    def profiled(scoped):
        with trainer_scopes(trainer if scoped else None), profile(activities=[ProfilerActivity.CPU]) as prof:
            assert set(vars(shared)) == ({"discriminator", "generator", "penalty"} if scoped else set())
            assert ("conditioned" in vars(trainer.critics[0])) == scoped and (trainer.critics[1].aux is aux) != scoped
            trainer.train_step()
        return {e.name for e in prof.events() if e.name.startswith("vidgan.")}, \
            breakdown(prof.events(), "self_cpu_time_total")

    names, spent = profiled(False)
    assert names == set() and spent["data"] == 0  # nothing in the trainer or the generator names a scope
    names, spent = profiled(True)
    assert names == {"vidgan.data", "vidgan.losses", "vidgan.latents"}
    assert spent["data"] > 0 and spent["losses"] > 0 and spent["motion GRU and samplers"] > 0
    assert "real_batches" not in vars(trainer) and "sample_latents" not in vars(trainer.generator)
    assert vars(shared) == {} and all("conditioned" not in vars(c) for c in trainer.critics)
    assert trainer.critics[1].aux is aux and trainer.train_step()["d_video"] > 0


def test_a_replaced_attribute_is_restored_however_the_block_ends():
    part = SimpleNamespace(aux=[1])
    with pytest.raises(RuntimeError), bench_profile.replaced(part, "aux", [2]):
        assert part.aux == [2]
        raise RuntimeError
    assert part.aux == [1]


def test_kineto_chatter_is_dropped_from_stderr_and_the_rest_kept(capfd):
    with bench_profile.kineto_quiet():
        os.write(2, b"USDT:2026-12-07 00:34:54 1:1 SyncActivityProfilerHandler.cpp:39] profiler_start\n"
                    b"ERROR:2026-12-07 00:34:55 1:1 DeviceProperties.cpp:56] gpuGetDeviceCount failed with code 35\n"
                    b"a warning of our own\n")
        print("to stdout", file=sys.stdout)
    out, err = capfd.readouterr()
    assert err == "a warning of our own\n" and out == "to stdout\n"


@pytest.mark.parametrize("every, timed_before", [(1, 2), (bench_profile.PEAK_EVERY, 1)])
def test_the_profiles_time_the_peak_gemms_between_their_convolution_passes(tmp_path, monkeypatch, timed, every,
                                                                           timed_before):
    """The machine's speed can change between the rounds and the profiles: the dtype's peak
    GEMMs are run back to back again before every ``PEAK_EVERY``-th convolution's passes and
    after the last, and the profile keeps the median of those rates."""
    torch.manual_seed(0)
    video, frames = nn.Conv3d(4, 6, 4, (1, 2, 2), (0, 1, 1)), nn.Conv2d(5, 3, 4, 2, 1)
    x, z = torch.randn(2, 4, 7, 8, 8), torch.randn(3, 5, 8, 8)
    step = Case("iteration", "cpu", "nets", "fast", "iteration", "fp32",
                lambda: (video(x).sum() + frames(z).sum()).backward(), modules=[video, frames],
                levers={"precision": "fp32"})
    step.flops, step.convolution_flops = 4e9, 3e9
    small, large = (timed("peak", f"matmul {n}×{n}", "fp32", "fp32", 2 * n ** 3, [1.0]) for n in (32, 64))
    other_dtype = timed("peak", "matmul 64×64", "bf16", "bf16", 2 * 64 ** 3, [1.0])
    rates, calls = iter([3.0, 1.0, 2.0][:timed_before] + [2.0]), []
    monkeypatch.setattr(bench_profile, "PEAK_EVERY", every)
    monkeypatch.setattr(bench_profile, "peak_beside", lambda gemms: calls.append(gemms) or next(rates))
    [found] = bench_profile.profile_iterations([small, large, other_dtype, step], torch.device("cpu"), tmp_path)
    assert len(found["passes"]) == 2 and calls == [[small, large]] * (timed_before + 1)  # and after the last
    assert found["peak_gflops"] == (2.0 if every == 1 else 2.5)
    assert (found["gflop"], found["convolution_gflop"]) == (4.0, 3.0)
    assert [c["category"] for c in found["categories"]] == list(CATEGORIES)
    assert sum(c["share"] for c in found["categories"]) == pytest.approx(1.0)
    assert "Self CPU" in (tmp_path / found["file"]).read_text()
