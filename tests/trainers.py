"""Helpers of the tests that train a few steps and compare trainers: building one from a
recipe and overrides, and everything a step changes."""

from torch import nn

from vidgan.config import load_config
from vidgan.training.trainer import Trainer


def make(tiny, *overrides, recipe="mocogan-categorical"):
    return Trainer(load_config([f"recipe={recipe}", "run_dir=unused", *tiny, *overrides]))


def state(trainer):
    """Every weight, buffer and Adam moment of the generator and the critics."""
    out = {f"g.{k}": v for k, v in trainer.generator.state_dict().items()}
    for c in trainer.critics:
        out.update({f"{c.name}.{k}": v for k, v in c.net.state_dict().items()})
    for name, opt in [("g", trainer.g_optimizer)] + [(c.name, c.optimizer) for c in trainer.critics]:
        for i, s in enumerate(opt.state.values()):
            out.update({f"{name}.adam{i}.{k}": v for k, v in s.items() if k != "step"})
    return out


def max_difference(a, b):
    assert a.keys() == b.keys()
    return max((a[k].float() - b[k].float()).abs().max().item() for k in a if a[k].numel())


def train(trainer, steps):
    return [trainer.train_step() for _ in range(steps)]


def gradients(trainer):
    """The last step's gradients: the G step's for the generator, the D steps' (+ G step's) for critics."""
    modules = {"g": trainer.generator, **{c.name: c.net for c in trainer.critics}}
    return {f"{m}.{k}": p.grad for m, net in modules.items() for k, p in net.named_parameters()}


def conv_calls(trainer, hook):
    """``hook(module, inputs, output)`` on every convolution of the generator and the critics."""
    convs = (nn.Conv2d, nn.Conv3d, nn.ConvTranspose2d)
    seen = []
    for net in (trainer.generator, *(c.net for c in trainer.critics)):
        for m in net.modules():
            if isinstance(m, convs):
                m.register_forward_hook(lambda m, i, o: seen.append(hook(m, i, o)))
    return seen
