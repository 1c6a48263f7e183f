"""Folders of video files (mp4, avi, gif, webm, mov, mkv), decoded with PyAV.

``root/<class>/<video>.mp4``: one sub-folder per class (sorted by name, labels 0..k-1),
one file per video. Indexing opens each file's header for its frame count (counting
packets, without decoding, when the header does not say). A clip is decoded from the key
frame before it (:mod:`vidgan.data.decoding`), not from the start of the file, so its
cost does not grow with its position; frames come out of the decoder already
centre-cropped to a square and resized. A video with a variable frame rate gives its
frames in order, with a warning naming it.

Decoded frames are kept, at the training size, in a cache of at most ``cache_mb``
megabytes (least recently used first out): a clip read again, or a clip near one read
before, costs no decoding. The cache holds, for each stretch between two key frames, the
frames decoded from its key frame on: the whole stretch when every video fits in the
cache (each stretch is then decoded once), else up to the last frame asked for.

A file that cannot be opened is skipped at indexing, one that fails to decode later is
skipped by the samplers; both with a warning naming it. For training speed, prepare the
folder once with ``vidgan prepare`` (:mod:`vidgan.data.prepare`).

PyAV is an optional dependency: ``pip install 'vidgan[video]'`` (or ``pip install av``).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from vidgan.data import decoding
from vidgan.data.base import UnreadableVideo
from vidgan.data.decoding import SUFFIXES, PacketIndex
from vidgan.data.folders import FolderDataset
from vidgan.registry import DATASETS

log = logging.getLogger("vidgan")

__all__ = ["SUFFIXES", "VideoFiles"]


@DATASETS.register("video-files")
class VideoFiles(FolderDataset):
    """Videos stored as video files in class folders; see the module doc.

    Args:
        root: the folder of class folders (``data.root``).
        image_size: frames are centre-cropped to a square and resized to this size.
        channels: 3 for RGB, 1 for grayscale.
        min_frames: the fewest frames a video needs to be used.
        cache_mb: megabytes of decoded frames kept for reuse; 0 keeps none.

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
                 min_frames: int = 31, cache_mb: int = 1024):
        self.probe_errors = decoding.errors()
        self.cache_bytes = max(cache_mb, 0) * 2 ** 20
        self.cache: OrderedDict[tuple[Path, int], np.ndarray] = OrderedDict()  # (video, key frame) -> frames
        self.indexes: dict[Path, PacketIndex | None] = {}
        self.lock = threading.Lock()  # the prefetch thread and the step may both read
        super().__init__(root, image_size, channels, min_frames)
        frame_bytes = image_size * image_size * channels
        self.whole_stretches = 0 < sum(n for _, n, _ in self.videos) * frame_bytes <= self.cache_bytes

    def is_video(self, entry: os.DirEntry) -> bool:
        return entry.is_file() and Path(entry.name).suffix.lower() in SUFFIXES

    def count_frames(self, path: Path) -> int:
        with decoding.av().open(str(path)) as container:
            stream = container.streams.video[0]  # IndexError: no video stream
            if stream.frames > 0:
                return stream.frames
            return sum(1 for packet in container.demux(stream) if packet.size)

    def decode(self, path: Path, num_frames: int, wanted: np.ndarray) -> np.ndarray:
        needed = sorted(set(wanted.tolist()) or {0})  # nothing wanted: frame 0 gives the size
        with self.lock:
            try:
                frames = self._frames(path, needed)
            except self.probe_errors as err:
                raise UnreadableVideo(f"video-files: cannot read '{path}' ({type(err).__name__}: {err}); "
                                      f"replace or remove the file") from err
        if len(frames) < len(needed):
            raise UnreadableVideo(f"video-files: '{path}' decodes to fewer frames than the {num_frames} "
                                  f"its header says; replace or remove the file")
        return np.stack([frames[k] for k in wanted] if len(wanted) else [frames[0]])[: len(wanted)]

    def _packets(self, path: Path) -> PacketIndex | None:
        if path not in self.indexes:
            self.indexes[path] = index = decoding.index_packets(path)
            rate = decoding.variable_rate(index)
            if rate:
                log.warning("video-files: '%s' has a variable frame rate (%s); its frames are used in order, "
                            "one per decoded frame, not resampled to a fixed rate", path, rate)
        return self.indexes[path]

    def _frames(self, path: Path, needed: list[int]) -> dict[int, np.ndarray]:
        """Frames ``needed`` (ascending) from the cache, decoding from the key frame before the first
        one it lacks to the last needed frame (to the end of that frame's stretch when
        ``whole_stretches``)."""
        index = self._packets(path)
        key_of = index.key_before if index is not None else (lambda k: 0)
        found, missing = {}, []
        for k in needed:
            cached = self.cache.get((path, key_of(k)))
            if cached is not None and k - key_of(k) < len(cached):
                self.cache.move_to_end((path, key_of(k)))
                found[k] = cached[k - key_of(k)]
            else:
                missing.append(k)
        if not missing:
            return found
        first, last, keep = missing[0], needed[-1], set(missing)
        if self.cache_bytes:
            first, keep = key_of(first), None
        if self.whole_stretches:
            last = index.last_before_key(last) if index is not None else sys.maxsize
        decoded = dict(decoding.decode_frames(path, self.image_size, self.channels, index, first, last, keep))
        self._remember(path, key_of, decoded)
        return found | {k: decoded[k] for k in missing if k in decoded}

    def _remember(self, path: Path, key_of, decoded: dict[int, np.ndarray]) -> None:
        """Cache each stretch decoded from its key frame on, then drop the least recently used
        stretches beyond ``cache_bytes``."""
        if not self.cache_bytes:
            return
        stretches: dict[int, list[int]] = {}
        for k in sorted(decoded):
            stretches.setdefault(key_of(k), []).append(k)
        for key, ks in stretches.items():
            old = self.cache.get((path, key))
            if ks[0] == key and ks == list(range(key, key + len(ks))) and (old is None or len(old) < len(ks)):
                self.cache[(path, key)] = np.stack([decoded[k] for k in ks])
                self.cache.move_to_end((path, key))
        used = sum(frames.nbytes for frames in self.cache.values())
        while used > self.cache_bytes and self.cache:
            used -= self.cache.popitem(last=False)[1].nbytes
