"""Folders of frame strips: the original MoCoGAN data format, read as it is.

``root/<class>/<video>.png``: one sub-folder per class (sorted by name, labels 0..k-1),
one image per video, its frames side by side, left to right or top to bottom. Frames are
square: the frame count is the long side // the short side (a remainder is ignored).
PNG and JPEG files are read; anything else is ignored and counted in a warning.

Indexing reads only image headers; a video's pixels are decoded when its frames are asked
for. As in the original, an alpha channel is dropped (PIL's ``convert``), not composited.
"""

from __future__ import annotations

import logging
import os
import struct
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from einops import rearrange
from PIL import Image, UnidentifiedImageError
from torch.nn import functional as F

from vidgan.data.base import VideoDataset
from vidgan.errors import VidganError
from vidgan.registry import DATASETS

log = logging.getLogger("vidgan")

SUFFIXES = (".png", ".jpg", ".jpeg")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
LAYOUT = "folder of class folders of frame strips"


def _image_size(path: Path) -> tuple[int, int]:
    """Width and height from the file's header: PNG's IHDR read directly, others by PIL."""
    with open(path, "rb") as file:
        head = file.read(24)
    if head[:8] == PNG_SIGNATURE and head[12:16] == b"IHDR":
        width, height = struct.unpack(">II", head[16:24])
    else:
        with Image.open(path) as image:  # lazy: reads the header only
            width, height = image.size
    if min(width, height) < 1:
        raise ValueError(f"empty image {width}x{height}")
    return width, height


def _count(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


@DATASETS.register("frame-strips")
class FrameStrips(VideoDataset):
    """Videos stored as image strips in class folders; see the module doc for the layout.

    Videos shorter than ``min_frames`` are skipped (and counted in a warning). Class
    folders keep their label even when none of their videos is usable.

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

    Example:
        >>> data = FrameStrips("../shared/data/mocogan-shapes")  # doctest: +SKIP
        >>> len(data), data.classes, data.frames(0, [0, 2]).shape  # doctest: +SKIP
        (8000, ['0', '1'], torch.Size([3, 2, 64, 64]))
    """

    def __init__(self, root: str | Path | None = None, image_size: int = 64, channels: int = 3,
                 min_frames: int = 31):
        if root is None:
            raise VidganError(f"frame-strips needs data.root: the path of a {LAYOUT}")
        if channels not in (1, 3):
            raise VidganError(f"frame-strips: data.channels must be 1 or 3, got {channels}")
        if image_size < 1:
            raise VidganError(f"frame-strips: data.image_size must be positive, got {image_size}")
        self.root = Path(root).expanduser()
        self.image_size = image_size
        self.channels = channels
        self.min_frames = min_frames
        self.classes, self.videos = self._index()
        self.num_classes = len(self.classes)

    # indexing -------------------------------------------------------------------
    def _index(self) -> tuple[list[str], list[tuple[Path, int, int]]]:
        root = self.root
        if not root.exists():
            raise VidganError(f"data.root '{root}' does not exist; point data.root at a {LAYOUT}")
        if not root.is_dir():
            raise VidganError(f"data.root '{root}' is a file, not a folder; point data.root at a {LAYOUT}")
        folders = sorted(e.name for e in os.scandir(root) if e.is_dir() and not e.name.startswith("."))
        if not folders:
            raise VidganError(
                f"data.root '{root}' has no class folders; put each class's frame strips in "
                f"a sub-folder, root/<class>/<video>.png (one folder for unlabelled data)"
            )
        videos, ignored, unreadable, short, strips = [], [], [], 0, 0
        for label, folder in enumerate(folders):
            for entry in sorted(os.scandir(root / folder), key=lambda e: e.name):
                if entry.name.startswith("."):
                    continue
                path = Path(entry.path)
                if not (entry.is_file() and path.suffix.lower() in SUFFIXES):
                    ignored.append(path)
                    continue
                try:
                    width, height = _image_size(path)
                except (OSError, UnidentifiedImageError, SyntaxError, ValueError):
                    unreadable.append(path)
                    continue
                strips += 1
                n = max(width, height) // min(width, height)
                if n < self.min_frames:
                    short += 1
                else:
                    videos.append((path, n, label))
        if ignored:
            log.warning("frame-strips: ignored %s that are not png/jpg/jpeg images (e.g. '%s')",
                        _count(len(ignored), "file"), ignored[0])
        if unreadable:
            log.warning("frame-strips: skipped %s that could not be read (e.g. '%s')",
                        _count(len(unreadable), "image"), unreadable[0])
        if short:
            log.warning("frame-strips: skipped %d of %d videos shorter than %d frames",
                        short, strips, self.min_frames)
        if not videos:
            found = (f"all {_count(strips, 'strip')} are shorter than {self.min_frames} frames; "
                     f"add longer videos or lower data.video_length or data.every_nth"
                     if strips else
                     f"no readable png/jpg/jpeg strip in its {_count(len(folders), 'class folder')}; "
                     f"put the frame strips in root/<class>/")
            raise VidganError(f"data.root '{root}' has no usable video: {found}")
        used = {label for _, _, label in videos}
        empty = [f for label, f in enumerate(folders) if label not in used]
        if empty:
            log.warning("frame-strips: class folders with no usable video keep their labels: %s",
                        ", ".join(empty))
        return folders, videos

    # the VideoDataset interface ---------------------------------------------------
    def __len__(self) -> int:
        return len(self.videos)

    def num_frames(self, index: int) -> int:
        return self.videos[index][1]

    def label(self, index: int) -> int:
        return self.videos[index][2]

    def _decode(self, path: Path) -> np.ndarray:
        """The strip as ``h w c`` uint8, in the dataset's channel count."""
        try:
            with Image.open(path) as image:
                pixels = np.asarray(image.convert("L" if self.channels == 1 else "RGB"))
        except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as err:
            raise VidganError(
                f"frame-strips: cannot read '{path}' ({type(err).__name__}: {err}); "
                f"replace or remove the file"
            ) from err
        return pixels.reshape(*pixels.shape[:2], self.channels)

    def frames(self, index: int, frame_indices: Sequence[int]) -> torch.Tensor:
        path, n, _ = self.videos[index]
        wanted = np.asarray(frame_indices, dtype=np.int64)
        if wanted.size and (wanted.min() < 0 or wanted.max() >= n):
            raise IndexError(f"frame indices must lie in 0..{n - 1} for '{path}'")
        pixels = self._decode(path)
        height, width = pixels.shape[:2]
        side = min(height, width)
        if max(height, width) // side < n:
            raise VidganError(f"frame-strips: '{path}' changed since indexing; restart to re-index")
        pattern = "h (t w) c -> t c h w" if width >= height else "(t h) w c -> t c h w"
        video = rearrange(pixels[: n * side, : n * side], pattern, t=n)  # drops a remainder
        video = video[wanted].astype(np.float32)  # converted in numpy: cheap, one thread
        video = torch.from_numpy(video / 127.5 - 1)
        if side != self.image_size:
            size = (self.image_size, self.image_size)
            video = F.interpolate(video, size=size, mode="bilinear", antialias=True,
                                  align_corners=False).clamp_(-1, 1)
        return rearrange(video, "t c h w -> c t h w")
