"""Synthetic shape-motion videos, generated on the fly (no files).

Like the shape-motion data of the MoCoGAN paper: one coloured shape (circle, square or
triangle; colour and size fixed over the video) on a black background, moving smoothly and
periodically in a way that depends on the class:

=====  ==========================
class  motion
=====  ==========================
0      horizontal, back and forth
1      vertical, back and forth
2      diagonal, back and forth
3      circular
=====  ==========================

Video ``i`` has class ``i % num_classes``; everything else about it is drawn from a
generator seeded with ``(seed, i)``, so a video is the same in every process and run, and
only the frames asked for are rendered.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from vidgan.data.base import VideoDataset
from vidgan.errors import VidganError
from vidgan.registry import DATASETS

SHAPES = ("circle", "square", "triangle")
MOTIONS = ("horizontal", "vertical", "diagonal", "circular")

# Frames per cycle of motion: at least one cycle in 32 frames, at most ~7 px per frame at 64 px.
PERIOD = (20.0, 32.0)
# Every shape fits in a box of half-side EXTENT * radius around its centre.
EXTENT = 1.3


@dataclass
class _Video:
    """The random draws that define one video; lengths in pixels."""

    shape: str
    motion: str
    colour: np.ndarray  # c, in [0, 1]
    radius: float
    centre: np.ndarray  # (x, y) at rest
    amplitude: np.ndarray  # (x, y) swing
    period: float  # frames per cycle
    phase: float
    sign: float  # diagonal direction or sense of rotation


def _signed_distance(shape: str, dx: np.ndarray, dy: np.ndarray, r: float) -> np.ndarray:
    """Distance in pixels outside the shape (negative inside), for offsets from its centre."""
    if shape == "circle":
        return np.hypot(dx, dy) - r
    if shape == "square":  # half-side 0.9 r: corners at 1.27 r, box within EXTENT * r
        return np.maximum(np.abs(dx), np.abs(dy)) - 0.9 * r
    # equilateral triangle pointing up (y grows downwards), circumradius EXTENT * r
    inradius = EXTENT * r / 2
    sides = np.maximum(dy, np.maximum(0.866 * dx - 0.5 * dy, -0.866 * dx - 0.5 * dy))
    return sides - inradius


@DATASETS.register("synthetic-shapes")
class SyntheticShapes(VideoDataset):
    """Shape-motion videos with ``num_classes`` (1 to 4) motion classes; see the module doc.

    Args:
        image_size: frame height and width in pixels (at least 8).
        channels: 3 for colour, 1 for grayscale.
        min_frames: the fewest frames a clip needs; ``num_frames`` must reach it.
        num_videos: how many distinct videos.
        num_frames: frames per video.
        num_classes: motion classes, in the order of the table above.
        seed: picks the set of videos.

    Shape:
        frames: ``c t h w`` float32 in ``[-1, 1]``; background -1.

    Example:
        >>> data = SyntheticShapes(image_size=32, channels=1, num_classes=4)
        >>> data.frames(3, range(0, 32, 2)).shape, data.label(3)
        (torch.Size([1, 16, 32, 32]), 3)
    """

    def __init__(self, image_size: int = 64, channels: int = 3, min_frames: int = 31,
                 num_videos: int = 2000, num_frames: int = 32, num_classes: int = 2,
                 seed: int = 0):
        checks = [
            (image_size >= 8, "data.image_size", f"must be at least 8, got {image_size}"),
            (channels in (1, 3), "data.channels", f"must be 1 or 3, got {channels}"),
            (1 <= num_classes <= len(MOTIONS), "data.options.num_classes",
             f"must be 1 to {len(MOTIONS)} ({', '.join(MOTIONS)}), got {num_classes}"),
            (num_videos >= 1, "data.options.num_videos", f"must be at least 1, got {num_videos}"),
            (num_frames >= min_frames, "data.options.num_frames",
             f"is {num_frames}, fewer than the {min_frames} frames a clip needs "
             f"(data.video_length and data.every_nth); raise data.options.num_frames "
             f"to at least {min_frames}"),
        ]
        for ok, key, message in checks:
            if not ok:
                raise VidganError(f"synthetic-shapes: {key} {message}")
        self.image_size = image_size
        self.channels = channels
        self.num_videos = num_videos
        self._num_frames = num_frames
        self.num_classes = num_classes
        self.seed = seed
        self._grid = np.arange(image_size, dtype=np.float32) + 0.5  # pixel centres

    def __len__(self) -> int:
        return self.num_videos

    def num_frames(self, index: int) -> int:
        return self._num_frames

    def label(self, index: int) -> int:
        return index % self.num_classes

    def _video(self, index: int) -> _Video:
        if not 0 <= index < self.num_videos:
            raise IndexError(f"video {index} out of range 0..{self.num_videos - 1}")
        rng = np.random.default_rng([self.seed, index])
        size = self.image_size
        radius = rng.uniform(0.08, 0.14) * size
        hue, saturation, value = rng.uniform([0, 0.5, 0.6], [1, 1, 1])
        colour = np.array(colorsys.hsv_to_rgb(hue, saturation, value))
        if self.channels == 1:
            colour = colour.max(keepdims=True)  # the HSV value: always bright enough
        # how far the centre may swing from the middle with the shape kept inside; the 1.5 px
        # margin covers the anti-aliasing ramp, which reaches 1 px beyond a triangle's tip
        reach = size / 2 - EXTENT * radius - 1.5
        motion = MOTIONS[self.label(index)]
        swing = rng.uniform(0.6, 1.0) * reach * (0.75 if motion in ("diagonal", "circular") else 1)
        amplitude = np.array({
            "horizontal": (swing, 0.0),
            "vertical": (0.0, swing),
        }.get(motion, (swing, swing)))
        centre = size / 2 + rng.uniform(-1, 1, 2) * (reach - amplitude)
        return _Video(
            shape=SHAPES[rng.integers(len(SHAPES))],
            motion=motion,
            colour=colour.astype(np.float32),
            radius=radius,
            centre=centre,
            amplitude=amplitude,
            period=rng.uniform(*PERIOD),
            phase=rng.uniform(0, 2 * np.pi),
            sign=rng.choice([-1.0, 1.0]),
        )

    def _centres(self, video: _Video, frame_indices: Sequence[int]) -> np.ndarray:
        """The shape's centre ``(x, y)`` in pixels in each frame: ``t 2``."""
        t = np.asarray(frame_indices, dtype=np.float64)
        if t.size and (t.min() < 0 or t.max() >= self._num_frames):
            raise IndexError(f"frame indices must lie in 0..{self._num_frames - 1}")
        angle = video.phase + 2 * np.pi * t / video.period
        if video.motion == "circular":
            offsets = np.stack([np.cos(angle), video.sign * np.sin(angle)], axis=1)
        else:  # back and forth along the amplitude vector (sign flips the diagonal)
            offsets = np.stack([np.sin(angle), video.sign * np.sin(angle)], axis=1)
        return video.centre + offsets * video.amplitude

    def frames(self, index: int, frame_indices: Sequence[int]) -> torch.Tensor:
        video = self._video(index)
        centres = self._centres(video, frame_indices).astype(np.float32)
        dx = self._grid[None, None, :] - centres[:, 0, None, None]  # t 1 w
        dy = self._grid[None, :, None] - centres[:, 1, None, None]  # t h 1
        # anti-aliased coverage: 1 inside, 0 outside, a one-pixel ramp across the edge
        coverage = np.clip(0.5 - _signed_distance(video.shape, dx, dy, video.radius), 0, 1)
        pixels = np.empty((self.channels, *coverage.shape), dtype=np.float32)  # c t h w
        for channel, value in zip(pixels, video.colour):  # in place: far faster than temporaries
            np.multiply(coverage, 2 * value, out=channel)
            channel -= 1
        return torch.from_numpy(pixels)
