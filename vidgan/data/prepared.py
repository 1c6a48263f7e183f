"""Prepared videos: what ``vidgan prepare`` writes, read back as a memory-mapped array per video.

``root/<class>/<video file>.npy``: one sub-folder per class (sorted by name, labels
0..k-1), one uint8 array ``t h w c`` per video, its frames already centre-cropped to a
square and resized (``h = w``, the ``--size`` it was prepared at), and
``root/vidgan-prepared.json``, the summary of the run that wrote them. An array is mapped
into memory, never read whole: a clip costs a copy of its frames, no decoding. Frames
are resized again only when ``data.image_size`` is smaller than the prepared size; a
larger one is an error, as is a channel count the arrays do not have.

Files are written under a hidden temporary name and renamed when complete, so every
``.npy`` file here is a whole video; hidden files are ignored.

Example:
    >>> data = PreparedVideos("~/videos-64", image_size=64)  # doctest: +SKIP
    >>> data.frames(0, range(0, 32, 2)).shape  # doctest: +SKIP
    torch.Size([3, 16, 64, 64])
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from vidgan.data.folders import FolderDataset
from vidgan.errors import VidganError
from vidgan.registry import DATASETS

SUFFIX = ".npy"
SUMMARY = "vidgan-prepared.json"


def open_frames(path: Path) -> np.ndarray:
    """A prepared video's ``t h w c`` uint8 frames, memory-mapped; raises ValueError or
    OSError for a file that is not one."""
    frames = np.load(path, mmap_mode="r", allow_pickle=False)
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[1] != frames.shape[2] \
            or frames.shape[3] not in (1, 3) or not len(frames):
        raise ValueError(f"not a prepared video: {frames.dtype} array of shape {frames.shape}")
    return frames


@DATASETS.register("prepared-videos")
class PreparedVideos(FolderDataset):
    """Videos written by ``vidgan prepare``; see the module doc.

    Args:
        root: the folder ``vidgan prepare`` wrote (``data.root``).
        image_size: frames are resized to this size when it is below the prepared size.
        channels: 3 for RGB, 1 for grayscale; the files must have been prepared so.
        min_frames: the fewest frames a video needs to be used.

    Shape:
        frames: ``c t h w`` float32 in ``[-1, 1]`` with ``h = w = image_size``.
    """

    name = "prepared-videos"
    layout = "folder written by vidgan prepare"
    example = "root/<class>/<video>.mp4.npy"
    videos_word = "prepared videos"
    video_word = "video"
    readable_word = "prepared video (.npy)"
    accepted = "videos written by vidgan prepare (.npy)"
    unreadable_word = "prepared video"
    probe_errors = (OSError, ValueError, EOFError)

    def __init__(self, root: str | Path | None = None, image_size: int = 64, channels: int = 3,
                 min_frames: int = 31):
        self.arrays: dict[Path, np.ndarray] = {}
        super().__init__(root, image_size, channels, min_frames)

    def is_video(self, entry: os.DirEntry) -> bool:
        return entry.is_file() and entry.name.endswith(SUFFIX)

    def count_frames(self, path: Path) -> int:
        frames = open_frames(path)
        _, size, _, channels = frames.shape
        if size < self.image_size:
            raise VidganError(f"prepared-videos: '{path}' was prepared at {size}×{size}, smaller than "
                              f"data.image_size={self.image_size}; prepare again with --size "
                              f"{self.image_size} or set data.image_size={size}")
        if channels != self.channels:
            raise VidganError(f"prepared-videos: '{path}' has {channels} channel(s) but data.channels="
                              f"{self.channels}; prepare again with --channels {self.channels} or set "
                              f"data.channels={channels}")
        self.arrays[path] = frames
        return len(frames)

    def decode(self, path: Path, num_frames: int, wanted: np.ndarray) -> np.ndarray:
        return np.asarray(self.arrays[path][wanted])
