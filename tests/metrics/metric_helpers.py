"""Helpers for the metric tests: a tiny run folder, a stand-in I3D, a tiny torch-fidelity extractor."""

import warnings
from pathlib import Path

import pytest
import torch
import torch_fidelity
from omegaconf import OmegaConf
from torch import nn
from torch.nn import functional as F
from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY

from vidgan.config import load_config
from vidgan.training import checkpoint
from vidgan.training.trainer import build_generator

TINY_EXTRACTOR = "vidgan-test-tiny"


@pytest.fixture(autouse=True)
def no_weights_from_the_environment(monkeypatch):
    monkeypatch.delenv("VIDGAN_INCEPTION_WEIGHTS", raising=False)
    monkeypatch.delenv("VIDGAN_I3D_WEIGHTS", raising=False)


def save_run(run_dir: Path, tiny: list[str], ema: bool = False) -> Path:
    """A run folder with one checkpoint of an untrained tiny categorical generator (no training)."""
    cfg = load_config(["recipe=mocogan-categorical", *tiny, f"run_dir={run_dir}"])
    torch.manual_seed(0)
    generator = build_generator(cfg)
    state = {"step": 1, "config": OmegaConf.to_container(cfg), "generator": generator.state_dict()}
    if ema:  # a visibly different copy: every weight scaled
        state["ema_generator"] = {k: v * 0.5 if v.is_floating_point() else v
                                  for k, v in generator.state_dict().items()}
    checkpoint.save(state, checkpoint.checkpoint_path(run_dir, 1))
    return run_dir


@pytest.fixture
def run_dir(tmp_path, tiny) -> Path:
    return save_run(tmp_path / "run", tiny)


class StandInI3D(nn.Module):
    """Has the I3D TorchScript call; features: per-channel mean, spread and frame change."""

    def forward(self, x: torch.Tensor, rescale: bool, resize: bool, return_features: bool) -> torch.Tensor:
        assert x.dim() == 5 and x.shape[1] == 3, "expects b 3 t h w"
        assert not rescale and resize and return_features, "the StyleGAN-V call"
        assert bool(x.min() >= -1.0) and bool(x.max() <= 1.0), "expects [-1, 1]"
        x = F.interpolate(x, size=(x.shape[2], 48, 48), mode="trilinear", align_corners=False)  # I3D: 224
        change = (x[:, :, 1:] - x[:, :, :-1]).abs().mean((2, 3, 4))
        return torch.cat([x.mean((2, 3, 4)), x.std((2, 3, 4)), change], dim=1)


@pytest.fixture
def i3d_file(tmp_path) -> Path:
    path = tmp_path / "weights" / "i3d_torchscript.pt"
    path.parent.mkdir()
    with warnings.catch_warnings():  # TorchScript is deprecated, but the real I3D file is TorchScript
        warnings.simplefilter("ignore", FutureWarning)
        torch.jit.script(StandInI3D()).save(str(path))
    return path


class TinyExtractor(torch_fidelity.FeatureExtractorBase):
    """A torch-fidelity feature extractor of a few colour statistics, for tests; counts its builds."""

    builds = 0

    def __init__(self, name, features_list, **kwargs):
        super().__init__(name, features_list)
        TinyExtractor.builds += 1
        self.logits = nn.Linear(6, 4)
        nn.init.normal_(self.logits.weight, generator=torch.Generator().manual_seed(0))
        nn.init.zeros_(self.logits.bias)

    def forward(self, x):
        assert x.dtype == torch.uint8 and x.dim() == 4 and x.shape[1] == 3
        x = x.float() / 255
        stats = torch.cat([x.mean((2, 3)), x.std((2, 3))], dim=1)
        out = {"features": stats, "logits_unbiased": self.logits(stats)}
        return tuple(out[name] for name in self.features_list)

    @staticmethod
    def get_provided_features_list():
        return "features", "logits_unbiased"

    @staticmethod
    def get_default_feature_layer_for_metric(metric):
        return {"isc": "logits_unbiased", "fid": "features", "kid": "features"}[metric]

    @staticmethod
    def can_be_compiled():
        return False

    @staticmethod
    def get_dummy_input_for_compile():
        return None


if TINY_EXTRACTOR not in FEATURE_EXTRACTORS_REGISTRY:
    torch_fidelity.register_feature_extractor(TINY_EXTRACTOR, TinyExtractor)
