"""Shapes and laws of MoCoGAN's latent samplers: content, one-hot category, GRU, sine and ramp motion."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import math

from vidgan.samplers.mocogan import GaussianContent, GRUMotion, OneHotCategory, RampMotion, RampSineMotion, SineMotion

FAST = settings(max_examples=12, deadline=None)
batches = st.integers(1, 5)
lengths = st.integers(1, 24)
dims = st.integers(1, 12)
seeds = st.integers(0, 2**31 - 1)


def seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# content ----------------------------------------------------------------------------------
@FAST
@given(b=batches, t=lengths, dim=dims, seed=seeds)
def test_content_is_b_t_d_and_constant_over_time(b, t, dim, seed):
    z = GaussianContent(dim)(b, t, seeded(seed))
    assert z.shape == (b, t, dim)
    assert torch.isfinite(z).all()
    assert torch.equal(z, z[:, :1].expand(b, t, dim))
    torch.testing.assert_close(z, GaussianContent(dim)(b, t, generator=seeded(seed)))


def test_content_differs_between_videos_and_seeds():
    z = GaussianContent(50)(4, 3, seeded(0))
    assert not torch.equal(z[0], z[1])
    assert not torch.equal(z, GaussianContent(50)(4, 3, seeded(1)))


def test_content_is_standard_normal():
    z = GaussianContent(64)(500, 1, seeded(0))
    assert abs(z.mean().item()) < 0.02
    assert abs(z.std().item() - 1) < 0.02


# category --------------------------------------------------------------------------------
@FAST
@given(data=st.data(), b=batches, t=lengths, dim=dims)
def test_one_hot_category_given_labels(data, b, t, dim):
    labels = torch.tensor(data.draw(st.lists(st.integers(0, dim - 1), min_size=b, max_size=b)))
    z = OneHotCategory(dim)(b, t, labels=labels)
    assert z.shape == (b, t, dim)
    assert torch.equal(z, torch.nn.functional.one_hot(labels, dim).float()[:, None].expand(b, t, dim))


@FAST
@given(b=batches, t=lengths, dim=dims, seed=seeds)
def test_one_hot_category_drawn_labels(b, t, dim, seed):
    sampler = OneHotCategory(dim)
    labels = sampler.labels(b, seeded(seed))
    assert labels.shape == (b,) and labels.dtype == torch.int64
    assert 0 <= labels.min() and labels.max() < dim
    z = sampler(b, t, seeded(seed))
    assert z.shape == (b, t, dim)
    assert torch.equal(z.sum(dim=2), torch.ones(b, t))
    assert torch.equal(z.argmax(dim=2), labels[:, None].expand(b, t))  # the seed picks the same labels


def test_category_labels_are_uniform():
    labels = OneHotCategory(6).labels(6000, seeded(0))
    counts = torch.bincount(labels, minlength=6)
    assert counts.min() > 900 and counts.max() < 1100


@given(b=batches, t=lengths)
@FAST
def test_no_categories_gives_an_empty_code(b, t):
    sampler = OneHotCategory(0)
    assert sampler(b, t).shape == (b, t, 0)
    assert torch.equal(sampler.labels(b), torch.zeros(b, dtype=torch.long))


def test_bad_labels():
    sampler = OneHotCategory(3)
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        sampler(2, 4, labels=torch.tensor([0, 3]))
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        sampler(2, 4, labels=torch.tensor([-1, 0]))
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        sampler(2, 4, labels=torch.tensor([0, 1, 2]))


def test_samplers_have_no_state_to_save():
    # content and category are parameter-free; only the GRU's weights belong in a checkpoint
    assert GaussianContent(5).state_dict() == {}
    assert OneHotCategory(5).state_dict() == {}
    assert set(GRUMotion(5).state_dict()) == {"gru.weight_ih", "gru.weight_hh", "gru.bias_ih", "gru.bias_hh"}


# motion ----------------------------------------------------------------------------------
@FAST
@given(b=batches, t=lengths, dim=dims, seed=seeds)
def test_motion_shape_and_reproducibility(b, t, dim, seed):
    torch.manual_seed(0)
    motion = GRUMotion(dim)
    z = motion(b, t, seeded(seed))
    assert z.shape == (b, t, dim)
    assert torch.isfinite(z).all()
    assert torch.equal(z, motion(b, t, generator=seeded(seed)))
    assert not torch.equal(z, motion(b, t, generator=seeded(seed + 1)))


def test_motion_follows_the_gru_recurrence():
    # h_0 ~ N(0, I), h_t = GRUCell(ε_t, h_{t-1}); the output is h_1..h_T
    torch.manual_seed(0)
    motion = GRUMotion(4)
    z = motion(3, 5, seeded(11))
    g = seeded(11)
    h = torch.randn(3, 4, generator=g)
    noise = torch.randn(5, 3, 4, generator=g)
    expected = []
    for eps in noise:
        h = motion.gru(eps, h)
        expected.append(h)
    torch.testing.assert_close(z, torch.stack(expected, dim=1))


def test_motion_changes_over_time_and_is_learnable():
    motion = GRUMotion(10)
    z = motion(2, 6, seeded(0))
    assert not torch.allclose(z[:, 0], z[:, 1])
    z.pow(2).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in motion.parameters())


def test_motion_needs_a_frame():
    with pytest.raises(ValueError, match="video_length must be at least 1"):
        GRUMotion(3)(2, 0)


# sine motion -----------------------------------------------------------------------------
def test_sine_motion_is_the_oscillators_of_its_draws():
    motion = SineMotion(4, periods=(4.0, 16.0))
    torch.testing.assert_close(motion.log_omega.exp(), torch.tensor([2 * math.pi / 4, 2 * math.pi / 16]))
    z = motion(3, 7, seeded(5))
    g = seeded(5)
    phase = 2 * math.pi * torch.rand(3, 1, 2, generator=g)
    sense = 2 * torch.randint(2, (3, 1, 2), generator=g) - 1
    angle = sense * motion.log_omega.exp() * torch.arange(7.0)[None, :, None] + phase
    torch.testing.assert_close(z, torch.cat([angle.sin(), angle.cos()], dim=2))
    assert torch.equal(z, motion(3, 7, seeded(5))) and not torch.equal(z, motion(3, 7, seeded(6)))


def test_sine_motion_codes_stay_on_the_unit_circle_and_turn_both_ways():
    z = SineMotion(2, periods=(8.0, 8.0))(20000, 3, seeded(1))
    torch.testing.assert_close(z.pow(2).sum(2), torch.ones(20000, 3))  # every video moves as much
    torch.testing.assert_close(z[:, 0].mean(0), torch.zeros(2), atol=0.02, rtol=0)  # uniform phase
    turn = torch.sign(z[:, 0, 0] * z[:, 1, 1] - z[:, 0, 1] * z[:, 1, 0])  # sense of rotation
    assert abs(turn.mean()) < 0.03 and turn.abs().min() == 1


def test_sine_motion_frequencies_are_learnable():
    motion = SineMotion(10)
    motion(2, 6, seeded(0)).pow(3).sum().backward()
    assert motion.log_omega.grad is not None and motion.log_omega.grad.abs().min() > 0


@pytest.mark.parametrize("dim", [0, 1, 5])
def test_sine_motion_needs_sine_and_cosine_pairs(dim):
    message = f"sine-motion needs an even dim of at least 2 .sine and cosine pairs., got {dim}$"
    with pytest.raises(ValueError, match=message):
        SineMotion(dim)


def test_ramp_motion_is_a_clock_and_one_draw_per_video():
    z = RampMotion(4, horizon=3.0)(5, 7, seeded(2))
    assert z.shape == (5, 7, 4)
    torch.testing.assert_close(z[:, :, 0], (torch.arange(7.0) / 3.0).expand(5, 7))
    torch.testing.assert_close(z[:, :, 1:], torch.randn((5, 1, 3), generator=seeded(2)).expand(5, 7, 3))
    assert torch.equal(z, RampMotion(4, horizon=3.0)(5, 7, seeded(2)))
    assert not torch.equal(z[:, 0, 1:], z[:, 0, 1:].roll(1, 0))  # videos draw their own codes


def test_ramp_motion_draws_standard_normal_codes():
    w = RampMotion(3)(20000, 2, seeded(3))[:, 0, 1:]
    torch.testing.assert_close(w.mean(0), torch.zeros(2), atol=0.03, rtol=0)
    torch.testing.assert_close(w.std(0), torch.ones(2), atol=0.03, rtol=0)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"dim": 0}, "ramp-motion needs a dim of at least 1 .the clock., got 0$"),
    ({"horizon": 0.0}, "ramp-motion's horizon .frames from clock 0 to 1. must be positive, got 0.0$"),
])
def test_ramp_motion_rejects_bad_options(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RampMotion(**kwargs)


def test_ramp_sine_motion_is_ramp_motion_s_codes_beside_sine_motion_s():
    both = RampSineMotion(10, ramp=4, horizon=3.0)
    ramp, sine = RampMotion(4, horizon=3.0), SineMotion(6)
    sine.load_state_dict(both.sine.state_dict())
    rng = seeded(4)
    expected = torch.cat([ramp(5, 7, rng), sine(5, 7, rng)], dim=2)  # drawn in that order from one generator
    torch.testing.assert_close(both(5, 7, seeded(4)), expected)
    assert [name for name, _ in both.named_parameters()] == ["sine.log_omega"]  # the oscillators' frequencies learn


@pytest.mark.parametrize(("dim", "ramp"), [(10, 0), (10, 9), (10, 3), (2, 1)])
def test_ramp_sine_motion_needs_a_clock_and_whole_oscillators(dim, ramp):
    with pytest.raises(ValueError, match=f"ramp-sine-motion needs ramp from 1 to dim - 2 with dim - ramp even "
                                         f".sine and cosine pairs., got ramp {ramp} of dim {dim}$"):
        RampSineMotion(dim, ramp=ramp)
