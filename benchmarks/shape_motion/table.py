"""The shape-motion table: the MoCoGAN paper's ACD numbers beside a vidgan run's eval.json.

    python benchmarks/shape_motion/table.py RUN_DIR/eval.json --train-seconds S --eval-seconds S

prints a markdown table: the paper's rows (ACD only; the paper reports no MCS for this
data), the evaluated checkpoint, and the real training clips as the reference row (their
own ACD under the same protocol, and the MCS classifier's held-out accuracy, the score a
perfect generator would get).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

PAPER = [("VGAN", 5.02), ("TGAN", 2.08), ("MoCoGAN", 1.79)]  # MoCoGAN paper (CVPR 2018), shape motion


def table(record: dict, train_seconds: int | None, eval_seconds: int | None) -> str:
    acd, mcs = record["metrics"]["acd"], record["metrics"]["mcs"]
    protocol = acd["protocol"]
    rows = ["| videos | ACD ↓ | MCS ↑ | source |", "|---|---|---|---|"]
    rows += [f"| {name} | {value:.2f} | – | MoCoGAN paper (CVPR 2018) |" for name, value in PAPER]
    trained = f", {train_seconds / 3600:.1f} h training" if train_seconds else ""
    rows.append(f"| vidgan `{record['recipe']}`, step {record['step']} | {acd['value']:.2f} | "
                f"{mcs['value']:.3f} | this run{trained} |")
    rows.append(f"| real training clips (reference) | {acd['reference']:.2f} | "
                f"{mcs['classifier_accuracy']:.3f} | the data itself; MCS column: classifier held-out accuracy |")
    per_category = ", ".join(f"{k}: {v:.3f}" for k, v in mcs["per_category"].items())
    notes = [
        "",
        f"Protocol: {protocol['num_videos']} generated videos of {protocol['frames_per_video']} frames at "
        f"{protocol['resolution'][0]}×{protocol['resolution'][1]} (seed {protocol['seed']}, categories cycled "
        f"0..{protocol['categories'] - 1}) and {protocol['real_clips']} real clips (frames "
        f"{protocol['real_every_nth']} apart, seed {protocol['real_seed']}); ACD feature `{protocol['feature']}`, "
        f"mean L2 distance over all frame pairs on the 0..255 colour scale. MCS: a clip classifier trained for "
        f"{mcs['protocol']['steps']} steps on {mcs['protocol']['train_videos']} real videos, tested on "
        f"{mcs['protocol']['heldout_videos']} held-out ones; per category {per_category}.",
    ]
    if eval_seconds:
        notes.append(f"Evaluation took {eval_seconds / 60:.1f} min.")
    return "\n".join(rows + notes) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("eval_json", type=Path)
    parser.add_argument("--train-seconds", type=int, default=None)
    parser.add_argument("--eval-seconds", type=int, default=None)
    args = parser.parse_args()
    print(table(json.loads(args.eval_json.read_text()), args.train_seconds, args.eval_seconds), end="")


if __name__ == "__main__":
    main()
