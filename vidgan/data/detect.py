"""``data.name=auto``: the data set that the files under ``data.root`` call for.

Up to :data:`SCAN` class folders of ``data.root`` are looked at, and up to :data:`SCAN`
entries of each:
image files are frame strips (``frame-strips``), video files are ``video-files``,
sub-folders holding images are frame folders (``frame-folders``) and ``.npy`` files are
videos written by ``vidgan prepare`` (``prepared-videos``). The kind with the most
entries wins, and a log line says which was picked. A folder none of them reads is a
one-line error that names the layouts.

Example:
    >>> detect_dataset("~/ucf101-by-class")  # doctest: +SKIP
    'video-files'
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from pathlib import Path

from vidgan.data import frame_folders, prepared, strips, videos
from vidgan.errors import VidganError

log = logging.getLogger("vidgan")

SCAN = 64  # class folders looked at, and entries per class folder
READERS = (strips.FrameStrips, videos.VideoFiles, frame_folders.FrameFolders, prepared.PreparedVideos)
_announced: set[tuple[Path, str]] = set()


def _entries(folder: str | Path) -> list[os.DirEntry]:
    """The non-hidden entries of a folder, by name."""
    with os.scandir(folder) as entries:
        return sorted((e for e in entries if not e.name.startswith(".")), key=lambda e: e.name)


def _kind(entry: os.DirEntry) -> str | None:
    """The data set that reads this entry of a class folder, if any."""
    if entry.is_dir():
        return "frame-folders" if any(_kind(e) == "frame-strips" for e in _entries(entry.path)[:SCAN]) else None
    suffix = Path(entry.name).suffix.lower()
    if suffix in strips.SUFFIXES:
        return "frame-strips"
    if suffix == prepared.SUFFIX:
        return "prepared-videos"
    return "video-files" if suffix in videos.SUFFIXES else None


def layouts() -> str:
    """What each folder data set reads, for error messages."""
    return "; ".join(f"{reader.name} reads {reader.example} ({reader.accepted})" for reader in READERS)


def detect_dataset(root: str | Path) -> str:
    """The registered name of the data set that reads ``root``: frame-strips, video-files,
    frame-folders or prepared-videos."""
    root = Path(root).expanduser()
    if not root.is_dir():
        state = "is a file, not a folder" if root.exists() else "does not exist"
        raise VidganError(f"data.root '{root}' {state}; point data.root at a folder of class folders of videos")
    classes = [e for e in _entries(root) if e.is_dir()][:SCAN]
    if not classes:
        raise VidganError(f"data.root '{root}' has no class folders; put each class's videos in a sub-folder, "
                          f"root/<class>/... (one folder for unlabelled data)")
    found = Counter(kind for folder in classes for kind in map(_kind, _entries(folder.path)[:SCAN]) if kind)
    if not found:
        raise VidganError(f"data.root '{root}' has no readable videos in its {len(classes)} class folder(s): "
                          f"{layouts()}; arrange the videos so, or set data.name")
    name = max((reader.name for reader in READERS), key=lambda n: found[n])
    if (root, name) not in _announced:
        _announced.add((root, name))
        others = ", ".join(f"{n}: {c}" for n, c in found.items() if n != name)
        log.info("data.name=auto: %s holds %s, read with %s%s (set data.name to choose another)",
                 root, next(r.videos_word for r in READERS if r.name == name), name,
                 f"; also seen {others}" if others else "")
    return name
