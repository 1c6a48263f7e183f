"""Checkpoint files: written atomically, loaded without unpickling arbitrary objects."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any

import torch

from vidgan.errors import VidganError

PATTERN = re.compile(r"^step-(\d+)\.pt$")


def checkpoint_path(run_dir: Path, step: int) -> Path:
    return Path(run_dir) / "checkpoints" / f"step-{step:07d}.pt"


def list_checkpoints(run_dir: Path) -> list[Path]:
    """Checkpoints of a run folder, oldest first."""
    folder = Path(run_dir) / "checkpoints"
    found = [p for p in folder.glob("step-*.pt") if PATTERN.match(p.name)] if folder.is_dir() else []
    return sorted(found, key=lambda p: int(PATTERN.match(p.name).group(1)))


def save(state: dict[str, Any], path: Path, keep: int = 0) -> Path:
    """Write ``state`` to ``path`` via a temporary file and rename; keep the newest ``keep`` (0: all)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".pt")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if keep > 0:
        for old in list_checkpoints(path.parent.parent)[:-keep]:
            old.unlink()
    return path


def resolve(path: str | Path) -> Path:
    """A checkpoint file, or the newest checkpoint of a run folder."""
    path = Path(path)
    if path.is_dir():
        found = list_checkpoints(path)
        if not found:
            raise VidganError(f"{path} has no checkpoints/step-*.pt; train first or name a checkpoint file")
        return found[-1]
    if not path.is_file():
        raise VidganError(f"checkpoint {path} does not exist; pass a .pt file or a run folder")
    return path


def load(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint (tensors and plain data only) onto the CPU."""
    path = resolve(path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise VidganError(f"cannot read checkpoint {path}: {str(err).splitlines()[0]}") from None
