"""Memorisation: are the generated videos copies of the training clips?

With a few dozen training videos a GAN can learn to replay them. This metric asks how
close each generated video comes to the nearest clip of the training data, against how
close a clip of a video the generator has never seen comes. No downloaded weights: the
distance is the root-mean-square pixel difference of clips average-pooled to ``size`` ×
``size`` (so that small shifts and noise count for little).

Protocol:

- the bank: every clip of every real video (``video_length`` frames ``every_nth`` apart,
  starting every ``stride`` frames), quantised to uint8 as the generated videos are; when there are more than ``bank`` of them, ``bank``
  drawn uniformly with a generator seeded with ``seed``;
- generated: each generated video's distance to its nearest clip in the bank;
- held out: ``num_videos`` real clips drawn as the trainer draws them (seed ``seed + 2``),
  each one's distance to its nearest clip of *another* video in the bank: what a clip of a
  new video, unseen in training, scores;
- ``value``: the median generated distance over the median held-out distance. About 1 (or
  more): the generated videos are as far from the training clips as new real videos are;
  near 0: they replay the training clips. ``copied`` is the share of generated videos nearer
  to a training clip than the ``quantile`` (5%) of the held-out distances.

Example:
    >>> # vidgan eval runs/x metrics=[memorisation] options.memorisation.size=16
"""

from __future__ import annotations

from typing import Any

import torch
from torch.nn import functional as F

from vidgan.data import VideoDataset
from vidgan.data.base import min_frames
from vidgan.errors import VidganError
from vidgan.metrics.base import EvalContext, to_float, to_uint8
from vidgan.registry import METRICS


def pooled(videos: torch.Tensor, size: int) -> torch.Tensor:
    """Videos as flat rows of their frames average-pooled to ``size`` × ``size``, in [-1, 1].

    Shape:
        ``b c t h w`` (uint8 or float in [-1, 1]) -> ``b (c t size size)``.

    Example:
        >>> pooled(torch.full((2, 3, 4, 8, 8), 255, dtype=torch.uint8), 2).shape
        torch.Size([2, 48])
    """
    x = to_float(videos) if videos.dtype == torch.uint8 else videos.float()
    x = F.adaptive_avg_pool3d(x, (x.shape[2], size, size))
    return x.flatten(1)


def bank_of(dataset: VideoDataset, video_length: int, every_nth: int, stride: int, limit: int,
            size: int, rng: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Every clip of the data set starting every ``stride`` frames (``limit`` of them drawn
    uniformly when there are more), pooled, and the index of the video each comes from.

    Shape:
        -> ``n (c t size size)`` and ``n`` (int64).
    """
    span = min_frames(video_length, every_nth)
    starts = [(i, s) for i in range(len(dataset)) for s in range(0, dataset.num_frames(i) - span + 1, stride)]
    if not starts:
        raise VidganError(f"memorisation: no real video has the {span} frames a clip of {video_length} "
                          f"frames every {every_nth} needs")
    if len(starts) > limit:
        keep = torch.randperm(len(starts), generator=rng)[:limit].sort().values.tolist()
        starts = [starts[k] for k in keep]
    rows, owners = [], []
    for i in sorted({i for i, _ in starts}):
        own = [s for j, s in starts if j == i]
        video = dataset.frames(i, list(range(own[0], own[-1] + span)))  # c t h w, each frame read once
        clips = torch.stack([video[:, s - own[0]:s - own[0] + span:every_nth] for s in own])
        rows.append(pooled(to_uint8(clips), size))  # quantised as the generated videos are
        owners += [i] * len(own)
    return torch.cat(rows), torch.tensor(owners)


def nearest(queries: torch.Tensor, bank: torch.Tensor, exclude: torch.Tensor | None = None,
            owners: torch.Tensor | None = None, chunk: int = 64) -> torch.Tensor:
    """Each query's RMS distance to its nearest bank row, skipping the rows whose owner is
    the query's ``exclude`` entry (when given).

    Shape:
        queries ``q d``, bank ``n d``, exclude ``q``, owners ``n`` -> ``q``.

    Example:
        >>> nearest(torch.tensor([[0.0, 0.0]]), torch.tensor([[3.0, 4.0], [1.0, 1.0]]))
        tensor([1.])
    """
    out = []
    for start in range(0, len(queries), chunk):
        d = torch.cdist(queries[start:start + chunk], bank)
        if exclude is not None:
            d = d.masked_fill(exclude[start:start + chunk, None] == owners[None, :], float("inf"))
        out.append(d.min(dim=1).values)
    return torch.cat(out) / queries.shape[1] ** 0.5


@METRICS.register("memorisation")
class Memorisation:
    """Nearest-training-clip distance of generated videos over that of unseen real clips
    (about 1: no copying; near 0: copies); see the module doc.

    Args:
        size: frames are average-pooled to ``size`` × ``size`` before comparing.
        stride: frames between the starts of the bank's clips.
        bank: at most this many training clips are compared against.
        quantile: ``copied`` counts the generated videos nearer than this quantile of the
            held-out distances.
    """

    def __init__(self, size: int = 16, stride: int = 2, bank: int = 4096, quantile: float = 0.05):
        if size < 1 or stride < 1 or bank < 1:
            raise VidganError("options.memorisation: size, stride and bank must be at least 1")
        if not 0 < quantile < 1:
            raise VidganError(f"options.memorisation.quantile must lie in (0, 1), got {quantile}")
        self.settings = {"size": size, "stride": stride, "bank": bank, "quantile": quantile}

    def held_out(self, ctx: EvalContext) -> tuple[torch.Tensor, torch.Tensor]:
        """``num_videos`` real clips drawn as the trainer draws them, pooled, and their videos."""
        data, span = ctx.dataset, min_frames(ctx.video_length, ctx.every_nth)
        rng = torch.Generator().manual_seed(ctx.seed + 2)
        fits = [i for i in range(len(data)) if data.num_frames(i) >= span]
        owners = torch.tensor(fits)[torch.randint(len(fits), (ctx.num_videos,), generator=rng)]
        clips = []
        for i in owners.tolist():
            start = int(torch.randint(data.num_frames(i) - span + 1, (1,), generator=rng))
            clips.append(data.frames(i, list(range(start, start + span, ctx.every_nth))))
        return pooled(to_uint8(torch.stack(clips)), self.settings["size"]), owners

    def __call__(self, ctx: EvalContext) -> dict[str, Any]:
        s = self.settings
        if len(ctx.dataset) < 2:
            raise VidganError("memorisation compares clips of different videos: it needs at least 2 real videos")
        bank, owners = bank_of(ctx.dataset, ctx.video_length, ctx.every_nth, s["stride"], s["bank"], s["size"],
                               torch.Generator().manual_seed(ctx.seed))
        if len(set(owners.tolist())) < 2:
            raise VidganError("memorisation: the clips compared against come from a single video; "
                              "raise options.memorisation.bank")
        generated = nearest(pooled(ctx.generated()[0], s["size"]), bank)
        queries, query_owners = self.held_out(ctx)
        real = nearest(queries, bank, query_owners, owners)
        real = real[torch.isfinite(real)]
        threshold = torch.quantile(real, s["quantile"]).item()
        return {"value": (generated.median() / real.median()).item(),
                "copied": (generated < threshold).float().mean().item(),
                "generated_distance": generated.median().item(), "heldout_distance": real.median().item(),
                "protocol": ctx.protocol(real=False, **s, bank_clips=len(bank), heldout_clips=len(real),
                                         heldout_seed=ctx.seed + 2, distance="RMS of pooled pixels in [-1, 1]")}
