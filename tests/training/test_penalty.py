"""The trainer adds a loss's optional ``penalty(discriminator, real, fake)`` to the critic's loss."""

from __future__ import annotations

import torch

from vidgan.config import load_config
from vidgan.losses.adversarial import NonSaturatingBCE
from vidgan.training.trainer import Trainer


class Penalised(NonSaturatingBCE):
    """BCE plus a constant and a weight-decay-like term, recording what it was given."""

    def __init__(self):
        self.calls = []

    def penalty(self, discriminator, real, fake):
        self.calls.append((discriminator, real, fake))
        squares = sum((p ** 2).sum() for p in discriminator.parameters())
        return 3.0 + 100.0 * squares


def trainer(tmp_path, tiny, name):
    return Trainer(load_config(["recipe=mocogan", f"run_dir={tmp_path / name}", *tiny]))


def test_penalty_gets_the_critic_and_both_batches(tmp_path, tiny):
    t = trainer(tmp_path, tiny, "run")
    video = t.critics[1]
    video.loss = Penalised()
    t.train_step()
    [(net, real, fake)] = video.loss.calls
    assert net is video.net
    assert real.shape == fake.shape == (2, 3, 13, 32, 32)  # batch 2 clips of data.video_length
    assert not fake.requires_grad


def test_penalty_adds_to_the_loss_and_its_gradient(tmp_path, tiny):
    plain, penalised = trainer(tmp_path, tiny, "plain"), trainer(tmp_path, tiny, "penalised")
    penalised.critics[1].loss = Penalised()
    squares = sum((p ** 2).sum() for p in penalised.critics[1].net.parameters()).item()
    a, b = plain.train_step(), penalised.train_step()
    assert b["d_image"] == a["d_image"]  # the other critic is untouched
    assert abs(b["d_video"] - a["d_video"] - (3.0 + 100.0 * squares)) < 1e-3 * b["d_video"]
    # the penalty's gradient (200 w) dominates: Adam's first step moves every weight towards 0
    before = trainer(tmp_path, tiny, "fresh").critics[1].net.state_dict()["net.0.conv.weight"]
    after = penalised.critics[1].net.state_dict()["net.0.conv.weight"]
    assert ((after - before).sign() == -before.sign()).float().mean() > 0.99
    plain_after = plain.critics[1].net.state_dict()["net.0.conv.weight"]
    assert ((plain_after - before).sign() == -before.sign()).float().mean() < 0.9
    assert torch.isfinite(torch.tensor(list(b.values()))).all()
