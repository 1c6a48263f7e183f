"""FID, KID and IS on single frames, computed by torch-fidelity.

vidgan does not re-implement these statistics: it hands torch-fidelity's
``calculate_metrics`` the frames as input datasets and names a feature extractor from
torch-fidelity's registry (``torch_fidelity.register_feature_extractor``; by default
``inception-v3-compat``, its port of the TensorFlow InceptionV3 that FID was defined with).

Protocol: every frame of the ``num_videos`` generated videos (input 1) against every frame
of the ``num_videos`` real clips (input 2), RGB uint8, resized by the extractor itself
(InceptionV3: 299×299, TensorFlow-style bilinear). IS uses the generated frames only.
KID uses 100 subsets of ``min(1000, frames)`` frames; IS 10 splits; torch-fidelity's
random draws are seeded with the evaluation's seed. When several of ``fid``, ``kid`` and
``is`` are asked for, the features are extracted once.

Weights are never downloaded: the InceptionV3 file (``weights-inception-2015-12-05-6726825d.pth``
from torch-fidelity's v0.2.0 release) is given with ``inception_weights=PATH`` or the
environment variable ``VIDGAN_INCEPTION_WEIGHTS`` and must have the SHA-256 its name
promises. A feature extractor registered by the user (not one of torch-fidelity's own)
takes the same path, if any, as ``feature_extractor_weights_path``.

Example:
    >>> # vidgan eval runs/x metrics=[fid,kid,is] inception_weights=~/weights-inception-2015-12-05-6726825d.pth
"""

from __future__ import annotations

import os
from typing import Any

from einops import rearrange
from torch.utils.data import Dataset

from vidgan.errors import VidganError
from vidgan.metrics.base import EvalContext, weights_file
from vidgan.registry import METRICS

INCEPTION = "weights-inception-2015-12-05-6726825d.pth"
INCEPTION_URL = f"https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/{INCEPTION}"
INCEPTION_SHA256_PREFIX = "6726825d"  # torch.hub convention: the name carries the hash's start
KID_SUBSETS = 100
KID_SUBSET_SIZE = 1000
ISC_SPLITS = 10
FLAGS = {"fid": "fid", "kid": "kid", "is": "isc"}  # vidgan name -> calculate_metrics flag


class Frames(Dataset):
    """The frames of uint8 videos as a map-style dataset of images, torch-fidelity's input.

    Shape:
        videos: ``b 3 t h w`` uint8; an item: ``3 h w`` uint8.

    Example:
        >>> import torch
        >>> len(Frames(torch.zeros(2, 3, 5, 8, 8, dtype=torch.uint8)))
        10
    """

    def __init__(self, videos):
        self.frames = rearrange(videos, "b c t h w -> (b t) c h w")

    def __len__(self) -> int:
        return len(self.frames)

    def __getitem__(self, index: int):
        return self.frames[index]


def _weights(extractor: str, path: str | None) -> tuple[str | None, str | None]:
    """The weights path and its SHA-256 for ``extractor``; torch-fidelity's own need one."""
    from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY

    if extractor not in FEATURE_EXTRACTORS_REGISTRY:
        raise VidganError(f"torch-fidelity has no feature extractor {extractor!r}; registered: "
                          f"{', '.join(sorted(FEATURE_EXTRACTORS_REGISTRY))}")
    path = path or os.environ.get("VIDGAN_INCEPTION_WEIGHTS")
    builtin = FEATURE_EXTRACTORS_REGISTRY[extractor].__module__.startswith("torch_fidelity.")
    if not builtin and not path:
        return None, None
    inception = extractor == "inception-v3-compat"
    expected = (f"the InceptionV3 weights {INCEPTION} ({INCEPTION_URL})" if inception
                else f"the weights file of torch-fidelity's feature extractor {extractor!r}")
    file, digest = weights_file(path, "inception_weights", "VIDGAN_INCEPTION_WEIGHTS", expected,
                                INCEPTION_SHA256_PREFIX if inception else None)
    return str(file), digest


def _calculate(ctx: EvalContext, extractor: str, weights: str | None, digest: str | None,
               names: frozenset[str]) -> dict[str, Any]:
    """One torch-fidelity pass computing ``names`` (of fid, kid, is) with ``extractor``."""
    import torch_fidelity

    flags = {FLAGS[name]: name in names for name in FLAGS}
    fake = Frames(ctx.generated()[0])
    frames = len(fake)
    kwargs: dict[str, Any] = dict(
        input1=fake, feature_extractor=extractor, feature_extractor_weights_path=weights,
        batch_size=ctx.batch_size, cuda=ctx.device.type == "cuda", rng_seed=ctx.seed,
        isc_splits=ISC_SPLITS, kid_subsets=KID_SUBSETS, kid_subset_size=min(KID_SUBSET_SIZE, frames),
        cache=False, save_cpu_ram=True, datasets_download=False, verbose=False, **flags)
    if flags["fid"] or flags["kid"]:
        kwargs["input2"] = Frames(ctx.real()[0])
    try:
        values = torch_fidelity.calculate_metrics(**kwargs)
    except ValueError as err:  # torch-fidelity's checks
        raise VidganError(f"torch-fidelity: {err}") from None
    protocol = {"frames": frames, "feature_extractor": extractor, "weights": weights,
                "weights_sha256": digest, "library": f"torch-fidelity {torch_fidelity.__version__}"}
    return {"values": values, "protocol": protocol, "kid_subset_size": kwargs["kid_subset_size"]}


class _FrameMetric:
    """Shared by FID, KID and IS: the extractor and its weights, and the memoised torch-fidelity pass.

    Args:
        feature_extractor: a name in torch-fidelity's feature-extractor registry.
        inception_weights: its weights file (the ``inception_weights`` config key;
            default: ``$VIDGAN_INCEPTION_WEIGHTS``), checked when the metric is built.
    """

    name = ""

    def __init__(self, feature_extractor: str = "inception-v3-compat", inception_weights: str | None = None):
        self.feature_extractor = feature_extractor
        self.weights, self.digest = _weights(feature_extractor, inception_weights)

    def _run(self, ctx: EvalContext) -> dict[str, Any]:
        names = frozenset(n for n in FLAGS if n in ctx.requested or n == self.name)
        return ctx.memo(("torch-fidelity", self.feature_extractor, self.weights, names),
                        lambda: _calculate(ctx, self.feature_extractor, self.weights, self.digest, names))


@METRICS.register("fid")
class FID(_FrameMetric):
    """Fréchet Inception Distance between generated and real frames (lower is better).

    Example:
        >>> FID()(ctx)["value"]  # doctest: +SKIP
        41.7
    """

    name = "fid"

    def __call__(self, ctx: EvalContext) -> dict[str, Any]:
        run = self._run(ctx)
        return {"value": run["values"]["frechet_inception_distance"],
                "protocol": ctx.protocol(real=True, **run["protocol"])}


@METRICS.register("kid")
class KID(_FrameMetric):
    """Kernel Inception Distance (mean over subsets; ``std`` too) between frames (lower is better)."""

    name = "kid"

    def __call__(self, ctx: EvalContext) -> dict[str, Any]:
        run = self._run(ctx)
        return {"value": run["values"]["kernel_inception_distance_mean"],
                "std": run["values"]["kernel_inception_distance_std"],
                "protocol": ctx.protocol(real=True, **run["protocol"], kid_subsets=KID_SUBSETS,
                                         kid_subset_size=run["kid_subset_size"])}


@METRICS.register("is")
class IS(_FrameMetric):
    """Inception Score of the generated frames (mean over splits; ``std`` too; higher is better)."""

    name = "is"

    def __call__(self, ctx: EvalContext) -> dict[str, Any]:
        run = self._run(ctx)
        return {"value": run["values"]["inception_score_mean"],
                "std": run["values"]["inception_score_std"],
                "protocol": ctx.protocol(real=False, **run["protocol"], isc_splits=ISC_SPLITS)}
