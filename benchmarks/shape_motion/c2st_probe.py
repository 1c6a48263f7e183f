"""What c2st sees on the shape-motion data: real clips against real clips changed in one way.

    python -m benchmarks.shape_motion.c2st_probe ../shared/data/mocogan-shapes [--videos 128]

Each row runs ``vidgan eval``'s c2st test (its classifier, settings and seed) on
``--videos`` real clips (16 frames 2 apart, seed 1) against as many other real clips
(seed 4, as c2st's control) changed by the row's one change, and writes the table to
``--out``. A change the classifier cannot see scores about 0.5; one it sees, near 1.
Changes of the path draw each clip's first frame moved by whole pixels: along the clip's
own path ("redrawn", which checks that the drawing itself is invisible), at a constant
speed from the same start to the same end, or along a path shortened to 0.8.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from types import SimpleNamespace

import torch
from torch.nn import functional as F

from benchmarks.shape_motion.motion import centroids
from vidgan.bench.machine import machine
from vidgan.data import sample_clips
from vidgan.data.strips import FrameStrips
from vidgan.metrics.base import to_uint8
from vidgan.metrics.c2st import C2ST


def along(videos: torch.Tensor, path: torch.Tensor) -> torch.Tensor:
    """Each clip's first frame moved by ``path`` (whole pixels, ``b t 2`` rows and columns).

    Shape:
        videos ``b c t h w``, path ``b t 2`` -> ``b c t h w``.
    """
    moved = torch.empty_like(videos)
    for i, steps in enumerate(path.round().int().tolist()):
        for t, (dy, dx) in enumerate(steps):
            moved[i, :, t] = torch.roll(videos[i, :, 0], (dy, dx), (1, 2))
    return moved


def path(videos: torch.Tensor) -> torch.Tensor:
    """The shape's centroid at every frame minus its first, ``b t 2`` (rows, columns)."""
    y, x = centroids(videos)
    return torch.stack([y - y[:, :1], x - x[:, :1]], 2)


def blur(videos: torch.Tensor) -> torch.Tensor:
    """A 3×3 binomial blur of every frame (the background stays -1)."""
    b, c, t = videos.shape[:3]
    kernel = torch.tensor([1.0, 2.0, 1.0])
    kernel = (kernel[:, None] * kernel[None]).expand(c, 1, 3, 3) / 16
    frames = videos.transpose(1, 2).flatten(0, 1) + 1
    frames = F.conv2d(F.pad(frames, (1, 1, 1, 1)), kernel, groups=c) - 1
    return frames.unflatten(0, (b, t)).transpose(1, 2)


def speeds(videos: torch.Tensor) -> torch.Tensor:
    """Each clip's speed between frames along its main axis (the one of the larger
    extent), in px per frame.

    Shape:
        ``b c t h w`` -> ``b (t-1)``.
    """
    y, x = centroids(videos)
    main = torch.where(((y.amax(1) - y.amin(1)) >= (x.amax(1) - x.amin(1)))[:, None], y, x)
    return main.diff(dim=1).abs()


def constant_speed(videos: torch.Tensor) -> torch.Tensor:
    """Each clip's first frame moved at a constant speed from its own start to its own end."""
    moves = path(videos)
    return along(videos, moves[:, -1:] * torch.linspace(0, 1, videos.shape[2])[None, :, None])


CHANGES = {
    "none (real against real)": lambda v, g: v,
    "noise, σ 4 of 255": lambda v, g: (v + torch.randn(v.shape, generator=g) * 8 / 255).clamp(-1, 1),
    "background 3 of 255 brighter": lambda v, g: (v + 6 / 255).clamp(-1, 1),
    "3×3 blur": lambda v, g: blur(v),
    "colours × 0.85": lambda v, g: (v + 1) * 0.85 - 1,
    "redrawn on its own path": lambda v, g: along(v, path(v)),
    "moved ±1 px at random per frame": lambda v, g: along(v, path(v) + torch.randint(-1, 2, (len(v), v.shape[2], 2),
                                                                                    generator=g)),
    "path shortened to 0.8": lambda v, g: along(v, path(v) * 0.8),
    "constant speed, same start and end": lambda v, g: constant_speed(v),
    "played backwards": lambda v, g: v.flip(2),
    "first frame held": lambda v, g: v[:, :, :1].expand_as(v).clone(),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", help="the frame-strip folder (the MoCoGAN authors' shape-motion data)")
    parser.add_argument("--videos", type=int, default=128)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/shape_motion/c2st-probe.md"))
    args = parser.parse_args()
    data = FrameStrips(args.root, image_size=64)
    batch = 32  # clips per draw and per classifier call

    def clips(seed: int) -> torch.Tensor:
        rng = torch.Generator().manual_seed(seed)
        return torch.cat([sample_clips(data, min(batch, args.videos - s), 16, 2, rng)[0]
                          for s in range(0, args.videos, batch)])

    real, other = to_uint8(clips(1)), clips(4)
    profile = ", ".join(f"{v:.1f}" for v in speeds(other).median(0).values.tolist())
    ctx = SimpleNamespace(seed=0, num_videos=args.videos, device=torch.device("cpu"), batch_size=batch)
    noise = torch.Generator().manual_seed(9)
    rows = []
    for name, change in CHANGES.items():
        value = C2ST().accuracies(ctx, real, to_uint8(change(other, noise)))[0]
        rows.append(f"| {name} | {value:.3f} |")
        print(rows[-1], flush=True)
    m = machine()
    args.out.write_text("\n".join([
        "# c2st on the shape-motion data: what it sees", "",
        f"`python -m benchmarks.shape_motion.c2st_probe DATA --videos {args.videos}` (DATA: the MoCoGAN "
        f"authors' shape-motion frame strips); {m['cpu']} "
        f"({'native' if m['native_bf16_cpu'] else 'no native'} bf16; c2st runs in fp32), torch {m['torch']}; "
        f"{time.strftime('%Y-%m-%d')}.", "",
        f"{args.videos} real clips against as many other real clips changed in one way, scored by `vidgan eval`'s "
        "c2st (0.5: the change is invisible to it, 1.0: always seen). It tests on "
        f"{args.videos} clips, so at 0.5 its standard error is {0.5 / args.videos ** 0.5:.2f}: a row within two "
        "standard errors of the first differs from it by chance.", "",
        "| change to the other real clips | c2st |", "|---|---|", *rows, "",
        f"The other real clips' median speed along their path, px per frame of the clip: {profile}.", ""]))


if __name__ == "__main__":
    main()
