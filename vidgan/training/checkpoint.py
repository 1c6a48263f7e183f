"""Checkpoint files: written atomically, loaded without unpickling arbitrary objects.

A checkpoint is written to a temporary file in the same folder, flushed to disk and
renamed over its final name, so a killed process leaves either the old set of
checkpoints or the new one, never half a file. Loading uses ``weights_only=True``; a
checkpoint that cannot be read (truncated, corrupt) is reported and the previous one
is used.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from vidgan.errors import VidganError

log = logging.getLogger("vidgan")
PATTERN = re.compile(r"^step-(\d+)\.pt$")


def checkpoint_path(run_dir: Path, step: int) -> Path:
    return Path(run_dir) / "checkpoints" / f"step-{step:07d}.pt"


def list_checkpoints(run_dir: Path) -> list[Path]:
    """Checkpoints of a run folder, oldest first."""
    folder = Path(run_dir) / "checkpoints"
    found = [p for p in folder.glob("step-*.pt") if PATTERN.match(p.name)] if folder.is_dir() else []
    return sorted(found, key=lambda p: int(PATTERN.match(p.name).group(1)))


def save(state: dict[str, Any], path: Path, keep: int = 0) -> Path:
    """Write ``state`` to ``path`` atomically; then keep only the newest ``keep`` (0: all).

    A failed write (full disk, unwritable folder) removes the temporary file, leaves
    the earlier checkpoints as they were, and raises a one-line error.
    """
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".pt")
        with os.fdopen(fd, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as err:
        if tmp:
            Path(tmp).unlink(missing_ok=True)
        kept = list_checkpoints(path.parent.parent) if path.parent.is_dir() else []
        last = f"; the last checkpoint {kept[-1]} is kept" if kept else ""
        raise VidganError(f"cannot write checkpoint {path}: {err.strerror or err}; "
                          f"free disk space or set run_dir to a writable folder{last}") from None
    if keep > 0:
        for old in list_checkpoints(path.parent.parent)[:-keep]:
            old.unlink()
    return path


def _read(path: Path) -> dict[str, Any]:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise VidganError(f"cannot read checkpoint {path}: {str(err).splitlines()[0]}") from None


def load(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint file, or the newest readable checkpoint of a run folder (CPU tensors).

    In a run folder, a corrupt or truncated newest checkpoint is skipped with a warning.
    """
    path = Path(path)
    if path.is_file():
        return _read(path)
    if not path.is_dir():
        raise VidganError(f"checkpoint {path} does not exist; pass a .pt file or a run folder")
    found = list_checkpoints(path)
    if not found:
        raise VidganError(f"{path} has no checkpoints/step-*.pt; train first or name a checkpoint file")
    for candidate in reversed(found):
        try:
            return _read(candidate)
        except VidganError as err:
            log.warning("%s; trying the previous checkpoint", err)
    raise VidganError(f"no readable checkpoint in {path / 'checkpoints'}; all {len(found)} are corrupt")


def load_weights(module: nn.Module, state: dict[str, torch.Tensor], what: str) -> None:
    """``module.load_state_dict(state)`` with a one-line error naming every mismatched layer.

    The module's own load hooks run first, so a layer that reads an older layout of its
    keys (``ShiftHeads``) loads it.
    """
    try:
        module.load_state_dict(state)
    except RuntimeError as err:
        own = module.state_dict()
        problems = [f"{k} {tuple(v.shape)} vs {tuple(own[k].shape)}" for k, v in state.items()
                    if k in own and v.shape != own[k].shape]
        problems += [f"{k} missing" for k in own if k not in state]
        problems += [f"{k} unexpected" for k in state if k not in own]
        problems = problems or [str(err).splitlines()[0]]
        raise VidganError(f"the checkpoint's {what} does not fit this config (another recipe or "
                          f"size?); checkpoint vs config: {'; '.join(problems[:8])}"
                          f"{' ...' if len(problems) > 8 else ''}") from None
