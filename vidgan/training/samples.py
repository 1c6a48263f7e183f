"""Generated videos for a person to look at: fixed samples, animated GIFs and PNG grids."""

from __future__ import annotations

import io
import math
from pathlib import Path

import torch
from einops import rearrange, repeat
from PIL import Image
from torch import nn
from torchvision.utils import make_grid


def fixed_videos(generator: nn.Module, num_videos: int, seed: int, device: torch.device) -> torch.Tensor:
    """``num_videos`` videos ``b c t h w`` from the latents ``seed`` draws, asked for the
    categories 0, 1, ... in turn: the same latents at every call, so the samples of a run
    are comparable across steps. The generator runs in eval mode, then is back in train mode.
    """
    generator.eval()
    categories = max(getattr(generator, "dim_z_category", 0), 1)
    labels = (torch.arange(num_videos) % categories).to(device)
    with torch.no_grad():
        videos, _ = generator.sample_videos(num_videos, generator=torch.Generator().manual_seed(seed), labels=labels)
    generator.train()
    return videos


def to_uint8(videos: torch.Tensor) -> torch.Tensor:
    """``b c t h w`` in [-1, 1] (c = 1 or 3) to RGB uint8 ``b 3 t h w`` on the CPU."""
    videos = videos.detach().float().cpu().clamp(-1, 1)
    if videos.shape[1] == 1:
        videos = repeat(videos, "b 1 t h w -> b 3 t h w")
    return ((videos + 1) * 127.5).round().to(torch.uint8)


def _image(grid: torch.Tensor) -> Image.Image:
    return Image.fromarray(rearrange(grid, "c h w -> h w c").numpy())


def gif_bytes(videos: torch.Tensor, frame_ms: int = 100, columns: int | None = None) -> bytes:
    """One animated GIF showing all videos ``b c t h w`` side by side, row by row in ``columns``
    columns (default: a square-ish grid)."""
    frames = to_uint8(videos)
    nrow = columns or math.ceil(math.sqrt(frames.shape[0]))
    images = [_image(make_grid(frames[:, :, t], nrow=nrow, padding=2))
              for t in range(frames.shape[2])]
    buffer = io.BytesIO()
    images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:], duration=frame_ms, loop=0)
    return buffer.getvalue()


def write_gif(videos: torch.Tensor, path: Path, frame_ms: int = 100, columns: int | None = None) -> Path:
    """:func:`gif_bytes` written to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gif_bytes(videos, frame_ms, columns))
    return path


def write_grid(videos: torch.Tensor, path: Path) -> Path:
    """A PNG with one row per video and one column per frame."""
    frames = to_uint8(videos)
    grid = make_grid(rearrange(frames, "b c t h w -> (b t) c h w"), nrow=frames.shape[2], padding=2)
    path.parent.mkdir(parents=True, exist_ok=True)
    _image(grid).save(path)
    return path
