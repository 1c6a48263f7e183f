"""C2ST, a classifier two-sample test: can a small network tell generated videos from real clips?

Protocol: the ``num_videos`` real clips (label 1) and the ``num_videos`` generated videos
(label 0) of the evaluation are split in halves by one permutation of ``num_videos``
seeded with the evaluation's ``seed``, applied to both sets (the first ``num_videos // 2``
train, the rest test). A :class:`~vidgan.metrics.mcs.ClipClassifier` with 2 classes,
initialised from ``seed``, is trained on the training halves for ``steps`` Adam steps
(learning rate ``lr``) on batches of ``batch`` videos drawn uniformly from both training
halves together, with a generator seeded with ``seed``; the metric is its accuracy on the
test halves, which hold as many real as generated videos.

0.5 means the classifier cannot tell the two apart (a perfect generator, or one the
classifier is too weak to see through); 1.0 means they are perfectly separable (lower is
better). Identical sets score 0.5: one permutation puts a clip in the same half under
both labels, and the classifier, giving the same clip the same answer, gets one of the two
right.
``train_accuracy``, the accuracy on the training halves, shows whether the classifier
learnt anything: well above ``value``, it learnt the training videos by heart, not the
difference; near 0.5, more ``steps`` may help. The same seed gives the same number.

With ``control`` the same test of the real clips against ``num_videos`` other real clips
(drawn with seed ``seed + 3``) is the ``reference``: the score of a generator as good as
the data, beside which ``value`` is read (eval.md's "real data" column).

Example:
    >>> # vidgan eval runs/x metrics=[c2st] options.c2st.steps=400
"""

from __future__ import annotations

from typing import Any

import torch
from torch.nn import functional as F

from vidgan.errors import VidganError
from vidgan.data import sample_clips
from vidgan.metrics.base import EvalContext, to_float, to_uint8
from vidgan.metrics.mcs import ClipClassifier, accuracy
from vidgan.registry import METRICS


def halves(videos: torch.Tensor, order: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Videos split by a permutation ``order``: its first ``b // 2`` and the rest.

    Shape:
        videos ``b ...``, order ``b`` -> ``b//2 ...`` and ``(b - b//2) ...``.

    Example:
        >>> halves(torch.arange(5) * 10, torch.tensor([4, 0, 1, 3, 2]))
        (tensor([40,  0]), tensor([10, 30, 20]))
    """
    cut = len(videos) // 2
    return videos[order[:cut]], videos[order[cut:]]


@METRICS.register("c2st")
class C2ST:
    """Accuracy of a real-vs-generated clip classifier on held-out videos (0.5 is best); see the module doc.

    Args:
        steps: classifier training steps (Adam).
        batch: videos per step, real and generated drawn together.
        lr: Adam's learning rate.
        size: the classifier's frame size (frames are average-pooled to it).
        width: the classifier's first layer's channels.
        control: also score real clips against other real clips (the ``reference``): what
            the test gives when there is nothing to find, about 0.5.

    Example:
        >>> C2ST(steps=400)(ctx)  # doctest: +SKIP
        {'value': 0.93, 'train_accuracy': 0.99, 'protocol': {...}}
    """

    def __init__(self, steps: int = 400, batch: int = 16, lr: float = 1e-3, size: int = 32, width: int = 16,
                 control: bool = True):
        if steps < 1 or batch < 1 or width < 1 or size < 4:
            raise VidganError("options.c2st: steps, batch and width must be at least 1 and size at least 4")
        if not lr > 0:
            raise VidganError(f"options.c2st.lr must be positive, got {lr}")
        self.settings = {"steps": steps, "batch": batch, "lr": lr, "size": size, "width": width}
        self.control = control

    def __call__(self, ctx: EvalContext) -> dict[str, Any]:
        if ctx.num_videos < 4:
            raise VidganError(f"c2st trains on half the videos and tests on the other half, at least 2 of "
                              f"each: it needs num_videos >= 4, got {ctx.num_videos}")
        test, train = self.accuracies(ctx, ctx.real()[0], ctx.generated()[0])
        result = {"value": test, "train_accuracy": train}
        if self.control:
            result["reference"] = self.accuracies(ctx, ctx.real()[0], self.other_real(ctx))[0]
        return {**result, "protocol": ctx.protocol(
            real=True, **self.settings, control=self.control, control_seed=ctx.seed + 3,
            classifier="ClipClassifier", labels="real 1, generated 0",
            train_videos_per_class=ctx.num_videos // 2, test_videos_per_class=ctx.num_videos - ctx.num_videos // 2)}

    def accuracies(self, ctx: EvalContext, real: torch.Tensor, fake: torch.Tensor) -> tuple[float, float]:
        """The classifier's accuracy on the test halves and on the training halves (see the module doc)."""
        s = self.settings
        rng = torch.Generator().manual_seed(ctx.seed)
        order = torch.randperm(ctx.num_videos, generator=rng)
        real_train, real_test = halves(real, order)
        fake_train, fake_test = halves(fake, order)

        def labelled(real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            labels = torch.cat([torch.ones(len(real), dtype=torch.int64), torch.zeros(len(fake), dtype=torch.int64)])
            return torch.cat([real, fake]), labels

        train, train_labels = labelled(real_train, fake_train)
        test, test_labels = labelled(real_test, fake_test)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(ctx.seed)
            net = ClipClassifier(2, s["size"], s["width"]).to(ctx.device)
        optimizer = torch.optim.Adam(net.parameters(), lr=s["lr"])
        for _ in range(s["steps"]):
            pick = torch.randint(len(train), (s["batch"],), generator=rng)
            loss = F.cross_entropy(net(to_float(train[pick]).to(ctx.device)), train_labels[pick].to(ctx.device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        net.eval()
        test_right = accuracy(net, test, test_labels, ctx.batch_size, ctx.device)
        train_right = accuracy(net, train, train_labels, ctx.batch_size, ctx.device)
        return test_right.float().mean().item(), train_right.float().mean().item()

    @staticmethod
    def other_real(ctx: EvalContext) -> torch.Tensor:
        """``num_videos`` more real clips, drawn as the evaluation's real ones with seed ``seed + 3``."""
        rng = torch.Generator().manual_seed(ctx.seed + 3)
        clips = [sample_clips(ctx.dataset, min(ctx.batch_size, ctx.num_videos - start), ctx.video_length,
                              ctx.every_nth, rng)[0] for start in range(0, ctx.num_videos, ctx.batch_size)]
        return to_uint8(torch.cat(clips))
