"""Tiny video files written with PyAV for the data tests: known pixels, chosen key frames and timing."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np


def colours(n: int) -> np.ndarray:
    """``n 3`` uint8: frame k's colour, far from its neighbours'."""
    return np.array([(8 * k % 256, 255 - 8 * k % 256, 37 * k % 256) for k in range(n)], np.uint8)


def flat_frames(n: int, height: int = 16, width: int = 16) -> np.ndarray:
    """``t h w 3`` uint8 frames of constant ``colours(n)[k]``."""
    return np.broadcast_to(colours(n)[:, None, None, :], (n, height, width, 3)).copy()


def moving_frames(n: int, height: int = 24, width: int = 40, seed: int = 0) -> np.ndarray:
    """``t h w 3`` uint8: a bar moving across a changing background, with noise (what codecs find hard)."""
    rng = np.random.default_rng(seed)
    video = np.zeros((n, height, width, 3), np.uint8)
    for k in range(n):
        video[k, ..., 0] = 5 * k % 256
        video[k, :, (3 * k) % width: (3 * k) % width + 6, 1] = 255
        video[k, ..., 2] = rng.integers(0, 60, (height, width))
    return video


def write_video(path: Path, pixels: np.ndarray, codec: str = "mpeg4", gop: int = 8,
                times_ms: list[int] | None = None) -> Path:
    """Encode ``t h w 3`` uint8 with PyAV at 10 fps, a key frame at least every ``gop`` frames
    (libx264 also with B-frames); ``times_ms`` sets each frame's time (a variable frame rate)."""
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=10)
        stream.width, stream.height, stream.pix_fmt = pixels.shape[2], pixels.shape[1], "yuv420p"
        stream.options = {"g": str(gop), **({"bf": "2"} if codec == "libx264" else {"qscale": "1"})}
        if times_ms is not None:
            stream.codec_context.time_base = Fraction(1, 1000)
        for k, pixel in enumerate(pixels):
            frame = av.VideoFrame.from_ndarray(pixel, format="rgb24")
            if times_ms is not None:
                frame.pts, frame.time_base = times_ms[k], Fraction(1, 1000)
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return path
