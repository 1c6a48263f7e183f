"""Video files decoded with PyAV into small square frames: what ``video-files`` and ``vidgan prepare`` share.

A frame is decoded, converted to RGB (or gray), centre-cropped to a square and resized
(PIL's antialiased bilinear) to the training size straight away, so a frame never exists
as floats at camera resolution. Codecs that can decode at a reduced size (MPEG-4 part 2,
MJPEG: FFmpeg's ``lowres``) do so when the reduced frame is still at least the training
size; H.264, HEVC and VP9 cannot, and decode at full size.

Frames are numbered in presentation order by the timestamps of the file's packets
(:func:`index_packets`), not by their timing: a video with a variable frame rate gives
its frames in order, one per decoded frame, never resampled to a fixed rate
(:func:`variable_rate` words the warning). The packet index also gives the key frames, so
frames ``a..b`` are decoded from the key frame before ``a`` (:func:`decode_frames`), not
from the start of the file. ``video-files`` and ``vidgan prepare`` decode the same
frame to the same pixels, whichever key frame they start from.

PyAV is an optional dependency: ``pip install 'vidgan[video]'`` (or ``pip install av``).

Example:
    >>> frames = dict(decode_frames("walk/a.mp4", 64, 3, index_packets("walk/a.mp4"), 100, 130))  # doctest: +SKIP
    >>> frames[100].shape  # doctest: +SKIP
    (64, 64, 3)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Container, Iterator

import numpy as np
from PIL import Image

from vidgan.errors import VidganError

SUFFIXES = (".mp4", ".avi", ".gif", ".webm", ".mov", ".mkv")
MAX_LOWRES = 3  # FFmpeg's lowres: 2^-k of the size, k at most 3
VARIABLE = 1.5  # the longest frame interval over the shortest above which a rate is variable


def av() -> ModuleType:
    """PyAV, or a one-line error saying how to install it."""
    try:
        import av as module
    except ImportError:
        raise VidganError("decoding video files needs PyAV, which is not installed: "
                          "pip install 'vidgan[video]' (or pip install av)") from None
    return module


def errors() -> tuple[type[BaseException], ...]:
    """What PyAV raises for a file it cannot open or decode."""
    return av().FFmpegError, OSError, ValueError, IndexError, EOFError


@dataclass(frozen=True)
class PacketIndex:
    """The frames of a video stream as its packets give them, without decoding.

    Attributes:
        pts: the presentation timestamp of each frame, ascending: frame ``k``'s is ``pts[k]``.
        keys: the frame numbers of the key frames, ascending, the first always 0.
        seconds: the stream's time base, seconds per ``pts`` unit.
    """

    pts: np.ndarray
    keys: np.ndarray
    seconds: float

    def key_before(self, frame: int) -> int:
        """The last key frame at or before ``frame``."""
        return int(self.keys[np.searchsorted(self.keys, frame, side="right") - 1])

    def last_before_key(self, frame: int) -> int:
        """The last frame before the first key frame after ``frame`` (the video's last frame when none follows)."""
        later = self.keys[self.keys > frame]
        return int(later[0]) - 1 if len(later) else len(self.pts) - 1

    def frame_of(self, pts: int | None) -> int | None:
        """The frame number of a decoded frame's timestamp, None when the index has no such frame."""
        if pts is None:
            return None
        k = int(np.searchsorted(self.pts, pts))
        return k if k < len(self.pts) and self.pts[k] == pts else None


def open_video(path: str | Path, size: int) -> tuple[Any, Any]:
    """An open container and its first video stream, set to decode on one thread at the
    smallest reduced size (``lowres``) that is still at least ``size``; raises one of
    :func:`errors` for a file that cannot be opened or has no video stream."""
    container = av().open(str(path))
    try:
        stream = container.streams.video[0]
        context = stream.codec_context
        context.thread_count = 1  # the training step keeps the cores; prepare runs one process per core
        side, k = min(context.width, context.height), 0
        while k < MAX_LOWRES and -(-side >> (k + 1)) >= size:
            k += 1
        if k:
            context.options = {"lowres": str(k)}  # a codec without reduced-size decoding ignores it
    except BaseException:
        container.close()
        raise
    return container, stream


def index_packets(path: str | Path) -> PacketIndex | None:
    """The packet index of a video file, None when its packets carry no timestamps (the
    frames can then only be counted by decoding from the start); demuxes without decoding."""
    with av().open(str(path)) as container:
        stream = container.streams.video[0]
        packets = [(p.pts, p.is_keyframe) for p in container.demux(stream) if p.size]
        seconds = float(stream.time_base) if stream.time_base else 0.0
    if not packets or any(pts is None for pts, _ in packets):
        return None
    order = np.argsort([pts for pts, _ in packets], kind="stable")
    pts = np.asarray([packets[i][0] for i in order], dtype=np.int64)
    keys = np.flatnonzero([packets[i][1] for i in order])
    return PacketIndex(pts, np.union1d([0], keys).astype(np.int64), seconds)


def variable_rate(index: PacketIndex | None) -> str | None:
    """A phrase describing a variable frame rate (``"frame intervals from 20 to 80 ms"``), or None."""
    if index is None or len(index.pts) < 3:
        return None
    intervals = np.diff(index.pts)
    shortest, longest = intervals.min(), intervals.max()
    if longest <= VARIABLE * max(shortest, 1):
        return None
    ms = 1000 * index.seconds
    return f"frame intervals from {shortest * ms:.0f} to {longest * ms:.0f} ms"


def square(frame: Any, size: int, channels: int) -> np.ndarray:
    """A decoded frame as ``size size channels`` uint8: centre-cropped to a square, resized
    (PIL's bilinear, antialiased when shrinking)."""
    pixels = frame.to_ndarray(format="gray" if channels == 1 else "rgb24")
    height, width = pixels.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    pixels = pixels[top: top + side, left: left + side].reshape(side, side, -1)
    if side != size:
        image = Image.fromarray(pixels[..., 0] if channels == 1 else pixels)
        pixels = np.asarray(image.resize((size, size), Image.Resampling.BILINEAR))
    return np.ascontiguousarray(pixels.reshape(size, size, channels))  # a crop would keep the whole frame


def decode_frames(path: str | Path, size: int, channels: int, index: PacketIndex | None, first: int,
                  last: int, keep: Container[int] | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """Frames ``first..last`` (those in ``keep`` when given) as ``(number, size size channels
    uint8)``, in order, decoded from the key frame before ``first`` (from the start of the
    file without an index). Frames the decoder does not give are missing from the result;
    raises one of :func:`errors` when decoding fails."""
    start = index.key_before(first) if index is not None else 0
    container, stream = open_video(path, size)
    with container:
        if start > 0:
            container.seek(int(index.pts[start]), stream=stream, backward=True, any_frame=False)
        for count, frame in enumerate(container.decode(stream)):
            k = count if index is None else index.frame_of(frame.pts)
            if k is None or k < first:
                continue
            if k > last:
                return
            if keep is None or k in keep:
                yield k, square(frame, size, channels)
            if k == last:
                return
