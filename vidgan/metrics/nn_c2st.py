"""1-NN two-sample test: a classifier with nothing to learn, beside ``c2st``'s network.

Protocol: the ``num_videos`` real clips of the evaluation and the ``num_videos`` generated
videos are average-pooled to ``size`` × ``size`` (as ``memorisation`` does) and pooled
into one set. Each clip is labelled with the set of its nearest other clip (leave one
out, RMS pixel distance); the metric is the share labelled right. 0.5: real and generated
clips are neighbours as often as real clips are of each other; 1.0: the two sets lie
apart (lower is better, as for ``c2st``). Near 0: every generated video sits on a real
clip, a copy. No training and no weights, so it checks ``c2st`` with a judge that cannot
fail to learn or learn by heart (Lopez-Paz and Oquab, "Revisiting classifier two-sample
tests", ICLR 2017). With ``control`` the same test of the real clips against other real
clips (seed ``seed + 3``, as ``c2st``'s) is the ``reference``.

Example:
    >>> # vidgan eval runs/x metrics=[c2st,nn-c2st]
"""

from __future__ import annotations

from typing import Any

import torch

from vidgan.errors import VidganError
from vidgan.metrics.base import EvalContext
from vidgan.metrics.c2st import C2ST
from vidgan.metrics.memorisation import pooled
from vidgan.registry import METRICS


def nn_accuracy(a: torch.Tensor, b: torch.Tensor) -> float:
    """Leave-one-out 1-nearest-neighbour accuracy of telling rows of ``a`` from rows of ``b``.

    Shape:
        ``n d`` and ``m d`` -> a float in [0, 1].

    Example:
        >>> nn_accuracy(torch.tensor([[0.0], [0.1]]), torch.tensor([[5.0], [5.1]]))
        1.0
        >>> nn_accuracy(torch.tensor([[0.0], [5.0]]), torch.tensor([[0.0], [5.0]]))
        0.0
    """
    x = torch.cat([a, b]).double()
    labels = torch.cat([torch.ones(len(a)), torch.zeros(len(b))])
    d = torch.cdist(x, x).fill_diagonal_(float("inf"))
    # ties (a copy at distance 0 beside a real neighbour at 0) go to the other set: a copy is not a success
    other = labels[None, :] != labels[:, None]
    nearest = (d - 1e-12 * other).argmin(dim=1)
    return (labels[nearest] == labels).double().mean().item()


@METRICS.register("nn-c2st")
class NearestNeighbourC2ST:
    """Leave-one-out 1-NN accuracy of real against generated clips (0.5 is best); see the module doc.

    Args:
        size: frames are average-pooled to ``size`` × ``size`` before comparing.
        control: also score real clips against other real clips (the ``reference``).
    """

    def __init__(self, size: int = 16, control: bool = True):
        if size < 1:
            raise VidganError(f"options.nn-c2st.size must be at least 1, got {size}")
        self.size, self.control = size, control

    def __call__(self, ctx: EvalContext) -> dict[str, Any]:
        if ctx.num_videos < 2:
            raise VidganError(f"nn-c2st needs num_videos >= 2, got {ctx.num_videos}")
        real = pooled(ctx.real()[0], self.size)
        result = {"value": nn_accuracy(real, pooled(ctx.generated()[0], self.size))}
        if self.control:
            result["reference"] = nn_accuracy(real, pooled(C2ST.other_real(ctx), self.size))
        return {**result, "protocol": ctx.protocol(real=True, size=self.size, control=self.control,
                                                   control_seed=ctx.seed + 3, distance="RMS of pooled pixels",
                                                   classifier="leave-one-out 1-nearest neighbour")}
