"""The video data set interface and the two ways the trainer samples from it.

A data set is a list of labelled videos that can return any subset of a video's frames.
The trainer never iterates over it: it draws random clips (for video discriminators) and
random single frames (for image discriminators) with :func:`sample_clips` and
:func:`sample_frames`, taking all randomness from a ``torch.Generator`` so that training is
reproducible and resumes exactly.

Example:
    >>> from vidgan.data.shapes import SyntheticShapes
    >>> data = SyntheticShapes(num_videos=8, image_size=32)
    >>> videos, labels = sample_clips(data, 2, 16, 2, torch.Generator().manual_seed(0))
    >>> videos.shape, labels.dtype
    (torch.Size([2, 3, 16, 32, 32]), torch.int64)
"""

from __future__ import annotations

import logging
from typing import Callable, Sequence

import torch
from einops import rearrange

from vidgan.errors import VidganError

log = logging.getLogger("vidgan")


class UnreadableVideo(VidganError):
    """A video whose file cannot be decoded. ``frames`` raises it; the samplers skip that video
    (with a warning naming the file) and draw another, so a run never dies on one bad file."""


class VideoDataset:
    """Base class of the registered data sets (``vidgan.registry.DATASETS``).

    A subclass sets ``num_classes`` and implements the four methods below. Videos may
    differ in length; every frame of every video has the same channel count and size.
    Labels lie in ``0 .. num_classes - 1`` (all 0 for an unlabelled set with
    ``num_classes = 1``). ``frames`` raises :class:`UnreadableVideo` for a file that
    turns out to be corrupt; the samplers then record its index in ``unreadable``.

    Shape:
        frames: ``c t h w`` float32 in ``[-1, 1]``, ``t = len(frame_indices)``.
    """

    num_classes: int = 1

    def __len__(self) -> int:
        """The number of videos."""
        raise NotImplementedError

    def num_frames(self, index: int) -> int:
        """The number of frames of video ``index``."""
        raise NotImplementedError

    def label(self, index: int) -> int:
        """The class of video ``index``."""
        raise NotImplementedError

    def frames(self, index: int, frame_indices: Sequence[int]) -> torch.Tensor:
        """Frames ``frame_indices`` (in that order, repeats allowed) of video ``index``."""
        raise NotImplementedError



class Subset(VideoDataset):
    """Some videos of a data set, in the given order (a held-out split, a process's shard).

    Example:
        >>> from vidgan.data.shapes import SyntheticShapes
        >>> data = SyntheticShapes(num_videos=6, image_size=16)
        >>> [Subset(data, [4, 1]).label(i) for i in range(2)] == [data.label(4), data.label(1)]
        True
    """

    def __init__(self, dataset: VideoDataset, indices: Sequence[int]):
        self.dataset, self.indices = dataset, list(indices)
        self.num_classes = dataset.num_classes

    def __len__(self) -> int:
        return len(self.indices)

    def num_frames(self, index: int) -> int:
        return self.dataset.num_frames(self.indices[index])

    def label(self, index: int) -> int:
        return self.dataset.label(self.indices[index])

    def frames(self, index: int, frame_indices: Sequence[int]) -> torch.Tensor:
        return self.dataset.frames(self.indices[index], frame_indices)

def min_frames(length: int, every_nth: int) -> int:
    """The fewest frames a video needs to give a clip of ``length`` frames ``every_nth`` apart.

    Example:
        >>> min_frames(16, 2)
        31
    """
    return (length - 1) * every_nth + 1


def _check_positive(**values: int) -> None:
    for name, value in values.items():
        if value < 1:
            raise VidganError(f"{name} must be at least 1, got {value}")


def _videos(dataset: VideoDataset, batch: int, generator: torch.Generator) -> list[int]:
    if len(dataset) == 0:
        raise VidganError(f"{type(dataset).__name__} has no videos to sample from")
    return torch.randint(len(dataset), (batch,), generator=generator).tolist()


def _labels(dataset: VideoDataset, indices: list[int]) -> torch.Tensor:
    return torch.tensor([dataset.label(i) for i in indices], dtype=torch.int64)


def _randint(high: int, generator: torch.Generator) -> int:
    return int(torch.randint(high, (1,), generator=generator))


def _read(dataset: VideoDataset, index: int, pick: Callable[[int], Sequence[int]],
          generator: torch.Generator) -> tuple[torch.Tensor, int]:
    """Frames ``pick(index)`` of video ``index`` and the index read: an unreadable video is
    skipped with a warning (once) and a uniformly drawn other video read instead."""
    if not hasattr(dataset, "unreadable"):
        dataset.unreadable = set()
    while True:
        if index not in dataset.unreadable:
            try:
                return dataset.frames(index, pick(index)), index
            except UnreadableVideo as err:
                dataset.unreadable.add(index)
                log.warning("%s; skipping it and sampling another video", err)
        if len(dataset.unreadable) >= len(dataset):
            raise VidganError(f"all {len(dataset)} videos of {type(dataset).__name__} are unreadable")
        index = _randint(len(dataset), generator)


def sample_clips(dataset: VideoDataset, batch: int, length: int, every_nth: int,
                 generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch of random clips and their labels.

    Videos are drawn uniformly with replacement; each clip takes frames ``start,
    start + every_nth, ...`` (``length`` of them) with ``start`` uniform over every start
    that fits in the video. A video shorter than :func:`min_frames` is an error.

    Shape:
        videos: ``b c t h w`` with ``t = length``; labels: ``b`` (int64).

    Example:
        >>> from vidgan.data.shapes import SyntheticShapes
        >>> data = SyntheticShapes(num_videos=4, image_size=16, channels=1)
        >>> sample_clips(data, 3, 8, 4, torch.Generator())[0].shape
        torch.Size([3, 1, 8, 16, 16])
    """
    _check_positive(batch=batch, length=length, every_nth=every_nth)
    span = min_frames(length, every_nth)

    def pick(i: int) -> range:
        n = dataset.num_frames(i)
        if n < span:
            raise VidganError(
                f"video {i} of {type(dataset).__name__} has {n} frames, fewer than the {span} "
                f"a clip of {length} frames every {every_nth} needs; build the data set with "
                f"min_frames={span} to skip short videos, or ask for shorter clips"
            )
        start = _randint(n - span + 1, generator)
        return range(start, start + span, every_nth)

    clips, indices = zip(*(_read(dataset, i, pick, generator) for i in _videos(dataset, batch, generator)))
    return torch.stack(clips), _labels(dataset, list(indices))


def sample_frames(dataset: VideoDataset, batch: int,
                  generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch of single frames and their labels: a uniform video, then a uniform frame of it.

    Shape:
        frames: ``b c h w``; labels: ``b`` (int64).

    Example:
        >>> from vidgan.data.shapes import SyntheticShapes
        >>> data = SyntheticShapes(num_videos=4, image_size=16)
        >>> sample_frames(data, 5, torch.Generator())[0].shape
        torch.Size([5, 3, 16, 16])
    """
    _check_positive(batch=batch)
    def pick(i: int) -> list[int]:
        return [_randint(dataset.num_frames(i), generator)]

    frames, indices = zip(*(_read(dataset, i, pick, generator) for i in _videos(dataset, batch, generator)))
    return rearrange(torch.stack(frames), "b c 1 h w -> b c h w"), _labels(dataset, list(indices))
