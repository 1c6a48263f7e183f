"""``vidgan bench --data``: clips per second from each way of storing the same videos.

The same videos are read as the trainer reads them (:func:`vidgan.data.sample_clips`, on
one intra-op thread, as in the prefetch thread) from each layout:

- the video files themselves (``video-files``), without a cache (every clip decoded from the
  key frame before it: what a data set larger than the cache costs) and with a warm cache;
- ``vidgan prepare``'s memory-mapped uint8 array per video (``prepared-videos``);
- a folder of JPEG frames per video (``frame-folders``, the layout StyleGAN-V and DIGAN use);
- the original MoCoGAN frame strips, one PNG per video (``frame-strips``).

The videos are ``--data-root``'s, or generated: 4 H.264 files of 640×272 and 500 frames
(25 fps, a key frame at least every 250 frames, as cameras and encoders often make them),
two classes. Writes ``data-pipeline.md`` and ``data-pipeline.json`` to the report folder:
clips per second, milliseconds per clip and bytes per frame on disk, with the machine.

Example:
    >>> from vidgan.cli import main
    >>> main(["bench", "--data", "--out", "/tmp/bench"])  # doctest: +SKIP
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from einops import rearrange
from PIL import Image

from vidgan.data import FrameFolders, FrameStrips, PreparedVideos, VideoFiles, decoding, sample_clips
from vidgan.data.base import VideoDataset
from vidgan.prepare import prepare

SIZE, LENGTH, EVERY_NTH, BATCH = 64, 16, 2, 4  # the clips of the mocogan recipes' video critic


def make_videos(root: Path, count: int = 4, frames: int = 500, width: int = 640, height: int = 272) -> Path:
    """``count`` H.264 files (MPEG-4 where libx264 is missing) of a disc moving over a gradient
    with sensor-like noise, in two class folders."""
    av = decoding.av()
    codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:height, 0:width]
    background = np.stack([xx * 200 // width, yy * 200 // height, np.full_like(xx, 80)], -1).astype(np.int16)
    for i in range(count):
        path = root / f"class{i % 2}" / f"video{i}.mp4"
        path.parent.mkdir(parents=True, exist_ok=True)
        with av.open(str(path), "w") as out:
            stream = out.add_stream(codec, rate=25)
            stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
            stream.options = {"preset": "veryfast"} if codec == "libx264" else {"g": "250"}
            x, y, vx, vy = width / 2, height / 2, rng.uniform(-6, 6), rng.uniform(-4, 4)
            for _ in range(frames):
                x, y = x + vx, y + vy
                vx, vy = (vx if 40 < x < width - 40 else -vx), (vy if 40 < y < height - 40 else -vy)
                frame = background + rng.integers(-6, 7, (height, width, 1), dtype=np.int16)
                frame[(xx - x) ** 2 + (yy - y) ** 2 < 1600] = (230, 60, 30)
                pixels = np.clip(frame, 0, 255).astype(np.uint8)
                out.mux(stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")))
            out.mux(stream.encode())
    return root


def write_images(prepared: PreparedVideos, folders: Path, strips: Path) -> None:
    """Each prepared video as a folder of JPEG frames and as a PNG strip (frames left to right)."""
    for path, _, label in prepared.videos:
        frames = prepared.arrays[path]
        name = Path(path.stem).stem
        (folders / prepared.classes[label] / name).mkdir(parents=True, exist_ok=True)
        for k, frame in enumerate(frames):
            Image.fromarray(frame).save(folders / prepared.classes[label] / name / f"{k:06d}.jpg", quality=95)
        (strips / prepared.classes[label]).mkdir(parents=True, exist_ok=True)
        Image.fromarray(rearrange(frames, "t h w c -> h (t w) c")).save(strips / prepared.classes[label] / f"{name}.png")


def disk_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def clips_per_second(data: VideoDataset, min_time: float) -> tuple[float, int]:
    """Batches of clips drawn back to back for at least ``min_time`` seconds: clips per second, clips drawn."""
    rng, clips, start = torch.Generator().manual_seed(0), 0, time.perf_counter()
    while clips == 0 or time.perf_counter() - start < min_time:
        sample_clips(data, BATCH, LENGTH, EVERY_NTH, rng)
        clips += BATCH
    return clips / (time.perf_counter() - start), clips


def run(out: Path, machine: dict[str, Any], log: Callable[[str], None] = print, data_root: Path | None = None,
        min_time: float = 0.5) -> dict[str, Any]:
    """Time every layout on the same videos for at least ``min_time`` seconds each (``--min-time``);
    write ``data-pipeline.md`` and ``.json`` to ``out``."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with tempfile.TemporaryDirectory(prefix="vidgan-bench-data-") as work:
            work = Path(work)
            videos = Path(data_root).expanduser() if data_root else make_videos(work / "videos")
            log(f"data pipeline: preparing {videos} at {SIZE}×{SIZE}")
            began = time.perf_counter()
            summary = prepare(videos, work / "prepared", size=SIZE)
            prepare_seconds = time.perf_counter() - began
            span = (LENGTH - 1) * EVERY_NTH + 1
            prepared = PreparedVideos(work / "prepared", image_size=SIZE, min_frames=span)
            write_images(prepared, work / "folders", work / "strips")
            warm = VideoFiles(videos, image_size=SIZE, min_frames=span)
            for i in range(len(warm)):
                warm.frames(i, range(warm.num_frames(i)))  # every frame once: all in the cache
            layouts = [
                ("video files, no cache", VideoFiles(videos, image_size=SIZE, min_frames=span, cache_mb=0), videos),
                ("video files, warm cache", warm, videos),
                ("prepared (.npy, memory-mapped)", prepared, work / "prepared"),
                ("frame folders (JPEG)", FrameFolders(work / "folders", image_size=SIZE, min_frames=span),
                 work / "folders"),
                ("frame strips (PNG)", FrameStrips(work / "strips", image_size=SIZE, min_frames=span), work / "strips"),
            ]
            rows = []
            for name, data, folder in layouts:
                log(f"  timing {name}")
                rate, clips = clips_per_second(data, min_time)
                rows.append({"layout": name, "clips_per_second": rate, "ms_per_clip": 1000 / rate, "clips": clips,
                             "bytes_per_frame": disk_bytes(folder) / summary["frames"]})
    finally:
        torch.set_num_threads(threads)
    results = {"machine": machine, "videos": str(data_root or "generated: 4 H.264 files, 640×272, 500 frames"),
               "frames": summary["frames"], "clip": {"size": SIZE, "length": LENGTH, "every_nth": EVERY_NTH},
               "prepare_seconds": prepare_seconds, "rows": rows}
    out.mkdir(parents=True, exist_ok=True)
    (out / "data-pipeline.json").write_text(json.dumps(results, indent=1) + "\n")
    (out / "data-pipeline.md").write_text(markdown(results))
    log(f"data pipeline: {out / 'data-pipeline.md'}")
    return results


def markdown(results: dict[str, Any]) -> str:
    m, clip = results["machine"], results["clip"]
    lines = [
        "# Data pipeline: clips per second by layout", "",
        f"Machine: {m.get('cpu', '?')}, {m.get('cores', '?')} cores, native bf16: {m.get('native_bf16_cpu', '?')}; "
        f"one intra-op thread (as the prefetch thread).", "",
        f"Videos: {results['videos']} ({results['frames']} frames); `vidgan prepare` took "
        f"{results['prepare_seconds']:.1f} s. Clips: {clip['length']} frames every {clip['every_nth']} at "
        f"{clip['size']}×{clip['size']}, drawn as the trainer draws them.", "",
        "| layout | clips/s | ms per clip | bytes per frame on disk |", "|---|---:|---:|---:|",
    ]
    lines += [f"| {r['layout']} | {r['clips_per_second']:.1f} | {r['ms_per_clip']:.2f} | {r['bytes_per_frame']:.0f} |"
              for r in results["rows"]]
    return "\n".join(lines) + "\n"
