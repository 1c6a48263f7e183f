"""The quality benchmark: train recipes for a fixed budget, evaluate them, write one table.

    python -m benchmarks.quality [--suite NAME] [VARIANT ...] [--out DIR]
                                 [--runs DIR] [--num-videos N] [--curve] [key=value ...]

A suite (``SUITES``, :mod:`benchmarks.quality_suites`) is a data set, its targets and its
variants. ``shapes`` (the default)
trains on the synthetic shapes the runs generate; ``actions`` on the MoCoGAN authors'
human actions (``--data-root``, default ``../shared/data/mocogan-actions``). Each variant
(all of the suite's by default) is a recipe plus overrides. It is trained with ``vidgan
run`` (wall time measured), its last checkpoint evaluated with ``vidgan eval`` (ACD beside
the real clips', MCS beside its classifier's accuracy on real clips, the real-vs-generated
two-sample test ``c2st`` beside a real-vs-real control, and on real video the
``memorisation`` ratio) and its last sample GIF copied with a PNG sheet of its frames.
``--curve`` evaluates every checkpoint too, which gives the wall time at which a variant
first meets the suite's targets. ``key=value``
arguments override every variant's config (``train.steps=3000``, ``device=cuda``);
``eval.key=value`` ones go to ``vidgan eval`` (``eval.options.mcs.steps=100``).

Writes ``DIR/report.md`` and ``DIR/report.json`` (default: the suite's folder, such as
``benchmarks/quality`` for shapes) and ``DIR/samples/VARIANT.gif|png``; the runs
go to ``--runs`` (default ``runs/quality``).
A variant whose run folder has checkpoints is not trained again, and a checkpoint with an
evaluation is not evaluated again (the curve shows every evaluated checkpoint): delete the
folder (or pass ``--fresh``) to redo both.

Example:
    python -m benchmarks.quality --suite quickstart --curve
    python -m benchmarks.quality mocogan-plus-small original --curve
    python -m benchmarks.quality --suite actions
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import torch
from omegaconf import OmegaConf

from benchmarks.quality_suites import SUITES, Suite, Targets, Variant
from vidgan.bench.machine import machine
from vidgan.config import load_config
from vidgan.errors import VidganError
from vidgan.generate import load_generator
from vidgan.metrics.evaluate import evaluate
from vidgan.training import checkpoint
from vidgan.training.samples import write_grid
from vidgan.training.trainer import run


def classifier_file(runs: Path, cfg: Any, eval_overrides: list[str]) -> Path:
    """Where the MCS classifier is kept: one per data config and evaluation options, shared by
    the variants (``vidgan eval`` refuses a classifier made for other data)."""
    key = json.dumps([OmegaConf.to_container(cfg.data), eval_overrides], sort_keys=True, default=str)
    return runs / f"mcs-classifier-{hashlib.sha256(key.encode()).hexdigest()[:12]}.pt"


def evaluate_checkpoint(path: Path, out: Path, classifier: Path, num_videos: int, metrics: tuple[str, ...],
                        extra: list[str]) -> dict[str, Any]:
    """``vidgan eval`` of one checkpoint into ``out``; returns its eval.json record."""
    evaluate(path, [f"metrics=[{','.join(metrics)}]", f"num_videos={num_videos}", f"out={out}",
                    f"options.mcs.classifier={classifier}", *extra])
    return json.loads((out / "eval.json").read_text())


def summary(record: dict[str, Any], targets: Targets) -> dict[str, Any]:
    """The numbers of one evaluation, and whether they meet the targets."""
    m = record["metrics"]
    row = {"step": record["step"], "acd": m["acd"]["value"], "acd_real": m["acd"]["reference"],
           "mcs": m["mcs"]["value"], "mcs_real": m["mcs"]["classifier_accuracy"],
           "c2st": m["c2st"]["value"], "c2st_real": m["c2st"].get("reference")}
    if "memorisation" in m:
        row["memorisation"], row["copied"] = m["memorisation"]["value"], m["memorisation"]["copied"]
    if "nn-c2st" in m:
        row["nn_c2st"], row["nn_c2st_real"] = m["nn-c2st"]["value"], m["nn-c2st"]["reference"]
    row["meets_targets"] = targets.met(row)
    return row


def train_seconds(run_dir: Path) -> dict[int, float]:
    """Each logged step's wall time since the run started (metrics.jsonl, resumes added up)."""
    times, offset, last = {}, 0.0, 0.0
    for line in (run_dir / "metrics.jsonl").read_text().splitlines():
        row = json.loads(line)
        if row["time"] < last:  # a resumed run's clock restarts
            offset += last
        last = row["time"]
        times[row["step"]] = offset + row["time"]
    return times


def frames_png(checkpoint_file: Path, png: Path, num_videos: int = 8) -> Path:
    """A PNG of ``num_videos`` videos (rows; categories in turn) and their frames (columns)."""
    generator, cfg = load_generator(checkpoint_file)
    categories = max(getattr(generator, "dim_z_category", 0), 1)
    with torch.no_grad():
        videos, _ = generator.sample_videos(num_videos, generator=torch.Generator().manual_seed(cfg.seed),
                                            labels=torch.arange(num_videos) % categories)
    return write_grid(videos, png)


def bench_variant(name: str, variant: Variant, suite: Suite, args: argparse.Namespace) -> dict[str, Any]:
    run_dir = args.runs / name
    if args.fresh and run_dir.exists():
        shutil.rmtree(run_dir)
    data = [f"data.root={args.data_root}"] if suite.data_root else []
    cfg = load_config([f"recipe={variant.recipe}", *data, *variant.overrides, *args.overrides,
                       f"run_dir={run_dir}"])
    if not checkpoint.list_checkpoints(run_dir):
        print(f"[{name}] training {variant.recipe} {' '.join(variant.overrides + tuple(args.overrides))}",
              flush=True)
        run(cfg)
    seconds = train_seconds(run_dir)
    classifier = classifier_file(args.runs, cfg, args.eval_overrides)
    checkpoints = checkpoint.list_checkpoints(run_dir)
    curve = []
    for path in checkpoints:
        out = run_dir / "eval" / path.stem
        done = out / "eval.json"
        if done.exists():  # evaluated before (by an earlier --curve run, say): on the curve
            record = json.loads(done.read_text())
        elif args.curve or path == checkpoints[-1]:
            record = evaluate_checkpoint(path, out, classifier, args.num_videos, suite.metrics,
                                         [*data, *args.eval_overrides])  # the real clips from this data root
        else:
            continue
        row = summary(record, suite.targets)
        row["train_seconds"] = round(seconds[row["step"]], 1)
        curve.append(row)
        print(f"[{name}] step {row['step']}: ACD {row['acd']:.2f} (real {row['acd_real']:.2f}), "
              f"MCS {row['mcs']:.3f}, c2st {row['c2st']:.3f}", flush=True)
    samples = sorted((run_dir / "samples").glob("step-*.gif"))
    (args.out / "samples").mkdir(parents=True, exist_ok=True)
    gif = Path(shutil.copy(samples[-1], args.out / "samples" / f"{name}.gif"))
    frames_png(checkpoints[-1], gif.with_suffix(".png"))
    reached = next((row for row in curve if row["meets_targets"]), None)
    return {"variant": name, "recipe": variant.recipe, "overrides": list(variant.overrides),
            "what": variant.what, **curve[-1], "curve": curve,
            "targets_met_at": {"step": reached["step"], "train_seconds": reached["train_seconds"]}
            if reached else None, "samples": f"samples/{gif.name}"}


def markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    flags = [f for f in m.get("cpu_flags", []) if "bf16" in f or f.startswith("amx")]
    bf16 = f"native bf16: {', '.join(flags) or 'yes'}" if m["native_bf16_cpu"] else "no native bf16"
    real_video = all("memorisation" in r and "nn_c2st" in r for r in report["results"])
    lines = [
        "# Quality benchmark", "",
        f"`{report['command']}`", "",
        f"Machine: {m['cpu']} ({m['cores']} cores, {bf16}), torch {m['torch']}, "
        f"{m['threads']} thread{'s' * (m['threads'] != 1)}"
        + (f", {m['cuda']}" if m.get("cuda") else "") + f"; {report['date']}.", "",
        *([report["note"], ""] if report.get("note") else []),
        f"Targets: {report['targets']}. Each row: {report['num_videos']} generated videos and as many real "
        "clips (`vidgan eval`); ACD on the 0..255 colour scale (lower is better), MCS and c2st accuracies "
        "(c2st 0.5: real and generated cannot be told apart; in brackets, real clips against other real "
        "clips)." + (" nn-c2st: the same test judged by each clip's nearest neighbour. Memorisation: "
                     "generated clips' distance to their nearest training clip over unseen real clips' "
                     "(about 1: no copying; `copied`: the share nearer than nearly all real clips)."
                     if real_video else ""), "",
        "| variant | what | steps | train time | ACD (real) | MCS (real) | c2st (real) |"
        + (" nn-c2st (real) | memorisation (copied) |" if real_video else "") + " targets met at |",
        "|---|---|---|---|---|---|---|" + ("---|---|" if real_video else "") + "---|",
    ]
    for r in report["results"]:
        met = r["targets_met_at"]
        met = f"step {met['step']}, {met['train_seconds'] / 60:.1f} min" if met else (
            "no" if len(r["curve"]) > 1 or not r["meets_targets"] else "yes")
        c2st_real = f" ({r['c2st_real']:.3f})" if r.get("c2st_real") is not None else ""
        copying = (f" {r['nn_c2st']:.3f} ({r['nn_c2st_real']:.3f}) | {r['memorisation']:.2f} ({r['copied']:.0%}) |"
                   if real_video else "")
        lines.append(f"| `{r['variant']}` | {r['what']} | {r['step']} | {r['train_seconds'] / 60:.1f} min | "
                     f"{r['acd']:.2f} ({r['acd_real']:.2f}) | {r['mcs']:.3f} ({r['mcs_real']:.3f}) | "
                     f"{r['c2st']:.3f}{c2st_real} |{copying} {met} |")
    for r in report["results"]:
        if len(r["curve"]) > 1:
            lines += ["", f"`{r['variant']}` over training:", "",
                      "| step | train time | ACD | MCS | c2st |", "|---|---|---|---|---|"]
            lines += [f"| {c['step']} | {c['train_seconds'] / 60:.1f} min | {c['acd']:.2f} | {c['mcs']:.3f} | "
                      f"{c['c2st']:.3f} |" for c in r["curve"]]
    lines += ["", "Samples (last sample GIF of each run; `samples/VARIANT.png`: one video per row, categories in turn, one frame per column):", ""]
    lines += [f"- `{r['variant']}`: ![{r['variant']}]({r['samples']})" for r in report["results"]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.quality", description=__doc__.splitlines()[0])
    parser.add_argument("items", nargs="*", help="the suite's variants and key=value overrides")
    parser.add_argument("--suite", choices=list(SUITES), default="shapes")
    parser.add_argument("--data-root", help="the suite's data folder (actions: the MoCoGAN authors' clips)")
    parser.add_argument("--out", type=Path, help="the report's folder (default: the suite's)")
    parser.add_argument("--runs", type=Path, default=Path("runs/quality"))
    parser.add_argument("--num-videos", type=int, default=256)
    parser.add_argument("--curve", action="store_true", help="evaluate every checkpoint, not only the last")
    parser.add_argument("--fresh", action="store_true", help="retrain variants whose run folder exists")
    parser.add_argument("--note", default="", help="a line for the report, e.g. how the runs shared the machine")
    args = parser.parse_args(argv)
    args.overrides = [item for item in args.items if "=" in item and not item.startswith("eval.")]
    args.eval_overrides = [item[len("eval."):] for item in args.items if item.startswith("eval.")]
    suite = SUITES[args.suite]
    args.out = args.out or Path(suite.out)
    args.data_root = args.data_root or suite.data_root
    if suite.data_root and not Path(args.data_root).is_dir():
        raise VidganError(f"the {args.suite} suite's data folder {args.data_root} does not exist: "
                          "pass --data-root FOLDER")
    names = [item for item in args.items if "=" not in item] or list(suite.variants)
    unknown = [name for name in names if name not in suite.variants]
    if unknown:
        raise VidganError(f"unknown variant {unknown[0]!r}; the {args.suite} suite's variants are "
                          f"{', '.join(suite.variants)}")
    given = list(sys.argv[1:] if argv is None else argv)
    while "--note" in given:  # the note is printed on its own line, not in the command
        del given[given.index("--note"):given.index("--note") + 2]
    given = [item for item in given if not item.startswith("--note=")]
    command = " ".join(["python -m benchmarks.quality", *given])
    report = {"command": command, "machine": machine(), "date": time.strftime("%Y-%m-%d"),
              "num_videos": args.num_videos, "targets": str(suite.targets), "note": args.note,
              "results": [bench_variant(name, suite.variants[name], suite, args) for name in names]}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.out / "report.md").write_text(markdown(report))
    print(f"wrote {args.out / 'report.md'}")
    return report


if __name__ == "__main__":
    try:
        main()
    except VidganError as err:
        raise SystemExit(f"error: {err}") from None
