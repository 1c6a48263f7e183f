"""ACD, the average content distance of the MoCoGAN paper: how much a video's content drifts.

For each video, a registered per-frame feature (``vidgan.registry.FEATURES``; by default
``shape-colour``, the mean colour of the foreground shape as in the paper's shape-motion
experiment) maps every frame to a vector; the video's ACD is the mean L2 distance over all
pairs of its frames, and the metric is the mean over the ``num_videos`` generated videos
(lower is better: the content stays the same). The same number for ``num_videos`` real
clips is reported as ``reference``: what a perfect generator would score.

The paper's numbers on its shape-motion data (VGAN 5.02, TGAN 2.08, MoCoGAN 1.79) do not
state the colour scale; vidgan uses 0..255.

Example:
    >>> import torch
    >>> still = torch.full((2, 3, 8, 16, 16), 200, dtype=torch.uint8)
    >>> float(video_acd(still, FEATURES.build("shape-colour")).mean())
    0.0
"""

from __future__ import annotations

from typing import Any, Callable

import torch
from einops import rearrange

from vidgan.errors import VidganError
from vidgan.metrics.base import EvalContext, to_float
from vidgan.registry import FEATURES, METRICS


def video_acd(videos: torch.Tensor, feature: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """Each video's mean pairwise L2 distance between its frames' features.

    Shape:
        videos ``b c t h w`` uint8 (t >= 2) -> ``b``.
    """
    b, t = videos.shape[0], videos.shape[2]
    if t < 2:
        raise VidganError(f"ACD compares frames of a video: it needs at least 2, got {t}")
    frames = rearrange(to_float(videos), "b c t h w -> (b t) c h w")
    vectors = rearrange(feature(frames).double(), "(b t) d -> b t d", b=b)
    distances = torch.cdist(vectors, vectors)  # b t t, zero diagonal, symmetric
    return distances.sum((1, 2)) / (t * (t - 1))


@METRICS.register("acd")
class ACD:
    """Average content distance of generated videos, with the real clips' as ``reference``.

    Args:
        feature: a registered per-frame feature (``vidgan list features``).
        reference: also score the real clips (needs the data set).

    Example:
        >>> ACD()(ctx)  # doctest: +SKIP
        {'value': 3.1, 'reference': 0.0, 'protocol': {...}}
    """

    def __init__(self, feature: str = "shape-colour", reference: bool = True):
        self.feature_name = feature
        self.feature = FEATURES.build(feature)
        self.reference = reference

    def __call__(self, ctx: EvalContext) -> dict[str, Any]:
        result = {"value": float(video_acd(ctx.generated()[0], self.feature).mean())}
        if self.reference:
            result["reference"] = float(video_acd(ctx.real()[0], self.feature).mean())
        result["protocol"] = ctx.protocol(real=self.reference, feature=self.feature_name,
                                          distance="mean L2 over all frame pairs, 0..255 colour scale")
        return result
