"""What the data sets stored as ``root/<class>/<video>`` share: indexing, labels, decoding to clips.

Each of ``frame-strips``, ``video-files`` and ``frame-folders`` keeps its videos in one
sub-folder per class (sorted by name, labels 0..k-1; one folder for unlabelled data) and
differs only in what a video is and how its frames are counted and decoded. The
subclass says that (:meth:`FolderDataset.is_video`, :meth:`FolderDataset.count_frames`,
:meth:`FolderDataset.decode`); this class does the rest, the same way for all three:

- indexing counts frames without decoding pixels where the format allows; entries that
  are not videos are ignored, unreadable ones and videos shorter than ``min_frames``
  skipped, each kind counted in one warning that names an example;
- frames come out ``c t h w`` float32 in [-1, 1]: centre-cropped to a square when the
  video is not square, then resized (bilinear, antialiased) to ``image_size``;
- a file that fails to decode later raises :class:`~vidgan.data.base.UnreadableVideo`,
  which the samplers skip with a warning naming it.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from einops import rearrange
from PIL import Image, UnidentifiedImageError
from torch.nn import functional as F

from vidgan.data.base import UnreadableVideo, VideoDataset
from vidgan.errors import VidganError

log = logging.getLogger("vidgan")

# What PIL raises for a damaged or foreign image file.
IMAGE_ERRORS = (OSError, UnidentifiedImageError, SyntaxError, ValueError)


def count(n: int, word: str) -> str:
    """``"1 file"``, ``"2 files"``."""
    return f"{n} {word}" + ("" if n == 1 else "s")


def read_image(path: Path, channels: int, name: str) -> np.ndarray:
    """An image file as ``h w c`` uint8 with ``c = channels`` (an alpha channel is dropped).

    A damaged file raises :class:`UnreadableVideo` naming it, with ``name`` (the data
    set) in front.
    """
    try:
        with Image.open(path) as image:
            pixels = np.asarray(image.convert("L" if channels == 1 else "RGB"))
    except IMAGE_ERRORS as err:
        raise UnreadableVideo(f"{name}: cannot read '{path}' ({type(err).__name__}: {err}); "
                              f"replace or remove the file") from err
    return pixels.reshape(*pixels.shape[:2], channels)


def to_clip(frames: np.ndarray, image_size: int) -> torch.Tensor:
    """uint8 frames to a clip in [-1, 1]: centre-cropped to a square, resized to ``image_size``.

    Shape:
        ``t h w c`` uint8 -> ``c t image_size image_size`` float32.

    Example:
        >>> to_clip(np.zeros((2, 6, 8, 3), np.uint8), 4).shape
        torch.Size([3, 2, 4, 4])
    """
    height, width = frames.shape[1:3]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    frames = frames[:, top: top + side, left: left + side]
    video = rearrange(frames, "t h w c -> t c h w").astype(np.float32)  # converted in numpy: 1 thread
    video = torch.from_numpy(video / 127.5 - 1)
    if side != image_size:
        video = F.interpolate(video, size=(image_size, image_size), mode="bilinear", antialias=True,
                              align_corners=False).clamp_(-1, 1)
    return rearrange(video, "t c h w -> c t h w")


class FolderDataset(VideoDataset):
    """Base of the data sets stored as ``root/<class>/<video>``; see the module doc.

    A subclass sets the class attributes that word its messages and implements
    :meth:`is_video`, :meth:`count_frames` and :meth:`decode`.

    Args:
        root: the folder of class folders (``data.root``).
        image_size: frames are resized (bilinear, antialiased) to this height and width.
        channels: 3 for RGB, 1 for grayscale.
        min_frames: the fewest frames a video needs to be used.

    Attributes:
        classes: the class folder names, in label order.
        videos: ``(path, num_frames, label)`` for each usable video.

    Shape:
        frames: ``c t h w`` float32 in ``[-1, 1]`` with ``h = w = image_size``.
    """

    name = ""  # the registered name, at the start of messages
    layout = ""  # "folder of class folders of ...", what data.root must be
    example = ""  # "root/<class>/<video>.png", one video's path
    videos_word = ""  # "frame strips": the videos, in "put the ... in root/<class>/"
    video_word = ""  # "strip": one video, in "all 2 strips are shorter"
    readable_word = ""  # "png/jpg/jpeg strip": in "no readable ... in its class folders"
    accepted = ""  # "png/jpg/jpeg images": in "ignored 3 files that are not ..."
    unreadable_word = ""  # "image": in "skipped 1 image that could not be read"
    probe_errors: tuple[type[BaseException], ...] = IMAGE_ERRORS  # count_frames' errors for a bad file

    def __init__(self, root: str | Path | None = None, image_size: int = 64, channels: int = 3,
                 min_frames: int = 31):
        if root is None:
            raise VidganError(f"{self.name} needs data.root: the path of a {self.layout}")
        if channels not in (1, 3):
            raise VidganError(f"{self.name}: data.channels must be 1 or 3, got {channels}")
        if image_size < 1:
            raise VidganError(f"{self.name}: data.image_size must be positive, got {image_size}")
        self.root = Path(root).expanduser()
        self.image_size = image_size
        self.channels = channels
        self.min_frames = min_frames
        self.classes, self.videos = self._index()
        self.num_classes = len(self.classes)

    # what a subclass says ---------------------------------------------------------
    def is_video(self, entry: os.DirEntry) -> bool:
        """Whether a (non-hidden) entry of a class folder is a video of this format."""
        raise NotImplementedError

    def count_frames(self, path: Path) -> int:
        """The frame count of a video, cheaply; raises one of ``probe_errors`` when unreadable."""
        raise NotImplementedError

    def decode(self, path: Path, num_frames: int, wanted: np.ndarray) -> np.ndarray:
        """Frames ``wanted`` (in range, in that order, repeats allowed) as ``t h w c`` uint8
        with ``c = channels``; raises :class:`UnreadableVideo` naming the file when it fails."""
        raise NotImplementedError

    # indexing -------------------------------------------------------------------
    def _index(self) -> tuple[list[str], list[tuple[Path, int, int]]]:
        root = self.root
        if not root.exists():
            raise VidganError(f"data.root '{root}' does not exist; point data.root at a {self.layout}")
        if not root.is_dir():
            raise VidganError(f"data.root '{root}' is a file, not a folder; point data.root at a {self.layout}")
        folders = sorted(e.name for e in os.scandir(root) if e.is_dir() and not e.name.startswith("."))
        if not folders:
            raise VidganError(
                f"data.root '{root}' has no class folders; put each class's {self.videos_word} in "
                f"a sub-folder, {self.example} (one folder for unlabelled data)"
            )
        videos, ignored, unreadable, short, found = [], [], [], 0, 0
        for label, folder in enumerate(folders):
            for entry in sorted(os.scandir(root / folder), key=lambda e: e.name):
                if entry.name.startswith("."):
                    continue
                path = Path(entry.path)
                if not self.is_video(entry):
                    ignored.append(path)
                    continue
                try:
                    n = self.count_frames(path)
                except self.probe_errors:
                    unreadable.append(path)
                    continue
                found += 1
                if n < self.min_frames:
                    short += 1
                else:
                    videos.append((path, n, label))
        if ignored:
            log.warning("%s: ignored %s that are not %s (e.g. '%s')",
                        self.name, count(len(ignored), "file"), self.accepted, ignored[0])
        if unreadable:
            log.warning("%s: skipped %s that could not be read (e.g. '%s')",
                        self.name, count(len(unreadable), self.unreadable_word), unreadable[0])
        if short:
            log.warning("%s: skipped %d of %d videos shorter than %d frames",
                        self.name, short, found, self.min_frames)
        if not videos:
            reason = (f"all {count(found, self.video_word)} are shorter than {self.min_frames} frames; "
                      f"add longer videos or lower data.video_length or data.every_nth"
                      if found else
                      f"no readable {self.readable_word} in its {count(len(folders), 'class folder')}; "
                      f"put the {self.videos_word} in root/<class>/")
            raise VidganError(f"data.root '{root}' has no usable video: {reason}")
        used = {label for _, _, label in videos}
        empty = [f for label, f in enumerate(folders) if label not in used]
        if empty:
            log.warning("%s: class folders with no usable video keep their labels: %s",
                        self.name, ", ".join(empty))
        return folders, videos

    # the VideoDataset interface ---------------------------------------------------
    def __len__(self) -> int:
        return len(self.videos)

    def num_frames(self, index: int) -> int:
        return self.videos[index][1]

    def label(self, index: int) -> int:
        return self.videos[index][2]

    def frames(self, index: int, frame_indices: Sequence[int]) -> torch.Tensor:
        path, n, _ = self.videos[index]
        wanted = np.asarray(list(frame_indices), dtype=np.int64)
        if len(wanted) and (wanted.min() < 0 or wanted.max() >= n):
            raise IndexError(f"frame indices must lie in 0..{n - 1} for '{path}'")
        return to_clip(self.decode(path, n, wanted), self.image_size)
