"""``vidgan prepare SRC DST --size 64``: a folder of video files, decoded once into training-size arrays.

One pass over ``SRC/<class>/<video>`` (the ``video-files`` layout) writes
``DST/<class>/<video>.npy``, a uint8 ``t size size c`` array per video (centre-cropped,
resized: the pixels ``video-files`` gives at that size), read by ``prepared-videos``
(:mod:`vidgan.data.prepared`) and recognised by ``data.name=auto``, and
``DST/vidgan-prepared.json``, the summary: videos, frames, classes, skipped files.

- Videos are decoded in parallel by worker processes, one per video at a time; a progress
  bar shows videos per second.
- Each array is written under a hidden temporary name and renamed when complete, so an
  interrupted run (Ctrl-C, kill -9, a full disk) leaves no partial ``.npy``. Running the
  same command again keeps the videos already written and prepares the rest.
- A file that cannot be decoded is skipped with a one-line warning and listed in the
  summary; a video with a variable frame rate keeps its frames in order, with a warning.

Example:
    >>> prepare("~/videos-by-class", "~/videos-64", size=64)["videos"]  # doctest: +SKIP
    4
"""

from __future__ import annotations

import errno
import json
import logging
import multiprocessing
import os
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any, Iterator

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from vidgan.data import decoding
from vidgan.data.prepared import SUFFIX, SUMMARY, open_frames
from vidgan.errors import VidganError

log = logging.getLogger("vidgan")

HEADER = 128  # bytes kept for the .npy header, written once the frame count is known


class WriteFailed(Exception):
    """Writing a prepared video failed (a full disk, a read-only folder): ``(path, errno, reason)``."""


def find_videos(src: Path) -> tuple[list[str], list[Path]]:
    """The class folders of ``src`` and the video files in them (relative to ``src``)."""
    if not src.is_dir():
        state = "is a file, not a folder" if src.exists() else "does not exist"
        raise VidganError(f"SRC '{src}' {state}; give a folder of class folders of video files, SRC/<class>/<video>.mp4")
    classes = sorted(e.name for e in os.scandir(src) if e.is_dir() and not e.name.startswith("."))
    videos = [Path(c) / e.name for c in classes for e in sorted(os.scandir(src / c), key=lambda e: e.name)
              if e.is_file() and not e.name.startswith(".") and Path(e.name).suffix.lower() in decoding.SUFFIXES]
    if not videos:
        where = f"its {len(classes)} class folder(s)" if classes else "it (and it has no class folders)"
        raise VidganError(f"SRC '{src}' has no video files in {where}; put the videos in SRC/<class>/<video>.mp4 "
                          f"(mp4/avi/gif/webm/mov/mkv; one folder for unlabelled data)")
    return classes, videos


def _write(frames: Iterator[tuple[int, np.ndarray]], target: Path, size: int, channels: int) -> int:
    """Stream ``frames`` into ``target`` through a hidden temporary file renamed when complete;
    returns the frame count (0: nothing written). Decoding errors pass through; any write
    error is a :class:`WriteFailed`."""
    temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    count = 0
    try:
        try:
            file = open(temp, "wb")
        except OSError as err:
            raise WriteFailed(str(target), err.errno, err.strerror or str(err)) from None
        with file:
            for _, frame in frames:
                try:
                    if not count:
                        file.write(bytes(HEADER))
                    file.write(frame.data)
                except OSError as err:
                    raise WriteFailed(str(target), err.errno, err.strerror or str(err)) from None
                count += 1
            if not count:
                return 0
            try:
                file.seek(0)
                np.lib.format.write_array_header_1_0(file, {"descr": "|u1", "fortran_order": False,
                                                            "shape": (count, size, size, channels)})
                if file.tell() != HEADER:
                    raise OSError(errno.EOVERFLOW, f"a .npy header of {file.tell()} bytes")
                file.flush()
                os.fsync(file.fileno())
            except OSError as err:
                raise WriteFailed(str(target), err.errno, err.strerror or str(err)) from None
        try:
            os.replace(temp, target)
        except OSError as err:
            raise WriteFailed(str(target), err.errno, err.strerror or str(err)) from None
        return count
    finally:
        temp.unlink(missing_ok=True)


def prepare_video(source: Path, target: Path, size: int, channels: int) -> dict[str, Any]:
    """Decode one video into ``target``: ``{"frames": n}`` (and ``"variable"``, a phrase, for a
    variable frame rate), or ``{"error": reason}`` for a file that cannot be decoded."""
    try:
        rate = decoding.variable_rate(decoding.index_packets(source))
        count = _write(decoding.decode_frames(source, size, channels, None, 0, sys.maxsize), target, size, channels)
    except decoding.errors() as err:
        return {"error": f"{type(err).__name__}: {err}"}
    if not count:
        return {"error": "no frame decodes"}
    return {"frames": count, "variable": rate}


def _check_destination(src: Path, dst: Path, settings: dict[str, Any]) -> None:
    """Refuse a DST that is SRC, lies inside it, or holds something other than a preparation
    with the same settings."""
    if dst.resolve() == src.resolve() or src.resolve() in dst.resolve().parents:
        raise VidganError(f"DST '{dst}' lies in SRC '{src}'; give a folder outside it")
    summary = dst / SUMMARY
    if summary.is_file():
        try:
            before = json.loads(summary.read_text())
        except ValueError:
            before = {}
        kept = {key: before.get(key) for key in ("size", "channels")}
        if kept != {key: settings[key] for key in kept}:
            raise VidganError(f"DST '{dst}' holds videos prepared with size {kept['size']} and channels "
                              f"{kept['channels']}; give another DST or run with --size {kept['size']} "
                              f"--channels {kept['channels']}")
    elif dst.is_dir() and any(not e.name.startswith(".") for e in os.scandir(dst)):
        raise VidganError(f"DST '{dst}' is not empty and holds no {SUMMARY}; give a new or empty folder")
    elif dst.exists() and not dst.is_dir():
        raise VidganError(f"DST '{dst}' is a file; give a folder")


def _write_summary(dst: Path, summary: dict[str, Any]) -> None:
    temp = dst / f".{SUMMARY}.tmp"
    temp.write_text(json.dumps(summary, indent=1) + "\n")
    os.replace(temp, dst / SUMMARY)


def _remove_leftovers(dst: Path, classes: list[str]) -> None:
    """Delete the temporary files of an interrupted run."""
    for folder in classes:
        if (dst / folder).is_dir():
            for entry in os.scandir(dst / folder):
                if entry.name.startswith(".") and entry.name.endswith(".tmp"):
                    os.unlink(entry.path)


def _results(jobs: list[tuple[Path, Path]], size: int, channels: int,
             workers: int) -> Iterator[tuple[Path, dict[str, Any]]]:
    """``(source, result)`` of every job as it finishes: in this process for one worker, else
    in a pool of worker processes (spawned: the parent may run threads)."""
    if workers == 1:
        for source, target in jobs:
            yield source, prepare_video(source, target, size, channels)
        return
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
    try:
        running = {pool.submit(prepare_video, source, target, size, channels): source for source, target in jobs}
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                yield running.pop(future), future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def prepare(src: str | Path, dst: str | Path, size: int = 64, channels: int = 3,
            workers: int | None = None) -> dict[str, Any]:
    """Prepare every video of ``src`` into ``dst``; returns the summary written to
    ``dst/vidgan-prepared.json``. See the module doc."""
    if size < 1 or channels not in (1, 3) or (workers is not None and workers < 1):
        raise VidganError(f"--size must be positive, --channels 1 or 3 and --workers at least 1; got "
                          f"{size}, {channels}, {workers}")
    src, dst = Path(src).expanduser(), Path(dst).expanduser()
    classes, videos = find_videos(src)
    settings = {"source": str(src.resolve()), "size": size, "channels": channels,
                "layout": "uint8 array t h w c per video (numpy .npy), frames centre-cropped and resized"}
    _check_destination(src, dst, settings)
    for folder in classes:
        (dst / folder).mkdir(parents=True, exist_ok=True)
    _remove_leftovers(dst, classes)
    if not (dst / SUMMARY).is_file():
        _write_summary(dst, {**settings, "complete": False})
    jobs = [(src / video, dst / video.parent / (video.name + SUFFIX)) for video in videos]
    todo = [(source, target) for source, target in jobs if not target.is_file()]
    workers = min(workers or os.cpu_count() or 1, max(len(todo), 1))
    skipped, variable, began = [], [], time.perf_counter()
    progress = Progress(TextColumn("[bold]prepare"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("{task.fields[rate]} videos/s"), TimeRemainingColumn(),
                        console=Console(stderr=True))
    try:
        with progress:
            task = progress.add_task("prepare", total=len(jobs), completed=len(jobs) - len(todo), rate="-")
            for done, (source, result) in enumerate(_results(todo, size, channels, workers), 1):
                name = str(source.relative_to(src))
                if "error" in result:
                    log.warning("prepare: skipped '%s': cannot decode it (%s)", source, result["error"])
                    skipped.append({"file": name, "reason": result["error"]})
                elif result["variable"]:
                    log.warning("prepare: '%s' has a variable frame rate (%s); its frames are kept in order, "
                                "one per decoded frame, not resampled to a fixed rate", source, result["variable"])
                    variable.append(name)
                progress.update(task, advance=1, rate=f"{done / (time.perf_counter() - began):.2f}")
    except WriteFailed as err:
        path, code, reason = err.args
        kept = sum(target.is_file() for _, target in jobs)
        fix = "free some space" if code in (errno.ENOSPC, errno.EDQUOT) else "fix the folder"
        raise VidganError(f"cannot write '{path}' ({reason}): {fix} or give another DST, then run the same "
                          f"command again; the {kept} videos prepared so far are kept") from None
    finally:
        _remove_leftovers(dst, classes)
    prepared = [(target, open_frames(target)) for _, target in jobs if target.is_file()]
    summary = {**settings, "complete": True, "classes": classes, "videos": len(prepared),
               "frames": sum(len(frames) for _, frames in prepared),
               "files": [{"file": str(target.relative_to(dst)), "frames": len(frames)} for target, frames in prepared],
               "skipped": skipped, "variable_frame_rate": variable}
    _write_summary(dst, summary)
    return summary
