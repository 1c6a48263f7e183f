"""The real batches of a training step: one per critic, in the critics' order.

Each critic sees what its discriminator's ``view`` asks for: single frames or clips of
``data.video_length`` frames, every ``data.every_nth``. All are drawn from one random
stream; inside :meth:`RealBatches.prefetching` a thread draws the next steps' batches
while a step computes (:mod:`vidgan.training.prefetch`), the very batches the step would
have drawn, and the stream afterwards stands where the consumed batches leave it.
"""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator

import torch
from omegaconf import DictConfig

from vidgan.build import Critic
from vidgan.data import sample_clips, sample_frames
from vidgan.training.prefetch import Prefetcher

Batch = tuple[torch.Tensor, torch.Tensor]


class RealBatches:
    """Real batches of ``dataset`` for ``critics``, drawn from ``rng`` and handed over on
    ``device`` in ``layout`` (a function of a tensor, e.g. channels_last).

    Shape:
        each batch: frames ``b c h w`` or clips ``b c t h w`` (the critic's ``view``) and labels ``b``.
    """

    def __init__(self, dataset: Any, critics: list[Critic], data: DictConfig, rng: torch.Generator,
                 device: torch.device, layout: Callable[[torch.Tensor], torch.Tensor]):
        self.dataset, self.critics, self.data, self.rng = dataset, critics, data, rng
        self.device, self.layout = device, layout
        self.prefetcher: Prefetcher | None = None

    def _draw_one(self, critic: Critic, rng: torch.Generator) -> Batch:
        if critic.net.view == "frames":
            return sample_frames(self.dataset, critic.batch, rng)
        clips, labels = sample_clips(self.dataset, critic.batch, self.data.video_length, self.data.every_nth, rng)
        frames = getattr(critic.net, "frames", None)  # a critic that sees some frames of each clip
        return (clips if frames is None else clips[:, :, list(frames)]), labels

    def draw(self, rng: torch.Generator) -> list[Batch]:
        """One step's batch of every critic, on the CPU, drawn from ``rng``.

        Runs in the prefetch thread too: it reads only the data set and ``rng``.
        """
        return [self._draw_one(critic, rng) for critic in self.critics]

    def _to_device(self, batch: Batch) -> Batch:
        x, y = batch
        return self.layout(x.to(self.device)), y.to(self.device)

    def next(self) -> list[Batch]:
        """This step's batches on the device: from the prefetch thread while
        :meth:`prefetching`, else drawn now."""
        if self.prefetcher is None:
            drawn = self.draw(self.rng)
        else:
            drawn, rng_state = self.prefetcher.get()
            self.rng.set_state(rng_state)
        return [self._to_device(b) for b in drawn]

    def for_critic(self, critic: Critic) -> Batch:
        """A batch for one critic, drawn now, on the device."""
        return self._to_device(self._draw_one(critic, self.rng))

    @contextlib.contextmanager
    def prefetching(self, depth: int) -> Iterator[Prefetcher | None]:
        """Draw batches ``depth`` steps ahead in a thread inside the block.

        The batches and the random stream are the same as without it; the thread is
        stopped and joined when the block ends, however it ends. Yields the
        :class:`Prefetcher`, or None when ``depth`` is 0 (or one already runs).
        """
        if depth < 1 or self.prefetcher is not None:
            yield None
            return
        self.prefetcher = Prefetcher(self.draw, self.rng.get_state(), depth)
        try:
            yield self.prefetcher
        finally:
            self.prefetcher.close()
            self.prefetcher = None
