"""The recommended recipe in the fast mode resumes exactly on CPU: 2 steps and a resume to 4
repeat a straight 4-step run bit for bit (losses, generator, EMA, critics, optimisers).

The fast mode on CPU brings fused Adam, reused fakes, no discarded critic gradients, the
fused critic call and prefetched batches; on a CPU with native bf16 also bf16, channels_last
and the GEMM convolutions. The second case runs that CPU's choice here (where bf16 is
emulated, slowly, so the sizes are tiny), so both sets of levers are checked on any CPU.
"""

from __future__ import annotations

import json

import pytest
import torch

from vidgan import accel
from vidgan.accel import levers as levers_module
from vidgan.accel.gemm.layers import GEMM_CLASSES
from vidgan.config import load_config
from vidgan.training import checkpoint
from vidgan.training.trainer import run

SMALL = ["recipe=mocogan-plus-small", "generator.ngf=8", "discriminators.image.ndf=8",
         "discriminators.video.ndf=8", "discriminators.image.batch=4", "discriminators.video.batch=2",
         "data.video_length=13", "data.every_nth=1", "data.options.num_videos=16", "train.num_samples=4",
         "train.sample_every=1000", "train.checkpoint_every=1000", "device=cpu"]
EVERY_CPU = {"reuse_fakes": True, "skip_critic_grads": True, "fused_optim": True, "prefetch": 2,
             "fuse_critic_batches": True}
NATIVE_BF16 = {"precision": "bf16", "channels_last": True, "conv3d_gemm": True, "conv2d_gemm": True,
               "conv_transpose_gemm": True}


def losses(run_dir):
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in row.items() if k not in ("time", "data_time")} for row in rows]


def assert_same(a, b, where=""):
    """``a`` and ``b`` (nested dicts and lists of tensors and numbers) are equal, bit for bit."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b), where
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            assert_same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    else:
        assert a == b, where


@pytest.mark.parametrize("cpu", ["this-cpu", "native-bf16-cpu"])
def test_fast_mode_resumes_exactly(tmp_path, monkeypatch, cpu):
    if cpu == "native-bf16-cpu":
        monkeypatch.setattr(levers_module, "native_bf16", lambda device: True)
    straight, split = tmp_path / "straight", tmp_path / "split"
    trainer = run(load_config([*SMALL, "train.steps=4", f"run_dir={straight}"]))
    expected = {**EVERY_CPU, **(NATIVE_BF16 if cpu == "native-bf16-cpu" else {})}
    assert {k: getattr(trainer.levers, k) for k in expected} == expected
    assert trainer.levers == accel.fast_levers(torch.device("cpu")) and all(trainer.fused.values())
    layers = {type(m) for net in (trainer.generator, *(c.net for c in trainer.critics)) for m in net.modules()}
    assert (layers >= set(GEMM_CLASSES.values())) == trainer.levers.conv3d_gemm  # the GEMM convolutions in place
    run(load_config([*SMALL, "train.steps=2", f"run_dir={split}"]))
    assert checkpoint.load(split)["step"] == 2
    resumed = run(load_config([f"train.resume={split}", "train.steps=4"]))
    assert resumed.levers == trainer.levers
    assert [r["step"] for r in losses(split)] == [1, 2, 3, 4] and losses(split) == losses(straight)
    a, b = checkpoint.load(straight), checkpoint.load(split)
    assert a["step"] == b["step"] == 4 and "ema_generator" in a
    for part in ("generator", "ema_generator", "ema_count", "discriminators", "optimizers", "rng"):
        assert_same(a[part], b[part], part)
