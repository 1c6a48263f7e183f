"""Adversarial and auxiliary losses: hand-computed values and scalar outputs for any logit shape."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.nn import functional as F

from vidgan.losses.adversarial import Hinge, LeastSquares, NonSaturatingBCE
from vidgan.losses.category import InfoGANCategory
from vidgan.registry import LOSSES

FAST = settings(max_examples=15, deadline=None)
LN2 = math.log(2)
# per-sample logits (b,), video-D logits (b, t'), patch maps (b, h, w) and (b, t, h, w)
logit_shapes = st.lists(st.integers(1, 4), min_size=1, max_size=4).map(tuple)
ADVERSARIAL = [NonSaturatingBCE, Hinge, LeastSquares]


def close(value: torch.Tensor, expected: float) -> bool:
    return math.isclose(value.item(), expected, rel_tol=1e-5, abs_tol=1e-6)


def test_registered_names():
    assert LOSSES.get("bce") is NonSaturatingBCE
    assert LOSSES.get("hinge") is Hinge
    assert LOSSES.get("least-squares") is LeastSquares
    assert LOSSES.get("infogan-category") is InfoGANCategory


# any shape gives a scalar ------------------------------------------------------------------
@FAST
@given(shape=logit_shapes, seed=st.integers(0, 1000))
@pytest.mark.parametrize("loss", ADVERSARIAL, ids=lambda c: c.__name__)
def test_adversarial_losses_are_scalars_for_any_logit_shape(loss, shape, seed):
    g = torch.Generator().manual_seed(seed)
    real, fake = torch.randn(shape, generator=g), torch.randn(shape, generator=g)
    d, gen = loss().discriminator(real, fake), loss().generator(fake)
    assert d.shape == () and gen.shape == ()
    assert torch.isfinite(d) and torch.isfinite(gen)


@FAST
@given(shape=logit_shapes, seed=st.integers(0, 1000))
@pytest.mark.parametrize("loss", ADVERSARIAL, ids=lambda c: c.__name__)
def test_patch_maps_are_averaged(loss, shape, seed):
    # a map of equal logits scores like a single logit of that value
    value = torch.randn((), generator=torch.Generator().manual_seed(seed))
    real, fake = value.expand(shape), -value.expand(shape)
    torch.testing.assert_close(loss().discriminator(real, fake), loss().discriminator(value[None], -value[None]))
    torch.testing.assert_close(loss().generator(fake), loss().generator(-value[None]))


# non-saturating BCE (the original's) --------------------------------------------------------
def test_bce_hand_values():
    bce = NonSaturatingBCE()
    assert close(bce.generator(torch.zeros(5)), LN2)  # sigmoid(0) = 1/2
    assert close(bce.discriminator(torch.zeros(3), torch.zeros(3)), 2 * LN2)
    assert close(bce.generator(torch.tensor([math.log(3.0)])), math.log(4 / 3))  # sigmoid = 3/4
    assert close(bce.discriminator(torch.tensor([math.log(3.0)]), torch.tensor([-math.log(3.0)])),
                 2 * math.log(4 / 3))
    assert bce.discriminator(torch.tensor([30.0]), torch.tensor([-30.0])).item() < 1e-12


@FAST
@given(shape=logit_shapes, seed=st.integers(0, 1000))
def test_bce_is_softplus(shape, seed):
    g = torch.Generator().manual_seed(seed)
    real, fake = 4 * torch.randn(shape, generator=g), 4 * torch.randn(shape, generator=g)
    bce = NonSaturatingBCE()
    torch.testing.assert_close(bce.generator(fake), F.softplus(-fake).mean())
    torch.testing.assert_close(bce.discriminator(real, fake), F.softplus(-real).mean() + F.softplus(fake).mean())


def test_bce_generator_is_non_saturating():
    # when D confidently rejects a fake the generator still gets a gradient of about -1
    fake = torch.tensor([-20.0], requires_grad=True)
    NonSaturatingBCE().generator(fake).backward()
    assert fake.grad.item() == pytest.approx(-1.0, abs=1e-6)


# hinge ---------------------------------------------------------------------------------------
def test_hinge_hand_values():
    hinge = Hinge()
    # relu(1 - [2, 0.5]) = [0, 0.5] -> 0.25; relu(1 + [-2, 0]) = [0, 1] -> 0.5
    assert close(hinge.discriminator(torch.tensor([2.0, 0.5]), torch.tensor([-2.0, 0.0])), 0.75)
    assert close(hinge.discriminator(torch.zeros(4), torch.zeros(4)), 2.0)
    assert close(hinge.discriminator(torch.tensor([5.0]), torch.tensor([-5.0])), 0.0)
    assert close(hinge.generator(torch.tensor([1.0, 3.0])), -2.0)


# least squares --------------------------------------------------------------------------------
def test_least_squares_hand_values():
    ls = LeastSquares()
    assert close(ls.discriminator(torch.ones(3), torch.zeros(3)), 0.0)
    # 0.5·mean([0, 1]) + 0.5·mean([0, 1])
    assert close(ls.discriminator(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])), 0.5)
    assert close(ls.discriminator(torch.zeros(2), torch.ones(2)), 1.0)
    assert close(ls.generator(torch.tensor([0.0])), 0.5)
    assert close(ls.generator(torch.tensor([1.0, 3.0])), 1.0)  # 0.5·mean([0, 4])


# InfoGAN category --------------------------------------------------------------------------------
@FAST
@given(b=st.integers(1, 6), k=st.integers(1, 10), seed=st.integers(0, 1000))
def test_category_loss_uniform_logits_is_log_k(b, k, seed):
    labels = torch.randint(k, (b,), generator=torch.Generator().manual_seed(seed))
    loss = InfoGANCategory()(torch.zeros(b, k), labels)
    assert loss.shape == ()
    assert close(loss, math.log(k))


def test_category_loss_hand_values():
    ce = InfoGANCategory()
    logits = torch.tensor([[1.0, 2.0, 3.0]])
    expected = -math.log(math.exp(3) / (math.exp(1) + math.exp(2) + math.exp(3)))
    assert close(ce(logits, torch.tensor([2])), expected)
    assert close(ce(logits, torch.tensor([0])), expected + 2)  # two logits lower
    assert ce(torch.tensor([[20.0, 0.0], [0.0, 20.0]]), torch.tensor([0, 1])).item() < 1e-8
    # averaged over the batch
    two = ce(torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]), torch.tensor([2, 1]))
    assert close(two, (expected + math.log(3)) / 2)


def test_category_loss_rejects_mismatched_labels():
    with pytest.raises((ValueError, RuntimeError, IndexError)):
        InfoGANCategory()(torch.zeros(2, 3), torch.tensor([0, 1, 2]))
