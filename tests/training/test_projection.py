"""A projection critic: its real/fake logit is conditioned on the clip's class."""

import pytest
import torch
from torch import nn

from vidgan.config import load_config
from vidgan.errors import VidganError
from vidgan.training.trainer import Trainer

CATEGORICAL = ["recipe=mocogan-categorical", "generator.dim_z_category=2", "data.options.num_classes=2"]


def test_conditioned_adds_the_logit_of_each_clips_class(tmp_path, tiny):
    critic = Trainer(load_config([*CATEGORICAL, "discriminators.video.projection=true",
                                  f"run_dir={tmp_path}", *tiny])).critics[1]
    logits, classes = torch.tensor([[1.0], [2.0]]), torch.tensor([[10.0, 20.0], [30.0, 40.0]])
    assert critic.projection
    assert critic.conditioned(logits, classes, torch.tensor([1, 0])).tolist() == [[21.0], [32.0]]
    critic.projection = False
    assert torch.equal(critic.conditioned(logits, classes, torch.tensor([1, 0])), logits)


def test_the_critic_and_generator_losses_see_the_logits_of_the_asked_for_classes(tmp_path, tiny):
    trainer = Trainer(load_config([*CATEGORICAL, "discriminators.video.projection=true", "discriminators.video.aux=[]",
                                   f"run_dir={tmp_path}", *tiny]))

    class ClassIndex(nn.Module):  # real/fake logit 0, class j's logit j: the conditioned logit is the label
        view = "clips"

        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.zeros(()))

        def forward(self, x):
            return self.w + torch.zeros(x.shape[0], 1), torch.arange(2.0).expand(x.shape[0], 2)

    video = trainer.critics[1]
    video.net, seen = ClassIndex(), {}
    video.optimizer = torch.optim.SGD(video.net.parameters(), lr=0.0)
    loss = video.loss
    video.loss = type("Spy", (), {
        "discriminator": lambda self, r, f: seen.update(real=r, fake=f) or loss.discriminator(r, f),
        "generator": lambda self, f: seen.update(g=f) or loss.generator(f)})()
    labels = {}
    sample = trainer.generator.sample_videos
    trainer.generator.sample_videos = lambda *a, **k: labels.setdefault(len(labels), sample(*a, **k))
    reals = trainer.real_batches()
    trainer.train_step(reals)
    assert torch.equal(seen["real"][:, 0], reals[1][1].float())
    fake_labels = labels[0][1].float()  # fast mode off: one fake batch per critic step
    assert torch.equal(seen["fake"][:, 0], fake_labels) and fake_labels.unique().numel() == 2
    assert torch.equal(seen["g"][:, 0], labels[1][1].float())


def test_projection_needs_a_critic_with_class_outputs(tmp_path, tiny):
    with pytest.raises(VidganError, match="discriminators.video.projection needs a discriminator with class "
                                          "outputs .categorical-video., got 'video'"):
        Trainer(load_config(["recipe=mocogan", "discriminators.video.projection=true", f"run_dir={tmp_path}", *tiny]))


def test_a_discriminators_option_check_is_a_one_line_error_naming_its_section(tmp_path, tiny):
    with pytest.raises(VidganError, match="^discriminators.video 'categorical-video': categorical-video needs "
                                          "dim_categorical >= 1, got 0$"):
        Trainer(load_config(["recipe=mocogan-categorical", "generator.dim_z_category=0", f"run_dir={tmp_path}", *tiny]))
