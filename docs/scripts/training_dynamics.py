"""Plot a run's training dynamics: losses, the critics' accuracies, gradient norms, quality.

    python docs/scripts/training_dynamics.py RUN_DIR OUT.png [--title TEXT] [--window 25]

Reads ``RUN_DIR/metrics.jsonl`` (every step: losses ``d_*`` and ``g``, accuracies
``acc_<critic>_real|fake``, gradient norms ``gnorm_*``) and, when present, the
evaluations of its checkpoints that ``python -m benchmarks.quality --curve`` writes
(``RUN_DIR/eval/step-*/eval.json``: ACD, MCS, c2st per checkpoint). Needs the ``docs``
extra (matplotlib).
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
        "critic accuracy on real and fake": [k for k in rows[-1] if k.startswith("acc_")],
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--title", default=None)
    parser.add_argument("--window", type=int, default=25, help="steps in each running mean")
    args = parser.parse_args()
    print(plot(args.run_dir, args.out, args.title or str(args.run_dir), args.window))


if __name__ == "__main__":
    main()
