"""Every registered component keeps its kind's contract (see vidgan.testing)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from vidgan import testing
from vidgan.registry import DISCRIMINATORS, GENERATORS, LOSSES, SAMPLERS, Entry
from vidgan.testing import KINDS, check_component, small_kwargs, sweep

COMPONENTS = [(reg.kind, name) for reg in (SAMPLERS, GENERATORS, DISCRIMINATORS, LOSSES)
              for name in reg.names()]


@pytest.mark.parametrize(("kind", "name"), COMPONENTS, ids=[f"{k}/{n}" for k, n in COMPONENTS])
def test_component_keeps_its_contract(kind, name):
    check_component(kind, name)


def test_the_builtins_are_all_swept():
    names = {f"{k}/{n}" for k, n in COMPONENTS}
    assert {"samplers/gru-motion", "samplers/one-hot-category", "generators/mocogan",
            "generators/dcgan-frames", "discriminators/patch-video", "losses/bce",
            "losses/infogan-category"} <= names
    assert len(names) >= 14


def test_sweep_one_kind_with_a_pattern():
    assert sweep(["discriminators"], pattern="patch-*") == [
        "discriminators/patch-image", "discriminators/patch-video"]


def test_kwargs_override_small_defaults(monkeypatch):
    built = []  # the components the checks were given

    def recording(check):
        def record(who, component, args):
            built.append(component)
            check(who, component, args)
        return record

    for kind, check in list(testing._CHECKS.items()):
        monkeypatch.setitem(testing._CHECKS, kind, recording(check))
    check_component("discriminators", "video", image_size=16, ndf=2, channels=1)
    check_component("generator", "mocogan", dim_z_category=3, channels=1, image_size=16)
    video, mocogan = built
    first = next(m for m in video.modules() if isinstance(m, nn.Conv3d))
    assert (video.image_size, first.in_channels, first.out_channels) == (16, 1, 2)  # ndf 2 channels
    assert (mocogan.dim_z_category, mocogan.channels, mocogan.image_size) == (3, 1, 16)
    assert mocogan.sample_videos(2, 4)[0].shape == (2, 1, 4, 16, 16)


def test_small_kwargs_only_what_the_factory_takes():
    assert small_kwargs(DISCRIMINATORS.get("image")) == {"ndf": 8, "image_size": 32}
    assert small_kwargs(SAMPLERS.get("gru-motion"), dim=3) == {"dim": 3}


def test_unknown_kind():
    with pytest.raises(ValueError, match="datasets"):
        check_component("datasets", "anything")
    with pytest.raises(ValueError, match="unknown kind"):
        check_component("widgets", "anything")
    assert set(KINDS) == {"samplers", "generators", "discriminators", "losses"}


# the checks catch broken components -------------------------------------------------
@pytest.fixture
def register(monkeypatch):
    """Register a component in a global registry for one test only."""

    def add(reg, name, obj):
        reg._discover()
        monkeypatch.setitem(reg._entries, name, Entry(name, "test", obj=obj))

    return add


class _FramesD(nn.Module):
    view = "frames"

    def __init__(self, channels: int = 3, image_size: int = 32):
        super().__init__()
        self.channels, self.image_size = channels, image_size
        self.conv = nn.Conv2d(channels, 1, image_size)
        self.unused = nn.Linear(2, 2)

    def forward(self, x):
        return self.conv(x).flatten(), None


class _BatchlessD(_FramesD):
    def forward(self, x):
        return self.conv(x).mean(), None


class _UnseededSampler(nn.Module):
    def __init__(self, dim: int = 4):
        super().__init__()
        self.dim = dim

    def forward(self, num_videos, video_length, generator=None):
        return torch.randn(num_videos, video_length, self.dim)  # ignores the generator


class _VectorLoss:
    def discriminator(self, real, fake):
        return real - fake

    def generator(self, fake):
        return -fake.mean()


class _DetachedPenalty(_VectorLoss):
    def discriminator(self, real, fake):
        return (real - fake).mean()

    def penalty(self, discriminator, real, fake):
        return discriminator(real)[0].detach().pow(2).mean()  # no gradient reaches the weights


class _UnboundedGenerator(nn.Module):
    def __init__(self, channels: int = 3, image_size: int = 16):
        super().__init__()
        self.channels, self.image_size = channels, image_size
        self.scale = nn.Parameter(torch.tensor(5.0))

    def sample_videos(self, n, t=None, generator=None, labels=None):
        return self.scale * torch.ones(n, self.channels, t, self.image_size, self.image_size), torch.zeros(n).long()

    def sample_images(self, n, generator=None):
        return self.sample_videos(n, 1)[0][:, :, 0], None


@pytest.mark.parametrize(("reg", "obj", "message"), [
    (DISCRIMINATORS, _FramesD, "no gradient reaches parameters unused.weight, unused.bias"),
    (DISCRIMINATORS, _BatchlessD, r"logits for input \(2, 3, 32, 32\) should have shape \(2\), got \(\)"),
    (SAMPLERS, _UnseededSampler, "equally seeded"),
    (LOSSES, _VectorLoss, r"should have shape \(\), got \(2,\)"),
    (LOSSES, _DetachedPenalty, "penalty"),
    (GENERATORS, _UnboundedGenerator, r"\[-1, 1\]"),
    (GENERATORS, lambda **kw: object(), "sample_videos"),
    (LOSSES, lambda: 3, "needs discriminator"),
])
def test_check_catches(register, reg, obj, message):
    register(reg, "broken-thing", obj)
    with pytest.raises(AssertionError, match=message) as err:
        check_component(reg.kind, "broken-thing")
    assert repr("broken-thing") in str(err.value)


def test_check_reports_a_constructor_failure(register):
    def factory(ndf: int = 64):
        raise RuntimeError("out of cheese")

    register(DISCRIMINATORS, "broken-thing", factory)
    with pytest.raises(AssertionError, match=r"building it with \{'ndf': 8\} failed: RuntimeError: out of cheese"):
        check_component("discriminators", "broken-thing")


def test_sweep_lists_every_failure(register):
    register(DISCRIMINATORS, "broken-one", _FramesD)
    register(DISCRIMINATORS, "broken-two", _BatchlessD)
    with pytest.raises(AssertionError) as err:
        sweep(["discriminators"], pattern="broken-*")
    lines = str(err.value).splitlines()
    assert lines[0] == "2 component(s) failed:"
    assert lines[1].startswith("discriminators/broken-one: ")
    assert lines[2].startswith("discriminators/broken-two: ")


def test_check_leaves_the_global_rng_alone():
    state = torch.get_rng_state()
    check_component("samplers", "gru-motion")
    assert torch.equal(state, torch.get_rng_state())
