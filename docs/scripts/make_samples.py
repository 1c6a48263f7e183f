"""Train a small MoCoGAN on the synthetic shapes and write the sample outputs the docs show.

Writes into ``docs/assets`` (or ``--out``):

- ``samples/data.gif``: eight real clips of the synthetic shape-motion data;
- ``samples/mocogan.gif``: eight videos from the trained generator (fixed latents);
- ``samples/content-motion.gif``: 4 content codes (rows) × 4 motions (columns) of the
  trained generator (``vidgan generate RUN --grid content-motion 4 4``);
- ``samples/interpolate-content.gif``: the content going from seed 0's code to seed 1's in
  8 steps, in 2 rows of different motion (``vidgan generate RUN --interpolate content 8 2``);
- ``loss.png``: the discriminators' and the generator's losses over the run.

The run is an ordinary ``vidgan run recipe=mocogan-plus-small`` (the quick start: a
conditional MoCoGAN at 32×32 for a CPU, 1500 steps); ``--steps`` and ``--device`` make it
shorter, longer or faster, and ``--run RUN`` takes the pictures from a finished run of that
recipe instead (the quality benchmark's, say, whose numbers the docs quote).
Needs the ``docs`` extra (matplotlib).

Example:
    python docs/scripts/make_samples.py --run runs/quality/quickstart
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from omegaconf import DictConfig, OmegaConf  # noqa: E402

from vidgan.cli import main as vidgan  # noqa: E402
from vidgan.config import dataset_kwargs, dataset_name  # noqa: E402
from vidgan.data import sample_clips  # noqa: E402
from vidgan.registry import DATASETS  # noqa: E402
from vidgan.training.samples import write_gif  # noqa: E402

DOCS = Path(__file__).resolve().parents[1]
RECIPE = "mocogan-plus-small"
PICTURES = {"content-motion": ["--grid", "content-motion", "4", "4"],
            "interpolate-content": ["--interpolate", "content", "8", "2"]}


def train(steps: int | None, device: str, run_dir: Path) -> DictConfig:
    """Train the recipe; returns its config. ``steps`` None keeps the recipe's."""
    length = [f"train.steps={steps}", f"train.sample_every={steps}"] if steps else []
    vidgan(["run", f"recipe={RECIPE}", f"run_dir={run_dir}", f"device={device}", *length])
    return OmegaConf.load(run_dir / "config.yaml")


def data_gif(cfg: DictConfig, path: Path) -> Path:
    """Eight real clips of the run's data, sampled as the trainer samples them."""
    dataset = DATASETS.build(dataset_name(cfg), **dataset_kwargs(cfg))
    data = cfg.data
    clips, _ = sample_clips(dataset, 8, data.video_length, data.every_nth, torch.Generator().manual_seed(0))
    return write_gif(clips, path)


def pictures(run_dir: Path, out: Path) -> list[Path]:
    """The :data:`PICTURES` GIFs, made with ``vidgan generate`` from the run's last checkpoint."""
    for args in PICTURES.values():
        vidgan(["generate", str(run_dir), *args, "--out", str(run_dir / "generated")])
    return [Path(shutil.copy(run_dir / "generated" / f"{name}.gif", out / f"{name}.gif")) for name in PICTURES]


def loss_plot(metrics: Path, title: str, path: Path, window: int = 20) -> Path:
    """Each loss per step (faint) and its running mean over ``window`` steps."""
    rows = [json.loads(line) for line in metrics.read_text().splitlines()]
    steps = [r["step"] for r in rows]
    fig, ax = plt.subplots(figsize=(6.4, 3.2), dpi=100)
    for key in [k for k in rows[0] if k == "g" or k.startswith("d_")]:
        values = torch.tensor([r[key] for r in rows])
        smooth = values.unfold(0, window, 1).mean(1) if len(values) >= window else values
        (line,) = ax.plot(steps[len(steps) - len(smooth):], smooth.tolist(), label=key)
        ax.plot(steps, values.tolist(), color=line.get_color(), alpha=0.2, linewidth=0.8)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_yscale("log")
    ax.legend(frameon=False, ncol=3, loc="best")
    ax.set_title(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, help="default: the recipe's")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", type=Path, default=DOCS / "assets")
    parser.add_argument("--run", type=Path, help="a finished run of the recipe to take the pictures from")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as work:
        run_dir = args.run or Path(work) / "run"
        cfg = OmegaConf.load(run_dir / "config.yaml") if args.run else train(args.steps, args.device, run_dir)
        (args.out / "samples").mkdir(parents=True, exist_ok=True)
        shutil.copy(run_dir / "samples" / f"step-{cfg.train.steps:07d}.gif", args.out / "samples" / "mocogan.gif")
        pictures(run_dir, args.out / "samples")
        size = cfg.data.image_size
        loss_plot(run_dir / "metrics.jsonl", f"vidgan run recipe={RECIPE}, {size}×{size}, synthetic shapes",
                  args.out / "loss.png")
    data_gif(cfg, args.out / "samples" / "data.gif")
    for path in sorted(args.out.rglob("*.*")):
        print(f"{path.relative_to(args.out.parent)}  {path.stat().st_size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
