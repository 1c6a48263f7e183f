"""One critic call on the real and fake batches (train.fuse_critic_batches): the same
outputs, statistics and gradients as two calls, only for critics accel knows to be separable."""

import importlib

import pytest
import torch
from torch import nn
from trainers import make, max_difference, state, train

from vidgan.accel.fused import SEPARABLE_CLASSES, PerPartBatchNorm2d, fused_call, per_part, separable
from vidgan.discriminators.mocogan import (CategoricalVideoDiscriminator, ImageDiscriminator,
                                           PatchImageDiscriminator, PatchVideoDiscriminator, VideoDiscriminator)
from vidgan.errors import VidganError


class SmallCritic(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.LeakyReLU(0.2), nn.Conv2d(4, 2, 3))

    def forward(self, x):
        return self.net(x).mean((2, 3)), None


def test_fused_call_is_one_call_per_batch():
    """Outputs, gradients, batch norm's running statistics and batch counter as two calls,
    for batches of different sizes; an output that is None stays None per batch."""
    torch.manual_seed(0)
    plain, fused = SmallCritic(), SmallCritic()
    fused.load_state_dict(plain.state_dict())
    per_part(fused)
    assert type(fused.net[1]) is PerPartBatchNorm2d and list(fused.state_dict()) == list(plain.state_dict())
    batches = [torch.randn(3, 3, 6, 6), 2 * torch.randn(5, 3, 6, 6) + 1]
    expected = [plain(b) for b in batches]
    got = fused_call(fused, batches)
    assert [tuple(o.shape) for o, _ in got] == [(3, 2), (5, 2)] and [c for _, c in got] == [None, None]
    assert all(torch.allclose(g[0], e[0], atol=1e-6) for g, e in zip(got, expected))
    (sum(o.square().sum() for o, _ in expected)).backward()
    (sum(o.square().sum() for o, _ in got)).backward()
    for p, q in zip(plain.parameters(), fused.parameters()):
        assert torch.allclose(p.grad, q.grad, atol=1e-5)
    for k, v in plain.state_dict().items():  # running mean and variance, num_batches_tracked == 2
        assert torch.allclose(v.float(), fused.state_dict()[k].float(), atol=1e-6), k
    assert fused.net[1].parts is None and fused(batches[0])[0].shape == (3, 2)  # a plain call after it


def test_the_built_in_discriminators_are_separable_unless_they_draw_per_call():
    """Every listed class exists; the built-in discriminators are separable with batch norm,
    not with instance noise, spectral norm or synchronised batch norm; a class the list does
    not name (however it is built) is not."""
    for name in SEPARABLE_CLASSES:
        module, _, cls = name.rpartition(".")
        if not module.startswith("vidgan."):
            pytest.importorskip(module.split(".")[0], reason=f"{module} is not installed")
        assert isinstance(getattr(importlib.import_module(module), cls), type), name
    critics = [ImageDiscriminator(image_size=16, ndf=4), PatchImageDiscriminator(image_size=16, ndf=4),
               VideoDiscriminator(image_size=16, ndf=4), PatchVideoDiscriminator(image_size=16, ndf=4),
               CategoricalVideoDiscriminator(image_size=16, ndf=4, dim_categorical=3)]
    assert all(separable(critic) for critic in critics)
    assert not separable(ImageDiscriminator(image_size=16, ndf=4, noise_sigma=0.1))
    assert not separable(VideoDiscriminator(image_size=16, ndf=4, norm="spectral"))
    assert not separable(SmallCritic())  # not listed
    synced = ImageDiscriminator(image_size=16, ndf=4)
    synced.net[1].norm = nn.SyncBatchNorm(8)  # statistics over processes: not per batch
    assert not separable(synced)


def test_fuse_critic_batches_calls_each_critic_once_per_d_step_and_trains_alike(tiny):
    fused, plain = make(tiny, "train.fuse_critic_batches=true"), make(tiny)
    calls = {c.name: [] for c in fused.critics}
    for c in fused.critics:
        c.net.register_forward_hook(lambda m, inputs, output, name=c.name: calls[name].append(len(inputs[0])))
    for a, b in zip(train(fused, 3), train(plain, 3)):
        assert a == pytest.approx(b, rel=1e-5, abs=1e-6)
    assert max_difference(state(fused), state(plain)) < 1e-5
    for c in fused.critics:  # per step: one D-step call on real and fake batches together, one G-step call
        assert calls[c.name] == [2 * c.batch, c.batch] * 3


def test_fuse_critic_batches_leaves_critics_that_draw_per_call_alone(tiny):
    """Instance noise and spectral norm draw or iterate per call: such a critic keeps its two
    calls in the fast mode, and asking for the lever explicitly is a one-line error."""
    overrides = ["discriminators.image.noise_sigma=0.1", "discriminators.video.norm=spectral"]
    assert make(tiny, "train.mode=fast", "train.prefetch=0").fused == {"image": True, "video": True}
    fast = make(tiny, "train.mode=fast", "train.prefetch=0", *overrides)
    assert fast.fused == {"image": False, "video": False}
    assert not any(isinstance(m, PerPartBatchNorm2d) for m in fast.critics[0].net.modules())
    fast.train_step()
    for override, name in zip(overrides, ("image", "video")):
        with pytest.raises(VidganError, match=f"^train.fuse_critic_batches=true needs critics that compute each "
                                              f"sample on its own but in batch norm; {name} does not .*: drop it$"):
            make(tiny, "train.fuse_critic_batches=true", override)
