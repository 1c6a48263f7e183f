"""Building components from a config: the device, the generator, the critics, and that
sampling and evaluating never load the trainer or the speed levers."""

import subprocess
import sys

import pytest
import torch
from torch import nn

from vidgan.build import Critic, build_critics, build_generator, prepare, resolve_device
from vidgan.config import load_config
from vidgan.errors import VidganError


def test_sampling_and_evaluating_import_neither_the_trainer_nor_accel():
    code = ("import sys, vidgan.generate, vidgan.metrics.evaluate, vidgan.run_page, vidgan.build; "
            "print(sorted(m for m in sys.modules if m.split('.')[:2] in (['vidgan', 'accel'], ['vidgan', 'training']) "
            "and m not in ('vidgan.training', 'vidgan.training.checkpoint', 'vidgan.training.samples')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_critics_follow_the_recipe(tiny):
    cfg = load_config(["recipe=mocogan-categorical", *tiny, "discriminators.video.weight=0.5"])
    image, video = build_critics(cfg, torch.device("cpu"))
    assert (image.name, image.net.view, image.batch, image.weight) == ("image", "frames", 4, 1.0)
    assert (video.name, video.net.view, video.batch, video.weight) == ("video", "clips", 2, 0.5)
    assert [type(a).__name__ for a in video.aux] == ["InfoGANCategory"] and image.aux == []
    assert isinstance(image.augment, nn.Identity) and image.optimizer is None and not video.projection
    assert all(p.device.type == "cpu" for p in video.net.parameters())


def test_generator_is_the_named_one_with_derived_sizes(tiny):
    cfg = load_config(["recipe=mocogan", *tiny])
    generator = build_generator(cfg)
    videos, labels = generator.sample_videos(2, generator=torch.Generator().manual_seed(0))
    assert videos.shape == (2, 3, 13, 32, 32) and labels.shape == (2,)


def test_a_tilde_drops_a_key_the_recipe_sets_for_the_component_it_swaps(tiny):
    with pytest.raises(VidganError, match="generator.shift; if the recipe sets it, ~generator.shift drops it"):
        load_config(["recipe=layered", *tiny, "generator.name=flow"])
    cfg = load_config(["recipe=layered", *tiny, "generator.name=flow", "~generator.shift", "~generator.motion_gate"])
    assert "shift" not in cfg.generator and type(build_generator(cfg)).__name__ == "FlowGenerator"
    with pytest.raises(VidganError, match="~generator.shiftt: the recipe sets no generator.shiftt"):
        load_config(["recipe=layered", *tiny, "~generator.shiftt"])


def test_projection_needs_class_outputs(tiny):
    cfg = load_config(["recipe=mocogan", *tiny, "discriminators.video.projection=true"])
    with pytest.raises(VidganError, match="^discriminators.video.projection needs a discriminator with class outputs "
                                          r"\(categorical-video\), got 'video'; remove projection or change the name$"):
        build_critics(cfg, torch.device("cpu"))


def test_a_components_own_check_names_the_section(tiny):
    cfg = load_config(["recipe=mocogan", *tiny, "generator.motion=sine-motion", "generator.motion_noise=0.5"])
    with pytest.raises(VidganError, match="^generator 'mocogan': motion_noise scales gru-motion's noise; "
                                          "the motion sampler 'sine-motion' has none$"):
        build_generator(cfg)


def test_conditioned_adds_the_class_logit_with_projection_only():
    logits, classes, labels = torch.zeros(2, 3), torch.tensor([[1.0, 2.0], [3.0, 4.0]]), torch.tensor([1, 0])
    critic = Critic("video", nn.Identity(), None, [], 2, 1.0, nn.Identity())
    assert torch.equal(critic.conditioned(logits, classes, labels), logits)
    critic.projection = True
    assert torch.equal(critic.conditioned(logits, classes, labels), torch.tensor([[2.0] * 3, [3.0] * 3]))


def test_devices():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(VidganError, match="^device=cuda but no CUDA device is available"):
            resolve_device("cuda")
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
    assert prepare(net, torch.device("cpu")) is net
    synced = prepare(nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)), torch.device("cpu"), sync_batchnorm=True)
    assert isinstance(synced[1], nn.SyncBatchNorm)
