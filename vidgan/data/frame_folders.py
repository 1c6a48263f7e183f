"""Folders of frame images: one sub-folder of numbered PNG/JPEG frames per video.

``root/<class>/<video>/<frame>.png``: one sub-folder per class (sorted by name, labels
0..k-1), one folder per video holding its frames, in natural order of their names
(``2.png`` before ``10.png``). Indexing lists the folders and reads no pixels; frames are
decoded when asked for, centre-cropped to a square and resized. A video folder without
frames is skipped at indexing; a frame that fails to decode later makes the samplers skip
its video; both with a warning naming it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from vidgan.data.base import UnreadableVideo
from vidgan.data.folders import FolderDataset, read_image
from vidgan.registry import DATASETS

SUFFIXES = (".png", ".jpg", ".jpeg")


def natural_key(name: str) -> list:
    """Sort key that orders digit runs by value: ``"f2.png"`` before ``"f10.png"``.

    Example:
        >>> sorted(["f10.png", "f2.png", "f1.png"], key=natural_key)
        ['f1.png', 'f2.png', 'f10.png']
    """
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


@DATASETS.register("frame-folders")
class FrameFolders(FolderDataset):
    """Videos stored as folders of frame images in class folders; see the module doc.

    Args:
        root: the folder of class folders (``data.root``).
        image_size: frames are centre-cropped to a square and resized to this size.
        channels: 3 for RGB, 1 for grayscale.
        min_frames: the fewest frames a video needs to be used.

    Shape:
        frames: ``c t h w`` float32 in ``[-1, 1]`` with ``h = w = image_size``.

    Example:
        >>> data = FrameFolders("~/frames-by-class", image_size=64)  # doctest: +SKIP
        >>> data.frames(0, [0, 1]).shape  # doctest: +SKIP
        torch.Size([3, 2, 64, 64])
    """

    name = "frame-folders"
    layout = "folder of class folders of frame folders (one image per frame)"
    example = "root/<class>/<video>/0001.png"
    videos_word = "frame folders"
    video_word = "frame folder"
    readable_word = "frame folder with png/jpg/jpeg frames"
    accepted = "folders of frame images"
    unreadable_word = "frame folder"
    probe_errors = (OSError, ValueError)

    def __init__(self, root: str | Path | None = None, image_size: int = 64, channels: int = 3,
                 min_frames: int = 31):
        self.files: dict[Path, list[Path]] = {}  # each video's frame files, in order
        super().__init__(root, image_size, channels, min_frames)

    def is_video(self, entry: os.DirEntry) -> bool:
        return entry.is_dir()

    def count_frames(self, path: Path) -> int:
        names = [e.name for e in os.scandir(path) if e.is_file() and not e.name.startswith(".")
                 and Path(e.name).suffix.lower() in SUFFIXES]
        if not names:
            raise ValueError(f"no png/jpg/jpeg frames in {path}")
        self.files[path] = [path / name for name in sorted(names, key=natural_key)]
        return len(names)

    def decode(self, path: Path, num_frames: int, wanted: np.ndarray) -> np.ndarray:
        files = self.files[path]
        images = {k: read_image(files[k], self.channels, self.name) for k in set(wanted.tolist()) or {0}}
        if len({image.shape for image in images.values()}) > 1:
            raise UnreadableVideo(f"frame-folders: the frames of '{path}' differ in size; "
                                  f"resize them to one size")
        frames = np.stack([images[k] for k in wanted] if len(wanted) else list(images.values()))
        return frames[: len(wanted)]
