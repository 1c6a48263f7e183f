"""Sampling videos from a trained checkpoint, without the data set."""

from __future__ import annotations

from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf

from vidgan.errors import VidganError
from vidgan.training import checkpoint
from vidgan.training.samples import write_gif, write_grid
from vidgan.training.trainer import build_generator


def load_generator(path: str | Path, ema: bool = True) -> tuple[torch.nn.Module, DictConfig]:
    """The generator of a checkpoint file or run folder, in eval mode, and the run's config.

    With ``ema`` (the default) the EMA weights are used when the run kept them.
    """
    state = checkpoint.load(path)
    cfg = OmegaConf.create(state["config"])
    generator = build_generator(cfg)
    weights = state["ema_generator"] if ema and "ema_generator" in state else state["generator"]
    checkpoint.load_weights(generator, weights, "generator")
    return generator.eval(), cfg


def generate(path: str | Path, num_videos: int, out: Path | None = None, category: int | None = None,
             length: int | None = None, seed: int = 0, ema: bool = True) -> Path:
    """Write ``video-NNN.gif`` for each of ``num_videos`` videos and ``grid.png`` (rows: videos).

    ``path`` is a checkpoint file or a run folder. The EMA generator is used when the
    run kept one and ``ema`` is on. Returns the output folder.
    """
    if num_videos < 1:
        raise VidganError(f"--num-videos must be at least 1, got {num_videos}")
    path = Path(path)
    generator, _ = load_generator(path, ema)
    labels = None
    categories = getattr(generator, "dim_z_category", 0)
    if category is not None:
        if not 0 <= category < max(categories, 1) or categories == 0:
            raise VidganError(f"--category must lie in [0, {categories}) for this generator"
                              if categories else "this generator has no category code; drop --category")
        labels = torch.full((num_videos,), category)
    with torch.no_grad():
        videos, _ = generator.sample_videos(num_videos, length, torch.Generator().manual_seed(seed), labels)
    run_dir = path if path.is_dir() else path.parent.parent
    out = Path(out) if out else run_dir / "generated"
    for i, video in enumerate(videos):
        write_gif(video[None], out / f"video-{i:03d}.gif")
    write_grid(videos, out / "grid.png")
    return out
