"""Helpers for the metric tests: a tiny run folder, real videos as a generator, a stand-in I3D,
a tiny torch-fidelity extractor, and the metrics written out from their definitions."""

import itertools
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.linalg
import scipy.special
import scipy.stats
import torch
import torch_fidelity
from omegaconf import OmegaConf
from torch import nn
from torch.nn import functional as F
from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY

from vidgan.config import load_config
from vidgan.metrics.base import to_float
from vidgan.training import checkpoint
from vidgan.build import build_generator

TINY_EXTRACTOR = "vidgan-test-tiny"


@pytest.fixture(autouse=True)
def no_weights_from_the_environment(request, monkeypatch):
    """The metric tests use stand-in networks whatever the environment names; only the
    opt-in check with the real weights (marked ``real_weights``) reads the variables."""
    if request.node.get_closest_marker("real_weights") is None:
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


class RealVideos(nn.Module):
    """A 'generator' that shows real videos of a data set (their first frames), brightened by ``offset``."""

    dim_z_category = 0

    def __init__(self, data, offset=0.0):
        super().__init__()
        self.data, self.offset = data, offset

    def sample_videos(self, n, video_length=None, generator=None, labels=None):
        index = torch.randint(len(self.data), (n,), generator=generator)
        videos = torch.stack([self.data.frames(int(i), range(video_length)) for i in index])
        return (videos + self.offset).clamp(-1, 1), torch.zeros(n, dtype=torch.int64)


class StandInI3D(nn.Module):
    """Has the I3D TorchScript call; features: per-channel mean, spread and frame change."""

    def forward(self, x: torch.Tensor, rescale: bool, resize: bool, return_features: bool) -> torch.Tensor:
        assert x.dim() == 5 and x.shape[1] == 3, "expects b 3 t h w"
        assert not rescale and resize and return_features, "the StyleGAN-V call"
        assert bool(x.min() >= -1.0) and bool(x.max() <= 1.0), "expects [-1, 1]"
        x = F.interpolate(x, size=(x.shape[2], 48, 48), mode="trilinear", align_corners=False)  # I3D: 224
        change = (x[:, :, 1:] - x[:, :, :-1]).abs().mean((2, 3, 4))
        return torch.cat([x.mean((2, 3, 4)), x.std((2, 3, 4)), change], dim=1)


def stand_in_features(videos: torch.Tensor) -> np.ndarray:
    """The stand-in network's features of uint8 videos, computed here in float64 in one batch."""
    return StandInI3D()(to_float(videos).double(), rescale=False, resize=True, return_features=True).numpy()


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
        nn.init.normal_(self.logits.weight, std=10, generator=torch.Generator().manual_seed(0))  # confident logits
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


def inception_score(logits: np.ndarray, splits: int, seed: int) -> tuple[float, float]:
    """IS from its definition: per split, exp of the mean KL divergence of p(y|x) from the
    split's p(y); the mean and (population) std over splits. The samples are shuffled and
    split as torch-fidelity documents: ``np.random.RandomState(seed).permutation``, split
    ``i`` the samples ``i*n//splits`` to ``(i+1)*n//splits``."""
    n = len(logits)
    p = scipy.special.softmax(logits[np.random.RandomState(seed).permutation(n)].astype(np.float64), axis=1)
    scores = []
    for i in range(splits):
        split = p[i * n // splits:(i + 1) * n // splits]
        marginal = split.mean(0)
        scores.append(np.exp(np.mean([scipy.stats.entropy(row, marginal) for row in split])))
    return float(np.mean(scores)), float(np.std(scores))


def kernel_inception_distance(x: np.ndarray, y: np.ndarray, subsets: int, size: int, seed: int) -> tuple[float, float]:
    """KID from its definition: the unbiased MMD² with the kernel ``(a·b/d + 1)³`` over
    ``subsets`` pairs of subsets of ``size`` samples without replacement, drawn as
    torch-fidelity does (one ``np.random.RandomState(seed)``, x's subset then y's); the
    mean and (population) std over subsets."""
    rng = np.random.RandomState(seed)
    d = x.shape[1]
    pairs = ~np.eye(size, dtype=bool)  # the unbiased estimate leaves out each sample with itself

    def kernel(a, b):
        return (a @ b.T / d + 1) ** 3

    values = []
    for _ in range(subsets):
        a = x[rng.choice(len(x), size, replace=False)].astype(np.float64)
        b = y[rng.choice(len(y), size, replace=False)].astype(np.float64)
        within = kernel(a, a)[pairs].mean() + kernel(b, b)[pairs].mean()
        values.append(within - 2 * kernel(a, b).mean())
    return float(np.mean(values)), float(np.std(values))


def scipy_frechet(a: np.ndarray, b: np.ndarray) -> float:
    """The textbook formula with scipy's general matrix square root."""
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = scipy.linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * root))


def acd_by_definition(videos: torch.Tensor) -> float:
    """ACD written out frame by frame on uint8 ``b 3 t h w``: the mean colour of the pixels with
    a channel above 20% of 255, the mean distance over all pairs of frames, the mean over videos."""
    scores = []
    for video in videos.numpy().astype(np.float64):
        colours = []
        for t in range(video.shape[1]):
            frame = video[:, t]
            shape = frame.max(0) > 0.2 * 255
            colours.append(frame[:, shape].mean(1) if shape.any() else np.zeros(3))
        scores.append(np.mean([np.linalg.norm(a - b) for a, b in itertools.combinations(colours, 2)]))
    return float(np.mean(scores))
