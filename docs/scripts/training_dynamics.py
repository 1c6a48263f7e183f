"""Plot a run's training dynamics: losses, the critics' accuracies, gradient norms, quality.

    python docs/scripts/training_dynamics.py RUN_DIR OUT.png [--title TEXT] [--window 25]

Reads ``RUN_DIR/metrics.jsonl`` (every step: losses ``d_*`` and ``g``, accuracies
``acc_<critic>_real|fake``, class-head accuracies ``cls_<critic>_real|fake``, gradient norms
``gnorm_*``) and, when present, the
evaluations of its checkpoints that ``python -m benchmarks.quality --curve`` writes
(``RUN_DIR/eval/step-*/eval.json``: ACD, MCS, c2st per checkpoint). Prints each logged
value's mean over the steps after ``--from`` (the numbers the training-dynamics page
quotes). Needs the ``docs`` extra (matplotlib).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402


def smooth(values: list[float], window: int) -> list[float]:
    """Running mean over ``window`` steps (the first ``window - 1`` steps dropped)."""
    t = torch.tensor(values, dtype=torch.float64)
    return t.unfold(0, window, 1).mean(1).tolist() if len(t) >= window else t.tolist()


def plot(run_dir: Path, out: Path, title: str, window: int = 25) -> Path:
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    steps = [r["step"] for r in rows]
    panels = {
        "losses (log scale)": [k for k in rows[-1] if k == "g" or k.startswith("d_")],
        "critic accuracy on real and fake, class head accuracy":
            [k for k in rows[-1] if k.startswith(("acc_", "cls_"))],
        "gradient norm (log scale)": [k for k in rows[-1] if k.startswith("gnorm_")],
    }
    evals = sorted((json.loads(p.read_text()) for p in run_dir.glob("eval/step-*/eval.json")),
                   key=lambda r: r["step"])
    fig, axes = plt.subplots(2, 2, figsize=(10, 6), dpi=100)
    for ax, (name, keys) in zip(axes.flat, panels.items()):
        for key in keys:
            values = [r.get(key, float("nan")) for r in rows]
            ax.plot(steps[len(steps) - len(smooth(values, window)):], smooth(values, window), label=key)
        if "log" in name:
            ax.set_yscale("log")
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("step")
        ax.legend(frameon=False, fontsize=7, ncol=2)
    ax = axes.flat[3]
    if evals:
        x = [r["step"] for r in evals]
        acd = [r["metrics"]["acd"]["value"] for r in evals]
        ax.plot(x, acd, "o-", label="ACD (generated)")
        ax.axhline(evals[-1]["metrics"]["acd"]["reference"], color="grey", linestyle="--", label="ACD (real clips)")
        ax.set_ylabel("ACD (0..255 scale)")
        right = ax.twinx()
        for key, style in (("mcs", "s-"), ("c2st", "^-")):
            if key in evals[-1]["metrics"]:
                right.plot(x, [r["metrics"][key]["value"] for r in evals], style, color=f"C{2 + (key == 'c2st')}",
                           label=key.upper())
        right.set_ylim(0, 1.05)
        right.set_ylabel("MCS, c2st accuracy")
        right.legend(frameon=False, fontsize=7, loc="upper right")
        ax.legend(frameon=False, fontsize=7, loc="upper left")
    ax.set_title("quality of the checkpoints", fontsize=10)
    ax.set_xlabel("step")
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out


def means(run_dir: Path, after: int) -> dict[str, float]:
    """Each logged value's mean over the steps after ``after``."""
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    rows = [r for r in rows if r["step"] > after]
    return {k: sum(r[k] for r in rows) / len(rows) for k in rows[-1] if k not in ("step", "time")}


def colour_spread(run_dir: Path, num_videos: int = 256) -> tuple[float, float]:
    """Mode coverage of the content: the mean distance between two videos' shape colours
    (0..255 scale), for the run's last checkpoint and for as many real clips."""
    from vidgan.config import dataset_kwargs, dataset_name
    from vidgan.data import sample_clips
    from vidgan.generate import load_generator
    from vidgan.registry import DATASETS, FEATURES

    feature = FEATURES.build("shape-colour")
    generator, cfg = load_generator(run_dir)
    categories = max(getattr(generator, "dim_z_category", 0), 1)
    with torch.no_grad():
        fake, _ = generator.sample_videos(num_videos, generator=torch.Generator().manual_seed(0),
                                          labels=torch.arange(num_videos) % categories)
    data = DATASETS.build(dataset_name(cfg), **dataset_kwargs(cfg))
    real, _ = sample_clips(data, num_videos, cfg.data.video_length, cfg.data.every_nth,
                           torch.Generator().manual_seed(1))

    def spread(videos: torch.Tensor) -> float:
        colours = feature(videos.transpose(1, 2).flatten(0, 1)).view(num_videos, -1, 3).mean(1)
        return torch.pdist(colours.double()).mean().item()

    return spread(fake), spread(real)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--title", default=None)
    parser.add_argument("--window", type=int, default=25, help="steps in each running mean")
    parser.add_argument("--from", dest="after", type=int, default=500, help="print means over the later steps")
    args = parser.parse_args()
    print(plot(args.run_dir, args.out, args.title or str(args.run_dir), args.window))
    print(f"means over steps after {args.after}: "
          + ", ".join(f"{k} {v:.3g}" for k, v in means(args.run_dir, args.after).items()))
    print("colour spread across videos (generated, real): %.1f, %.1f" % colour_spread(args.run_dir))


if __name__ == "__main__":
    main()
