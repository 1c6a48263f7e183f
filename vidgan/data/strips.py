"""Folders of frame strips: the original MoCoGAN data format, read as it is.

``root/<class>/<video>.png``: one sub-folder per class (sorted by name, labels 0..k-1),
one image per video, its frames side by side, left to right or top to bottom. Frames are
square: the frame count is the long side // the short side (a remainder is ignored).
PNG and JPEG files are read; anything else is ignored and counted in a warning.

Indexing reads only image headers; a video's pixels are decoded when its frames are asked
for, and the decoded strips are kept, up to ``cache_mb`` megabytes, least recently used
first out: every clip needs its whole strip decoded, and a small data set (a few dozen
videos) then decodes each strip once instead of at every step. As in the original, an
alpha channel is dropped (PIL's ``convert``), not composited.
"""

from __future__ import annotations

import os
import struct
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np
from einops import rearrange
from PIL import Image

from vidgan.data.base import UnreadableVideo
from vidgan.errors import VidganError
from vidgan.data.folders import FolderDataset, read_image
from vidgan.registry import DATASETS

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


@DATASETS.register("frame-strips")
class FrameStrips(FolderDataset):
    """Videos stored as image strips in class folders; see the module doc for the layout.

    Videos shorter than ``min_frames`` are skipped (and counted in a warning). Class
    folders keep their label even when none of their videos is usable.

    Args:
        root: the folder of class folders (``data.root``).
        image_size: frames are resized (bilinear, antialiased) to this height and width.
        channels: 3 for RGB, 1 for grayscale.
        min_frames: the fewest frames a video needs to be used.
        cache_mb: decoded strips kept in memory, in megabytes (0: none).

    Attributes:
        classes: the class folder names, in label order.
        videos: ``(path, num_frames, label)`` for each usable video.

    Shape:
        frames: ``c t h w`` float32 in ``[-1, 1]`` with ``h = w = image_size``.

    Example:
        >>> data = FrameStrips("data/mocogan-shapes")  # the authors' shape-motion strips  # doctest: +SKIP
        >>> len(data), data.classes, data.frames(0, [0, 2]).shape  # doctest: +SKIP
        (8000, ['0', '1'], torch.Size([3, 2, 64, 64]))
    """

    name = "frame-strips"
    layout = LAYOUT
    example = "root/<class>/<video>.png"
    videos_word = "frame strips"
    video_word = "strip"
    readable_word = "png/jpg/jpeg strip"
    accepted = "png/jpg/jpeg images"
    unreadable_word = "image"

    def __init__(self, root: str | Path | None = None, image_size: int = 64, channels: int = 3,
                 min_frames: int = 31, cache_mb: int = 512):
        if cache_mb < 0:
            raise VidganError(f"frame-strips: data.options.cache_mb must be 0 (no cache) or more, got {cache_mb}")
        super().__init__(root, image_size, channels, min_frames)
        self.cache_bytes = cache_mb << 20
        self._cache: OrderedDict[Path, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()  # the prefetch thread reads too

    def strip(self, path: Path) -> np.ndarray:
        """The decoded strip ``h w c`` uint8, from the cache when it is there."""
        with self._cache_lock:
            if path in self._cache:
                self._cache.move_to_end(path)
                return self._cache[path]
        pixels = read_image(path, self.channels, self.name)
        if pixels.nbytes <= self.cache_bytes:
            with self._cache_lock:
                self._cache[path] = pixels
                while sum(p.nbytes for p in self._cache.values()) > self.cache_bytes:
                    self._cache.popitem(last=False)
        return pixels

    def is_video(self, entry: os.DirEntry) -> bool:
        return entry.is_file() and Path(entry.name).suffix.lower() in SUFFIXES

    def count_frames(self, path: Path) -> int:
        width, height = _image_size(path)
        return max(width, height) // min(width, height)

    def decode(self, path: Path, num_frames: int, wanted: np.ndarray) -> np.ndarray:
        pixels = self.strip(path)
        height, width = pixels.shape[:2]
        side = min(height, width)
        if max(height, width) // side < num_frames:
            raise UnreadableVideo(f"frame-strips: '{path}' changed since indexing; restart to re-index")
        pattern = "h (t w) c -> t h w c" if width >= height else "(t h) w c -> t h w c"
        video = rearrange(pixels[: num_frames * side, : num_frames * side], pattern, t=num_frames)  # drops a remainder
        return video[wanted]
