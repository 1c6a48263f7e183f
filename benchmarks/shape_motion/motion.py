"""How generated shapes move, beside the real ones: the motion table of RESULTS.md.

    python benchmarks/shape_motion/motion.py CHECKPOINT [--real DATA] [--videos 256]

For each class: the median extent (peak to peak) of a clip's centroid path along y and
x, and the share of clips whose centroid never turns back by more than 0.5 px along the
class's main axis (the axis of the larger extent). The centroid is that of the pixels
whose brightest channel exceeds 0.2 on the [0, 1] scale (the shapes on a black
background). Generated clips come from the checkpoint's EMA generator (seed 0); real ones
(``--real``: a frame-strip folder such as ../shared/data/mocogan-shapes) are the first 16
frames 2 apart of the same number of strips per class, drawn with seed 1.
"""

from __future__ import annotations

import argparse
import random

import torch

from vidgan.data.strips import FrameStrips
from vidgan.generate import load_generator


def centroids(videos: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Centroid rows and columns ``b t`` of clips ``b c t h w`` in [-1, 1]."""
    mass = (videos.amax(1) + 1) / 2  # b t h w
    mass = mass * (mass > 0.2)
    total = mass.sum((2, 3)).clamp_min(1e-6)
    rows = torch.arange(mass.shape[2], dtype=mass.dtype)
    cols = torch.arange(mass.shape[3], dtype=mass.dtype)
    return (mass.sum(3) * rows).sum(2) / total, (mass.sum(2) * cols).sum(2) / total


def motion_rows(videos: torch.Tensor, labels: torch.Tensor) -> dict[int, dict[str, float]]:
    """Per class: median extents along y and x (px) and the share of monotone clips."""
    y, x = centroids(videos.float())
    out = {}
    for k in labels.unique().tolist():
        ys, xs = y[labels == k], x[labels == k]
        extent_y = (ys.amax(1) - ys.amin(1)).median().item()
        extent_x = (xs.amax(1) - xs.amin(1)).median().item()
        step = (ys if extent_y >= extent_x else xs).diff(dim=1)
        monotone = ((step <= 0.5).all(1) | (step >= -0.5).all(1)).float().mean().item()
        out[k] = {"extent_y": extent_y, "extent_x": extent_x, "monotone": monotone}
    return out


def real_clips(root: str, per_class: int, frames: int = 16, every_nth: int = 2,
               image_size: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    data = FrameStrips(root, image_size=image_size)
    by_class: dict[int, list[int]] = {}
    for i in range(len(data)):
        by_class.setdefault(data.label(i), []).append(i)
    pick = random.Random(1)
    chosen = [i for k in sorted(by_class) for i in pick.sample(by_class[k], per_class)]
    wanted = list(range(0, frames * every_nth, every_nth))
    return torch.stack([data.frames(i, wanted) for i in chosen]), torch.tensor([data.label(i) for i in chosen])


def print_rows(name: str, rows: dict[int, dict[str, float]]) -> None:
    for k, r in rows.items():
        print(f"{name}, class {k}: extent y {r['extent_y']:.1f} px, x {r['extent_x']:.1f} px; "
              f"monotone {r['monotone']:.0%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint")
    parser.add_argument("--real", default=None, help="frame-strip folder of the real clips")
    parser.add_argument("--videos", type=int, default=256)
    args = parser.parse_args()
    generator, _ = load_generator(args.checkpoint)
    with torch.no_grad():
        videos, labels = generator.sample_videos(args.videos, 16, generator=torch.Generator().manual_seed(0))
    print_rows("generated", motion_rows(videos, labels))
    if args.real:
        classes = int(labels.max()) + 1
        print_rows("real", motion_rows(*real_clips(args.real, args.videos // classes, image_size=videos.shape[-1])))


if __name__ == "__main__":
    main()
