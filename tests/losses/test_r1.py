"""bce-r1: the R1 penalty's value, its gradient and its lazy schedule."""

import pytest
import torch
from torch import nn

from vidgan.losses.r1 import BCEWithR1
from vidgan.registry import LOSSES


class Linear(nn.Module):
    """D(x) = <w, x> per frame: its input gradient is w everywhere, so R1 is gamma/2 ||w||²."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.arange(12.0).reshape(3, 2, 2) / 10)

    def forward(self, x):
        return (x * self.w).sum(dim=(1, 2, 3)), None


def test_the_penalty_is_half_gamma_times_the_squared_input_gradient():
    critic = Linear()
    value = BCEWithR1(gamma=3.0).penalty(critic, torch.randn(5, 3, 2, 2), None)
    expected = 3.0 / 2 * (critic.w.detach() ** 2).sum()
    torch.testing.assert_close(value, expected)
    value.backward()  # d/dw of gamma/2 ||w||² is gamma w
    torch.testing.assert_close(critic.w.grad, 3.0 * critic.w.detach())


def test_lazy_penalty_is_applied_one_step_in_every_and_weighted_to_the_same_mean():
    critic, loss = Linear(), BCEWithR1(gamma=1.0, every=4)
    full = BCEWithR1(gamma=1.0).penalty(critic, torch.zeros(2, 3, 2, 2), None).item()
    torch.manual_seed(0)
    values = [loss.penalty(critic, torch.zeros(2, 3, 2, 2), None).item() for _ in range(2000)]
    applied = [v for v in values if v]
    assert all(v == pytest.approx(4 * full) for v in applied)
    assert len(applied) / len(values) == pytest.approx(0.25, abs=0.03)
    torch.manual_seed(0)  # the steps come from the global generator: the same seed, the same steps
    again = [loss.penalty(critic, torch.zeros(2, 3, 2, 2), None).item() for _ in range(2000)]
    assert again == values


def test_bad_options_are_errors_and_it_is_registered():
    with pytest.raises(ValueError, match="gamma > 0"):
        BCEWithR1(gamma=0)
    with pytest.raises(ValueError, match="every >= 1"):
        BCEWithR1(every=0)
    assert LOSSES.get("bce-r1") is BCEWithR1
