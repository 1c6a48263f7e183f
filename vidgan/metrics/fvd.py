"""FVD: the Fréchet distance between I3D features of generated and real clips.

Protocol (StyleGAN-V's, the one most video-GAN papers report): each clip of
``video_length`` frames (16 by default), RGB scaled to [-1, 1], goes whole through the
Kinetics-400 I3D network as TorchScript (``i3d_torchscript.pt``), which resizes it to
224×224 itself (``resize=True``) and returns its 400 logits before the softmax
(``return_features=True``). A Gaussian is fitted to the features of the ``num_videos``
generated videos and to those of the ``num_videos`` real clips (mean and unbiased
covariance, float64), and FVD is the Fréchet distance between the two.

The network is read from a local file only: ``i3d_weights=PATH`` or the environment
variable ``VIDGAN_I3D_WEIGHTS``. Any TorchScript module with the same call
``net(x, rescale=False, resize=True, return_features=True)`` on ``b 3 t h w`` input works.

Example:
    >>> # vidgan eval runs/x metrics=[fvd] i3d_weights=~/i3d_torchscript.pt
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import torch

from vidgan.errors import VidganError
from vidgan.metrics.base import EvalContext, to_float, weights_file
from vidgan.registry import METRICS

EXPECTED = ("the I3D network as TorchScript, i3d_torchscript.pt (the Kinetics-400 I3D that "
            "StyleGAN-V's FVD uses)")


def gaussian(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and unbiased covariance of features, in float64.

    Shape:
        ``n d`` -> ``d`` and ``d d``.

    Example:
        >>> mu, sigma = gaussian(torch.eye(3))
        >>> mu.shape, sigma.shape
        (torch.Size([3]), torch.Size([3, 3]))
    """
    if len(features) < 2:
        raise VidganError(f"a covariance needs at least 2 samples, got {len(features)}; raise num_videos")
    features = features.double()
    return features.mean(0), torch.cov(features.T)


def _psd_sqrt(matrix: torch.Tensor) -> torch.Tensor:
    values, vectors = torch.linalg.eigh(matrix)
    return vectors @ torch.diag(values.clamp(min=0).sqrt()) @ vectors.T


def frechet_distance(mu1: torch.Tensor, sigma1: torch.Tensor,
                     mu2: torch.Tensor, sigma2: torch.Tensor) -> float:
    """Fréchet distance between two Gaussians: ``|mu1 - mu2|² + tr(S1 + S2 - 2 (S1 S2)^½)``.

    ``tr (S1 S2)^½`` is computed as the sum of the square roots of the eigenvalues of the
    symmetric ``S1^½ S2 S1^½`` (same eigenvalues as ``S1 S2``), which stays real and
    stable for the singular covariances of few samples.

    Shape:
        ``d``, ``d d``, ``d``, ``d d`` -> a float.

    Example:
        >>> eye = torch.eye(2, dtype=torch.float64)
        >>> frechet_distance(torch.zeros(2), eye, torch.ones(2), 4 * eye)
        4.0
    """
    mu1, sigma1, mu2, sigma2 = (x.double() for x in (mu1, sigma1, mu2, sigma2))
    root = _psd_sqrt(sigma1)
    cross = torch.linalg.eigvalsh(root @ sigma2 @ root).clamp(min=0).sqrt().sum()
    distance = (mu1 - mu2).square().sum() + sigma1.trace() + sigma2.trace() - 2 * cross
    return float(distance.clamp(min=0))


def load_i3d(path: Path, device: torch.device) -> torch.jit.ScriptModule:
    """The I3D TorchScript module in a file, in eval mode on ``device``."""
    try:
        with warnings.catch_warnings():  # TorchScript is deprecated, but it is the format the file comes in
            warnings.simplefilter("ignore", FutureWarning)
            net = torch.jit.load(str(path), map_location=device)
    except (RuntimeError, ValueError) as err:
        raise VidganError(f"{path} is not a TorchScript archive ({str(err).splitlines()[0]}); "
                          f"FVD needs {EXPECTED}") from None
    return net.eval()


def i3d_features(net: torch.nn.Module, videos: torch.Tensor, batch_size: int,
                 device: torch.device) -> torch.Tensor:
    """I3D features of uint8 videos, ``batch_size`` at a time.

    Shape:
        videos ``b 3 t h w`` uint8 -> ``b d`` float64 (d = 400 for I3D).
    """
    out = []
    with torch.no_grad():
        for batch in videos.split(batch_size):
            features = net(to_float(batch).to(device), rescale=False, resize=True, return_features=True)
            out.append(features.double().cpu().flatten(1))
    return torch.cat(out)


@METRICS.register("fvd")
class FVD:
    """Fréchet Video Distance between generated and real clips (lower is better); see the module doc.

    Args:
        i3d_weights: the I3D TorchScript file (the ``i3d_weights`` config key; default:
            ``$VIDGAN_I3D_WEIGHTS``), checked when the metric is built.

    Example:
        >>> FVD("i3d_torchscript.pt")(ctx)["value"]  # doctest: +SKIP
        412.3
    """

    def __init__(self, i3d_weights: str | None = None):
        self.path, self.digest = weights_file(i3d_weights, "i3d_weights", "VIDGAN_I3D_WEIGHTS", EXPECTED)

    def __call__(self, ctx: EvalContext) -> dict[str, Any]:
        net = load_i3d(self.path, ctx.device)
        fake = i3d_features(net, ctx.generated()[0], ctx.batch_size, ctx.device)
        real = i3d_features(net, ctx.real()[0], ctx.batch_size, ctx.device)
        value = frechet_distance(*gaussian(fake), *gaussian(real))
        return {"value": value, "protocol": ctx.protocol(
            real=True, network_input="224x224, resized by the network (resize=True)",
            features=fake.shape[1], weights=str(self.path), weights_sha256=self.digest)}
