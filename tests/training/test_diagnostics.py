"""The per-step diagnostics in metrics.jsonl: critic accuracies and gradient norms."""

import torch
from torch import nn

from vidgan.config import load_config
from vidgan.training.trainer import Trainer


def test_gradient_norms_are_those_of_the_step_just_taken(tmp_path, tiny):
    trainer = Trainer(load_config(["recipe=mocogan", f"run_dir={tmp_path}", *tiny]))
    logged = trainer.train_step()
    # the G step's gradients are still on the generator (zeroed only before the next backward)
    grads = [p.grad for p in trainer.generator.parameters() if p.grad is not None]
    assert logged["gnorm_g"] == torch.nn.utils.get_total_norm(grads).item() > 0
    video = trainer.critics[1]  # its D step came before the G step; skip_critic_grads is off
    assert video.name == "video" and logged["gnorm_d_video"] > 0


def test_accuracies_count_positive_logits_as_real(tmp_path, tiny):
    trainer = Trainer(load_config(["recipe=mocogan", f"run_dir={tmp_path}", *tiny]))

    class Constant(nn.Module):  # says "real" to everything: right on reals, wrong on fakes
        view = "frames"

        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.ones(()))

        def forward(self, x):
            return self.w * torch.ones(x.shape[0]), None

    image, video = trainer.critics
    image.net = Constant()
    image.optimizer = torch.optim.SGD(image.net.parameters(), lr=0.0)
    seen = []  # the video critic's logits at each call: the D step's real and fake batches, then the G step's
    forward = video.net.forward
    video.net.forward = lambda x: seen.append(forward(x)) or seen[-1]
    logged = trainer.train_step()
    assert logged["acc_image_real"] == 1.0 and logged["acc_image_fake"] == 0.0
    (real, _), (fake, _) = seen[:2]
    assert logged["acc_video_real"] == (real > 0).float().mean().item()
    assert logged["acc_video_fake"] == (fake < 0).float().mean().item()
