"""MCS, the motion control score: does a categorical generator make the motion it is asked for?

A small spatio-temporal classifier (:class:`ClipClassifier`) is trained on real labelled
clips, drawn as the trainer draws them, from all but a held-out ``heldout`` fraction of
the videos (a seeded permutation picks them); its accuracy on ``heldout_clips`` clips of
the held-out videos is reported as ``classifier_accuracy``, the ceiling of the score. MCS
is the classifier's accuracy on the ``num_videos`` generated videos, whose asked-for
categories cycle through the real classes; ``per_category`` breaks it down.

The classifier is saved (``mcs-classifier.pt`` in the evaluation folder, or
``options.mcs.classifier=PATH``) with the data config and training settings it was made
with, and reused when they match; a file made for other data is an error, never silently
reused. Training is seeded: the same seed gives the same classifier.

Example:
    >>> # vidgan eval runs/x metrics=[mcs] options.mcs.steps=500
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from vidgan.data import Subset, sample_clips
from vidgan.errors import VidganError
from vidgan.metrics.base import EvalContext, to_float, to_uint8
from vidgan.registry import METRICS

log = logging.getLogger("vidgan")


class ClipClassifier(nn.Module):
    """A small 3D CNN that tells the class of an RGB clip.

    Frames are average-pooled to ``size`` × ``size`` first; three 3×3×3 convolutions
    (``width``, 2·``width``, 4·``width`` channels, LeakyReLU) halve the resolution (and,
    after the first, the length), then a global maximum (where in the clip a motion
    happens does not matter, and a small shape would vanish in an average) and a linear
    layer give logits.

    Shape:
        ``b 3 t h w`` in [-1, 1] -> ``b num_classes``.

    Example:
        >>> net = ClipClassifier(num_classes=2, size=16)
        >>> net(torch.zeros(4, 3, 8, 32, 32)).shape
        torch.Size([4, 2])
    """

    def __init__(self, num_classes: int, size: int = 32, width: int = 16):
        super().__init__()
        self.size = size
        self.net = nn.Sequential(
            nn.Conv3d(3, width, 3, stride=(1, 2, 2), padding=1), nn.LeakyReLU(0.2),
            nn.Conv3d(width, 2 * width, 3, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Conv3d(2 * width, 4 * width, 3, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.AdaptiveMaxPool3d(1), nn.Flatten(), nn.Linear(4 * width, num_classes))

    def forward(self, videos: torch.Tensor) -> torch.Tensor:
        if videos.shape[-1] != self.size or videos.shape[-2] != self.size:
            videos = F.adaptive_avg_pool3d(videos, (videos.shape[2], self.size, self.size))
        return self.net(videos)


def accuracy(net: nn.Module, videos: torch.Tensor, labels: torch.Tensor, batch_size: int,
             device: torch.device) -> torch.Tensor:
    """Whether ``net`` gets each uint8 video's label right.

    Shape:
        videos ``b 3 t h w`` uint8, labels ``b`` -> ``b`` bool.
    """
    with torch.no_grad():
        guesses = torch.cat([net(to_float(batch).to(device)).argmax(1).cpu()
                             for batch in videos.split(batch_size)])
    return guesses == labels


@METRICS.register("mcs")
class MCS:
    """Motion control score of a categorical generator (higher is better); see the module doc.

    Args:
        steps: classifier training steps (Adam, lr 1e-3).
        batch: real clips per step.
        heldout: fraction of the real videos kept out of training.
        heldout_clips: clips of the held-out videos the classifier is tested on.
        size: the classifier's frame size.
        classifier: where the classifier is saved and looked for (default: the
            evaluation folder's ``mcs-classifier.pt``).
    """

    def __init__(self, steps: int = 300, batch: int = 16, heldout: float = 0.1,
                 heldout_clips: int = 256, size: int = 32, classifier: str | None = None):
        if steps < 1 or batch < 1 or heldout_clips < 1 or size < 4:
            raise VidganError("options.mcs: steps, batch and heldout_clips must be at least 1 and size at least 4")
        if not 0 < heldout < 1:
            raise VidganError(f"options.mcs.heldout must lie in (0, 1), got {heldout}")
        self.settings = {"steps": steps, "batch": batch, "heldout": heldout,
                         "heldout_clips": heldout_clips, "size": size}
        self.path = classifier

    def _signature(self, ctx: EvalContext) -> dict[str, Any]:
        return {"data": ctx.data, "video_length": ctx.video_length, "every_nth": ctx.every_nth,
                "seed": ctx.seed, **self.settings}

    def classifier(self, ctx: EvalContext) -> tuple[ClipClassifier, dict[str, Any], Path]:
        """The trained classifier, its record and its file: loaded when it matches, else trained."""
        path = Path(self.path).expanduser() if self.path else ctx.out_dir / "mcs-classifier.pt"
        signature = self._signature(ctx)
        if path.is_file():
            saved = torch.load(path, map_location="cpu", weights_only=True)
            if saved.get("signature") != signature:
                raise VidganError(f"{path} was trained for other data or settings; delete it or "
                                  f"set options.mcs.classifier to another file")
            net = ClipClassifier(saved["num_classes"], self.settings["size"])
            net.load_state_dict(saved["state_dict"])
            log.info("mcs: reusing the classifier in %s", path)
            return net.to(ctx.device).eval(), saved, path
        net, record = self._train(ctx)
        record["signature"] = signature
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save({**record, "state_dict": net.state_dict()}, path)
        return net.to(ctx.device).eval(), record, path

    def _train(self, ctx: EvalContext) -> tuple[ClipClassifier, dict[str, Any]]:
        data, s = ctx.dataset, self.settings
        if data.num_classes < 2:
            raise VidganError(f"MCS needs labelled data with at least 2 classes; the data has {data.num_classes}")
        rng = torch.Generator().manual_seed(ctx.seed)
        order = torch.randperm(len(data), generator=rng).tolist()
        cut = max(1, round(len(data) * s["heldout"]))
        if cut >= len(data):
            raise VidganError(f"MCS needs at least 2 real videos to train and test a classifier; the data has {len(data)}")
        train, heldout = Subset(data, order[cut:]), Subset(data, order[:cut])
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(ctx.seed)
            net = ClipClassifier(data.num_classes, s["size"]).to(ctx.device)
        optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
        log.info("mcs: training a clip classifier on %d real videos (%d steps)", len(train), s["steps"])
        for _ in range(s["steps"]):
            clips, labels = sample_clips(train, s["batch"], ctx.video_length, ctx.every_nth, rng)
            loss = F.cross_entropy(net(clips.expand(-1, 3, -1, -1, -1).to(ctx.device)), labels.to(ctx.device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        net.eval()
        clips, labels = sample_clips(heldout, s["heldout_clips"], ctx.video_length, ctx.every_nth, rng)
        right = accuracy(net, to_uint8(clips), labels, ctx.batch_size, ctx.device)
        return net, {"num_classes": data.num_classes, "heldout_accuracy": right.float().mean().item(),
                     "train_videos": len(train), "heldout_videos": len(heldout)}

    def __call__(self, ctx: EvalContext) -> dict[str, Any]:
        if ctx.categories == 0:
            raise VidganError("MCS needs a categorical generator (generator.dim_z_category > 0), "
                              "e.g. recipe=mocogan-categorical")
        net, record, path = self.classifier(ctx)
        videos, labels = ctx.generated()
        right = accuracy(net, videos, labels, ctx.batch_size, ctx.device)
        per_category = {str(k): right[labels == k].float().mean().item() for k in range(ctx.categories)}
        return {"value": right.float().mean().item(), "per_category": per_category,
                "classifier_accuracy": record["heldout_accuracy"],
                "protocol": ctx.protocol(real=False, classifier=str(path), **self.settings,
                                         train_videos=record["train_videos"],
                                         heldout_videos=record["heldout_videos"])}
