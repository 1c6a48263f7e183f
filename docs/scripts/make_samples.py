"""Make the sample pictures of the README and the docs from a run of the quick start's recipe.

Writes into ``docs/assets`` (or ``--out``):

- ``samples/real-vs-generated.gif``: eight real clips of the run's data (left) beside eight videos
  of the trained generator (right, its last sample GIF: the same latents every run, the
  categories in turn), labelled, at twice their size;
- ``samples/content-motion.gif``: 4 content codes (rows) × 4 motions (columns) of the trained
  generator (``vidgan generate RUN --grid content-motion 4 4``);
- ``samples/interpolate-content.gif``: the content going from seed 0's code to seed 1's in 8
  steps, in 2 rows of different motion (``vidgan generate RUN --interpolate content 8 2``);
- ``report.png``: the top of the run's ``report.html`` (``vidgan report RUN``), as headless
  Chromium shows it, where Chromium is installed;
- ``samples/actions-layered.gif`` (``--actions``): the generated videos of the quality
  benchmark's run of the ``layered`` recipe on the human actions (``motion-gate``), alone
  (the clips' licence keeps the real ones out of the repository).

Where the pictures come from:

- ``--benchmark VARIANT``: the quality benchmark's committed run of that variant of the
  ``quickstart`` suite, the run whose numbers the docs quote: its recipe and overrides
  from ``report.json`` and its last sample GIF from ``samples/VARIANT.gif``. The
  committed files hold no checkpoint, so this writes ``samples/real-vs-generated.gif`` only.
- ``--run RUN``: a finished run folder; every picture.
- neither: trains the quick start's recipe (:data:`QUICKSTART`, the README's main job)
  with ``vidgan run``; ``--steps`` and ``--device`` make it shorter or faster.

Example:
    python docs/scripts/make_samples.py --benchmark layered-small
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf
from PIL import Image, ImageDraw, ImageSequence

from vidgan.cli import main as vidgan
from vidgan.config import dataset_kwargs, dataset_name, load_config
from vidgan.data import sample_clips
from vidgan.registry import DATASETS
from vidgan.run_page import write_report
from vidgan.training.samples import gif_bytes

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART_REPORT = ROOT / "benchmarks" / "quality" / "quickstart"  # the quickstart suite's report folder
ACTIONS = ROOT / "benchmarks" / "quality" / "actions-motion-gate" / "samples" / "motion-gate.gif"
QUICKSTART = "layered-small"
PICTURES = {"content-motion": ["--grid", "content-motion", "4", "4"],
            "interpolate-content": ["--interpolate", "content", "8", "2"]}
SCALE, GAP, LABEL = 2, 12, 18  # the side-by-side GIF: magnification, pixels between the halves, label strip
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREEN = (760, 1000)  # the browser window of report.png: the run's facts, machines and losses


def benchmark_variant(name: str) -> dict:
    """A variant's row of the committed quality report (its recipe, overrides and samples)."""
    rows = {r["variant"]: r for r in json.loads((QUICKSTART_REPORT / "report.json").read_text())["results"]}
    if name not in rows:
        raise SystemExit(f"error: the quick start's report has no variant {name!r}; it has {', '.join(rows)}")
    return rows[name]


def train(recipe: str, steps: int | None, device: str, run_dir: Path) -> DictConfig:
    """Train ``recipe``; returns its config. ``steps`` None keeps the recipe's."""
    length = [f"train.steps={steps}", f"train.sample_every={steps}"] if steps else []
    vidgan(["run", f"recipe={recipe}", f"run_dir={run_dir}", f"device={device}", *length])
    return OmegaConf.load(run_dir / "config.yaml")


def real_gif(cfg: DictConfig) -> bytes:
    """Eight real clips of the config's data, sampled as the trainer samples them."""
    dataset = DATASETS.build(dataset_name(cfg), **dataset_kwargs(cfg))
    data = cfg.data
    clips, _ = sample_clips(dataset, 8, data.video_length, data.every_nth, torch.Generator().manual_seed(0))
    return gif_bytes(clips)


def side_by_side(real: bytes, generated: Path, path: Path) -> Path:
    """The two GIFs' frames next to each other under the labels "real" and "generated"."""
    with Image.open(io.BytesIO(real)) as left, Image.open(generated) as right:
        duration = right.info.get("duration", 100)
        size = (left.width * SCALE, left.height * SCALE)
        frames = []
        for a, b in zip(ImageSequence.Iterator(left), ImageSequence.Iterator(right)):  # one image, seeked
            canvas = Image.new("RGB", (2 * size[0] + GAP, size[1] + LABEL), "white")
            canvas.paste(a.convert("RGB").resize(size, Image.NEAREST), (0, LABEL))
            canvas.paste(b.convert("RGB").resize(size, Image.NEAREST), (size[0] + GAP, LABEL))
            draw = ImageDraw.Draw(canvas)
            draw.text((2, 3), "real", fill="black")
            draw.text((size[0] + GAP + 2, 3), "generated", fill="black")
            frames.append(canvas)
    path.parent.mkdir(parents=True, exist_ok=True)
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=duration, loop=0)
    return path


def pictures(run_dir: Path, out: Path) -> list[Path]:
    """The :data:`PICTURES` GIFs, made with ``vidgan generate`` from the run's last checkpoint."""
    for args in PICTURES.values():
        vidgan(["generate", str(run_dir), *args, "--out", str(run_dir / "generated")])
    return [Path(shutil.copy(run_dir / "generated" / f"{name}.gif", out / f"{name}.gif")) for name in PICTURES]


def screenshot(run_dir: Path, path: Path) -> list[Path]:
    """The top of the run's report page as a PNG (none where Chromium is not installed)."""
    if CHROMIUM is None:
        print("Chromium is not installed: no report.png")
        return []
    page = write_report(run_dir)
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        f"--user-data-dir={profile}", f"--window-size={SCREEN[0]},{SCREEN[1]}",
                        f"--screenshot={path}", page.resolve().as_uri()], check=True, capture_output=True, timeout=120)
    return [path]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--benchmark", metavar="VARIANT", help="the quality benchmark's committed run of VARIANT")
    source.add_argument("--run", type=Path, help="a finished run folder")
    source.add_argument("--actions", action="store_true", help="copy the actions benchmark's layered samples")
    parser.add_argument("--steps", type=int, help="when training: default, the recipe's")
    parser.add_argument("--device", default="auto", help="when training")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "assets")
    args = parser.parse_args(argv)
    (args.out / "samples").mkdir(parents=True, exist_ok=True)
    if args.actions:
        written = [Path(shutil.copy(ACTIONS, args.out / "samples" / "actions-layered.gif"))]
    elif args.benchmark:
        variant = benchmark_variant(args.benchmark)
        cfg = load_config([f"recipe={variant['recipe']}", *variant["overrides"]])
        written = [side_by_side(real_gif(cfg), QUICKSTART_REPORT / variant["samples"],
                                args.out / "samples" / "real-vs-generated.gif")]
    else:
        with tempfile.TemporaryDirectory() as work:
            run_dir = args.run or Path(work) / "run"
            cfg = (OmegaConf.load(run_dir / "config.yaml") if args.run
                   else train(QUICKSTART, args.steps, args.device, run_dir))
            last = run_dir / "samples" / f"step-{cfg.train.steps:07d}.gif"
            written = [side_by_side(real_gif(cfg), last, args.out / "samples" / "real-vs-generated.gif"),
                       *pictures(run_dir, args.out / "samples"), *screenshot(run_dir, args.out / "report.png")]
    for path in written:
        print(f"{path}  {path.stat().st_size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
