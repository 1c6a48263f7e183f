"""Folders of video files (mp4, avi, gif, webm, mov, mkv), decoded with PyAV.

``root/<class>/<video>.mp4``: one sub-folder per class (sorted by name, labels 0..k-1),
one file per video. Indexing opens each file's header for its frame count (counting
packets, without decoding, when the header does not say); a video's frames are decoded
from the start up to the last one asked for. Non-square frames are centre-cropped to a
square before resizing. A file that cannot be opened is skipped at indexing, one that
fails to decode later is skipped by the samplers; both with a warning naming it.

PyAV is an optional dependency: ``pip install 'vidgan[video]'`` (or ``pip install av``).
"""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType

import numpy as np

from vidgan.data.base import UnreadableVideo
from vidgan.data.folders import FolderDataset
from vidgan.errors import VidganError
from vidgan.registry import DATASETS

SUFFIXES = (".mp4", ".avi", ".gif", ".webm", ".mov", ".mkv")


def _av() -> ModuleType:
    try:
        import av
    except ImportError:
        raise VidganError("video-files decodes videos with PyAV, which is not installed: "
                          "pip install 'vidgan[video]' (or pip install av)") from None
    return av


@DATASETS.register("video-files")
class VideoFiles(FolderDataset):
    """Videos stored as video files in class folders; see the module doc.

    Args:
        root: the folder of class folders (``data.root``).
        image_size: frames are centre-cropped to a square and resized to this size.
        channels: 3 for RGB, 1 for grayscale.
        min_frames: the fewest frames a video needs to be used.

    Shape:
        frames: ``c t h w`` float32 in ``[-1, 1]`` with ``h = w = image_size``.

    Example:
        >>> data = VideoFiles("~/ucf101-by-class", image_size=64)  # doctest: +SKIP
        >>> data.frames(0, range(0, 32, 2)).shape  # doctest: +SKIP
        torch.Size([3, 16, 64, 64])
    """

    name = "video-files"
    layout = "folder of class folders of video files"
    example = "root/<class>/<video>.mp4"
    videos_word = "video files"
    video_word = "video"
    readable_word = "video file"
    accepted = "mp4/avi/gif/webm/mov/mkv videos"
    unreadable_word = "video file"

    def __init__(self, root: str | Path | None = None, image_size: int = 64, channels: int = 3,
                 min_frames: int = 31):
        self.av = _av()
        self.probe_errors = (self.av.FFmpegError, OSError, ValueError, IndexError)
        super().__init__(root, image_size, channels, min_frames)

    def is_video(self, entry: os.DirEntry) -> bool:
        return entry.is_file() and Path(entry.name).suffix.lower() in SUFFIXES

    def count_frames(self, path: Path) -> int:
        with self.av.open(str(path)) as container:
            stream = container.streams.video[0]  # IndexError: no video stream
            if stream.frames > 0:
                return stream.frames
            return sum(1 for packet in container.demux(stream) if packet.size)

    def decode(self, path: Path, num_frames: int, wanted: np.ndarray) -> np.ndarray:
        needed = set(wanted.tolist()) or {0}  # nothing wanted: frame 0 gives the size
        last, decoded = max(needed), {}
        try:
            with self.av.open(str(path)) as container:
                for k, frame in enumerate(container.decode(video=0)):
                    if k in needed:
                        decoded[k] = frame.to_ndarray(format="gray" if self.channels == 1 else "rgb24")
                    if k >= last:
                        break
        except self.probe_errors as err:
            raise UnreadableVideo(f"video-files: cannot read '{path}' ({type(err).__name__}: {err}); "
                                  f"replace or remove the file") from err
        if len(decoded) < len(needed):
            raise UnreadableVideo(f"video-files: '{path}' decodes to fewer frames than the {num_frames} "
                                  f"its header says; replace or remove the file")
        frames = np.stack([decoded[k] for k in wanted] if len(wanted) else [decoded[0]])[: len(wanted)]
        return frames.reshape(*frames.shape[:3], self.channels)
