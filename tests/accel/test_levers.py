"""Resolving the speed levers: the modes' values on each device, explicit keys winning,
impossible settings as one-line errors, and each lever declared once."""

import dataclasses
import typing

import pytest
import torch
from omegaconf import OmegaConf

from vidgan.accel import levers, memory
from vidgan.config import Levers, TrainConfig, load_config
from vidgan.errors import VidganError


def resolve(device="cpu", **train):
    return levers.resolve(OmegaConf.create(train), torch.device(device))


def test_modes_resolve_to_levers(monkeypatch):
    assert resolve(mode="standard") == Levers() == resolve(mode="reference")
    monkeypatch.setattr(levers, "native_bf16", lambda device: False)
    glibc = memory.malloc_tunable()
    assert resolve(mode="fast") == Levers(reuse_fakes=True, skip_critic_grads=True, fused_optim=True,
                                          prefetch=2, keep_memory=glibc, fuse_critic_batches=True)
    assert resolve(mode="fast", reuse_fakes=False, channels_last=True, prefetch=0, keep_memory=False,
                   fuse_critic_batches=False) == Levers(channels_last=True, skip_critic_grads=True, fused_optim=True)
    assert resolve(device="cuda", mode="fast") == Levers(
        precision="fp16", channels_last=True, reuse_fakes=True, skip_critic_grads=True,
        fused_optim=True, cudnn_benchmark=True, prefetch=2)
    assert resolve(mode="reference", prefetch=3).prefetch == 3  # exact, so allowed
    assert resolve(device="cuda", cuda_graphs=True).compile  # CUDA graphs come through torch.compile
    monkeypatch.setattr(levers, "native_bf16", lambda device: True)
    fast = resolve(mode="fast")
    assert (fast.precision, fast.channels_last) == ("bf16", True)
    assert fast.conv3d_gemm and fast.conv2d_gemm and fast.conv_transpose_gemm
    cuda = resolve(device="cuda", mode="fast")
    assert not (cuda.conv3d_gemm or cuda.conv2d_gemm or cuda.conv_transpose_gemm)  # cuDNN runs those layers well


@pytest.mark.parametrize("train, message", [
    ({"mode": "reference", "reuse_fakes": True}, "mode=reference runs the original's algorithm"),
    ({"mode": "reference", "skip_critic_grads": True}, "drop train.skip_critic_grads"),
    ({"mode": "reference", "fuse_critic_batches": True}, "drop train.fuse_critic_batches"),
    ({"cudnn_benchmark": True}, "train.cudnn_benchmark=true needs device=cuda"),
    ({"cuda_graphs": True}, "train.cuda_graphs=true needs device=cuda"),
    ({"precision": "fp16"}, "fp16 needs device=cuda"),
])
def test_impossible_lever_settings_are_one_line_errors(train, message):
    with pytest.raises(VidganError, match=message):
        resolve(**train)


@pytest.mark.parametrize("override, message", [
    ("train.mode=turbo", "train.mode must be one of standard, reference, fast"),
    ("train.precision=fp8", "train.precision must be one of fp32, bf16, fp16"),
    ("train.compile=sometimes", "bad value for 'train.compile'"),
])
def test_bad_config_values_fail_before_training(tiny, override, message):
    with pytest.raises(VidganError, match=message):
        load_config(["recipe=mocogan", *tiny, override])


def test_each_lever_is_an_optional_train_key_of_the_same_name_and_type():
    """Levers declares the levers; the train section takes each as a key, unset (None) by default."""
    keys = {f.name: f for f in dataclasses.fields(TrainConfig)}
    hints = typing.get_type_hints(TrainConfig)
    for lever in dataclasses.fields(Levers):
        assert keys[lever.name].default is None, lever.name
        assert hints[lever.name] == typing.Optional[typing.get_type_hints(Levers)[lever.name]], lever.name
    assert list(keys)[list(keys).index("mode") + 1:] == list(levers.LEVER_NAMES)  # after the mode, in order
    train = load_config(["recipe=mocogan", "train.conv3d_gemm=true", "train.prefetch=3"]).train
    assert (train.conv3d_gemm, train.prefetch, train.precision) == (True, 3, None)
