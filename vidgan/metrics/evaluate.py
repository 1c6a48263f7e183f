"""``vidgan eval``: the requested metrics of one checkpoint, written with their protocol.

``vidgan eval CHECKPOINT_OR_RUN_DIR metrics=[acd,mcs] num_videos=256 data.root=... key=value``
loads the generator (its EMA copy when the checkpoint has one, unless ``ema=false``),
rebuilds the real data set from the training config (``data.*`` overrides it, e.g. a
``data.root`` on this machine), draws the generated videos and real clips once (see
:mod:`vidgan.metrics.base` for how) and runs every metric on them. It writes
``eval.json`` (each metric's value and protocol, the checkpoint and its SHA-256, the
seed) and ``eval.md`` (a markdown table) into the run folder, or ``out``, and returns
that folder; ``vidgan eval`` prints the table and, when the folder is a run folder,
rewrites its report page. The same command gives the same numbers: all sampling is
seeded by ``seed``.

Keys (all optional but ``metrics``): ``num_videos`` (256), ``seed`` (0), ``batch_size``
(16), ``device`` (auto), ``ema`` (auto: the EMA generator when there is one),
``inception_weights`` (FID/KID/IS; or ``$VIDGAN_INCEPTION_WEIGHTS``), ``i3d_weights`` (FVD;
or ``$VIDGAN_I3D_WEIGHTS``), ``out`` (the folder to write to), ``data.*`` (training data
overrides) and ``options.<metric>.<key>`` (a metric's own options, e.g. ``options.mcs.steps``).

Example:
    >>> evaluate("runs/shapes", ["metrics=[acd]", "num_videos=64"])  # doctest: +SKIP
    PosixPath('runs/shapes')
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

import torch
from omegaconf import DictConfig, OmegaConf

from vidgan import __version__
from vidgan import config as C
from vidgan.errors import VidganError
from vidgan.metrics.base import EvalContext, sha256
from vidgan.registry import DATASETS, METRICS
from vidgan.training import checkpoint
from vidgan.build import build_generator, resolve_device

log = logging.getLogger("vidgan")


@dataclass
class EvalConfig:
    metrics: List[str] = field(default_factory=list)
    num_videos: int = 256
    seed: int = 0
    batch_size: int = 16
    device: str = "auto"
    ema: Optional[bool] = None  # None: the EMA generator when the checkpoint has one
    inception_weights: Optional[str] = None
    i3d_weights: Optional[str] = None
    out: Optional[str] = None  # default: the run folder
    data: Dict[str, Any] = field(default_factory=dict)  # overrides of the training data config
    options: Dict[str, Any] = field(default_factory=dict)  # options.<metric>.<key>


# Config keys a metric may take as constructor arguments.
DERIVED = ("inception_weights", "i3d_weights")


def load_eval_config(args: list[str]) -> DictConfig:
    """``key=value`` arguments to a validated :class:`EvalConfig`."""
    cfg = C._merge(OmegaConf.structured(EvalConfig), C.parse_overrides(args))
    if not cfg.metrics:
        raise VidganError(f"name the metrics, e.g. metrics=[acd,mcs]; registered: {', '.join(METRICS.names())}")
    for key in ("num_videos", "batch_size"):
        if cfg[key] < 1:
            raise VidganError(f"{key} must be at least 1, got {cfg[key]}")
    if cfg.num_videos < 2:
        raise VidganError("num_videos must be at least 2 (metrics compare distributions)")
    if cfg.device not in C.DEVICES:
        raise VidganError(f"device must be one of {', '.join(C.DEVICES)}, got {cfg.device!r}")
    for name in cfg.options:
        if name not in cfg.metrics:
            raise VidganError(f"options.{name} is set but {name!r} is not in metrics={list(cfg.metrics)}")
    return cfg


def build_metrics(cfg: DictConfig) -> dict[str, Any]:
    """Each requested metric built with its options (checked like component sections)."""
    built = {}
    for name in cfg.metrics:
        factory = METRICS.get(name)
        options = cfg.options.get(name, {})
        if not isinstance(options, (dict, DictConfig)):
            raise VidganError(f"options.{name} must be key=value pairs, e.g. options.{name}.KEY=VALUE")
        options = OmegaConf.to_container(options) if isinstance(options, DictConfig) else options
        derived = {key: (cfg[key], key) for key in DERIVED}
        built[name] = factory(**C.component_kwargs(f"options.{name}", options, factory, derived))
    return built


def _run_dir(path: Path) -> Path:
    if path.is_dir():
        return path
    return path.parent.parent if path.parent.name == "checkpoints" else path.parent


def _checkpoint_file(path: Path, step: int) -> Path:
    return path if path.is_file() else checkpoint.checkpoint_path(path, step)


def evaluate(path: str | Path, args: list[str]) -> Path:
    """Evaluate a checkpoint or run folder; write eval.json and eval.md; return their folder."""
    cfg = load_eval_config(args)
    path = Path(path)
    state = checkpoint.load(path)
    train_cfg = C._merge(OmegaConf.structured(C.Config), OmegaConf.create(state["config"]),
                         OmegaConf.create({"data": OmegaConf.to_container(cfg.data)}))
    dataset_kwargs = C.dataset_kwargs(train_cfg)
    metrics = build_metrics(cfg)

    weights = "ema_generator" if cfg.ema is not False and "ema_generator" in state else "generator"
    if cfg.ema and weights != "ema_generator":
        raise VidganError("ema=true but the checkpoint has no EMA generator (train with train.ema_decay>0)")
    device = resolve_device(cfg.device)
    generator = build_generator(train_cfg)
    checkpoint.load_weights(generator, state[weights], weights.replace("_", " "))
    generator.to(device).eval()

    out_dir = Path(cfg.out) if cfg.out else _run_dir(path)
    data = OmegaConf.to_container(train_cfg.data)
    ctx = EvalContext(
        generator, lambda: DATASETS.build(C.dataset_name(train_cfg), **dataset_kwargs),
        num_videos=cfg.num_videos, video_length=train_cfg.data.video_length,
        every_nth=train_cfg.data.every_nth, seed=cfg.seed, batch_size=cfg.batch_size,
        device=device, out_dir=out_dir, data=data, requested=list(cfg.metrics))
    results = {}
    for name, metric in metrics.items():
        start = time.perf_counter()
        log.info("eval: %s", name)
        results[name] = {**metric(ctx), "seconds": round(time.perf_counter() - start, 2)}

    file = _checkpoint_file(path, state["step"])
    record = {"checkpoint": str(file), "checkpoint_sha256": sha256(file), "step": state["step"],
              "recipe": train_cfg.recipe, "generator_weights": weights, "seed": cfg.seed,
              "num_videos": cfg.num_videos, "device": str(device), "data": data,
              "versions": {"vidgan": __version__, "torch": torch.__version__}, "metrics": results}
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "eval.json").write_text(json.dumps(record, indent=2) + "\n")
    (out_dir / "eval.md").write_text(markdown(record))
    return out_dir


def _number(value: float) -> str:
    return f"{value:.4g}"


COLUMNS = ("metric", "value", "real data", "notes")


def table_rows(record: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """One row of :data:`COLUMNS` per metric of an eval.json record."""
    rows = []
    for name, result in record["metrics"].items():
        notes = []
        if "std" in result:
            notes.append(f"± {_number(result['std'])}")
        if "classifier_accuracy" in result:
            notes.append(f"classifier held-out accuracy {_number(result['classifier_accuracy'])}")
            notes.append("per category " + ", ".join(f"{k}: {_number(v)}"
                                                     for k, v in result["per_category"].items()))
        if "copied" in result:
            notes.append(f"copied {_number(result['copied'])}; nearest training clip "
                         f"{_number(result['generated_distance'])}, unseen real {_number(result['heldout_distance'])}")
        if "train_accuracy" in result:
            notes.append(f"classifier train accuracy {_number(result['train_accuracy'])}")
        if result["protocol"].get("weights"):
            notes.append(f"weights {Path(result['protocol']['weights']).name} "
                         f"(sha256 {result['protocol']['weights_sha256'][:12]})")
        reference = _number(result["reference"]) if "reference" in result else ""
        rows.append((name, _number(result["value"]), reference, "; ".join(notes)))
    return rows


def protocol(record: dict[str, Any]) -> str:
    """The sampling protocol of an eval.json record, in one sentence."""
    first = next(iter(record["metrics"].values()))["protocol"]
    height, width = first["resolution"]
    return (f"{record['checkpoint']} (step {record['step']}, {record['generator_weights']}); "
            f"{record['num_videos']} generated videos × {first['frames_per_video']} frames at "
            f"{height}×{width}, seed {record['seed']}; real clips of frames "
            f"{record['data']['every_nth']} apart, seed {record['seed'] + 1}.")


def markdown(record: dict[str, Any]) -> str:
    """The table of an eval.json record: one row per metric, then the sampling protocol."""
    rows = [f"| {' | '.join(COLUMNS)} |", "|---|---|---|---|"]
    rows += [f"| {' | '.join(row)} |" for row in table_rows(record)]
    return "\n".join(rows + ["", protocol(record)]) + "\n"
