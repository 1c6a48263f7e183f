"""The MoCoGAN training loop, generalised to any generator and list of critics.

One iteration is the original's order: a step for each discriminator in the recipe's
order (real batch vs a detached fake batch), then one generator step against all of
them with fresh fakes. Each critic sees what its discriminator's ``view`` asks for:
single frames or clips.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from torch import nn

from vidgan import config as C
from vidgan.data import sample_clips, sample_frames
from vidgan.errors import VidganError
from vidgan.registry import DATASETS, DISCRIMINATORS, GENERATORS, LOSSES
from vidgan.training import checkpoint
from vidgan.training.samples import write_gif

log = logging.getLogger("vidgan")


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise VidganError("device=cuda but no CUDA device is available; use device=cpu or device=auto")
    return torch.device(name)


def build_generator(cfg: DictConfig) -> nn.Module:
    return GENERATORS.build(cfg.generator.name, **C.generator_kwargs(cfg))


@dataclass
class Critic:
    """A discriminator with its loss, auxiliary losses, batch size, weight and optimiser."""

    name: str
    net: nn.Module
    loss: Any
    aux: list[Any]
    batch: int
    weight: float
    optimizer: torch.optim.Optimizer


def adam(module: nn.Module, cfg: DictConfig) -> torch.optim.Adam:
    return torch.optim.Adam(module.parameters(), lr=cfg.optim.lr, betas=tuple(cfg.optim.betas),
                            weight_decay=cfg.optim.weight_decay)


def build_critics(cfg: DictConfig, device: torch.device) -> list[Critic]:
    critics = []
    for name, section in cfg.discriminators.items():
        net = DISCRIMINATORS.build(section.name, **C.discriminator_kwargs(cfg, name)).to(device)
        critics.append(Critic(name, net, LOSSES.build(section.get("loss", "bce")),
                              [LOSSES.build(a) for a in section.get("aux", [])],
                              section.get("batch", 1), float(section.get("weight", 1.0)),
                              adam(net, cfg)))
    return critics


class Trainer:
    """Builds everything a config names and trains it, writing a run folder.

    Example:
        >>> cfg = load_config(["recipe=mocogan", "train.steps=2", "run_dir=/tmp/r"])  # doctest: +SKIP
        >>> Trainer(cfg).fit()  # doctest: +SKIP
    """

    def __init__(self, cfg: DictConfig):
        self.cfg = cfg
        self.device = resolve_device(cfg.device)
        torch.manual_seed(cfg.seed)
        self.dataset = DATASETS.build(C.dataset_name(cfg), **C.dataset_kwargs(cfg))
        self.generator = build_generator(cfg).to(self.device)
        self.critics = build_critics(cfg, self.device)
        self.g_optimizer = adam(self.generator, cfg)
        self._check_categories()
        self.latent_rng = torch.Generator().manual_seed(cfg.seed)
        self.data_rng = torch.Generator().manual_seed(cfg.seed + 1)
        self.step = 0
        self.run_dir = Path(cfg.run_dir)

    def _check_categories(self) -> None:
        categories = getattr(self.generator, "dim_z_category", 0)
        if any(c.aux for c in self.critics) and self.dataset.num_classes > categories:
            raise VidganError(f"the data has {self.dataset.num_classes} classes but "
                              f"generator.dim_z_category is {categories}; raise it")

    # batches ------------------------------------------------------------------------
    def real_batch(self, critic: Critic) -> tuple[torch.Tensor, torch.Tensor]:
        data = self.cfg.data
        if critic.net.view == "frames":
            x, y = sample_frames(self.dataset, critic.batch, self.data_rng)
        else:
            x, y = sample_clips(self.dataset, critic.batch, data.video_length, data.every_nth, self.data_rng)
        return x.to(self.device), y.to(self.device)

    def fake_batch(self, critic: Critic) -> tuple[torch.Tensor, torch.Tensor]:
        if critic.net.view == "frames":
            return self.generator.sample_images(critic.batch, generator=self.latent_rng)
        return self.generator.sample_videos(critic.batch, generator=self.latent_rng)

    # one iteration ------------------------------------------------------------------
    def train_step(self) -> dict[str, float]:
        losses: dict[str, torch.Tensor] = {}
        for critic in self.critics:
            real, labels = self.real_batch(critic)
            with torch.no_grad():
                fake, _ = self.fake_batch(critic)
            critic.optimizer.zero_grad(set_to_none=True)
            real_logits, real_classes = critic.net(real)
            fake_logits, _ = critic.net(fake)
            loss = critic.loss.discriminator(real_logits, fake_logits)
            if hasattr(critic.loss, "penalty"):  # a regulariser such as a gradient penalty
                loss = loss + critic.loss.penalty(critic.net, real, fake)
            for aux in critic.aux:
                loss = loss + aux(real_classes, labels)
            loss.backward()
            critic.optimizer.step()
            losses[f"d_{critic.name}"] = loss.detach()

        self.g_optimizer.zero_grad(set_to_none=True)
        g_loss = torch.zeros((), device=self.device)
        for critic in self.critics:
            fake, fake_labels = self.fake_batch(critic)
            logits, classes = critic.net(fake)
            g_loss = g_loss + critic.weight * critic.loss.generator(logits)
            for aux in critic.aux:
                g_loss = g_loss + aux(classes, fake_labels)
        g_loss.backward()
        self.g_optimizer.step()
        losses["g"] = g_loss.detach()
        self.step += 1
        return {k: v.item() for k, v in losses.items()}

    # state ----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "config": OmegaConf.to_container(self.cfg),
            "generator": self.generator.state_dict(),
            "discriminators": {c.name: c.net.state_dict() for c in self.critics},
            "optimizers": {"generator": self.g_optimizer.state_dict(),
                           **{c.name: c.optimizer.state_dict() for c in self.critics}},
            "rng": {"torch": torch.get_rng_state(), "latent": self.latent_rng.get_state(),
                    "data": self.data_rng.get_state(),
                    "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.generator.load_state_dict(state["generator"])
        self.g_optimizer.load_state_dict(state["optimizers"]["generator"])
        for critic in self.critics:
            critic.net.load_state_dict(state["discriminators"][critic.name])
            critic.optimizer.load_state_dict(state["optimizers"][critic.name])
        rng = state["rng"]
        torch.set_rng_state(rng["torch"])
        self.latent_rng.set_state(rng["latent"])
        self.data_rng.set_state(rng["data"])
        if rng["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(rng["cuda"])
        self.step = state["step"]

    def save_checkpoint(self) -> Path:
        return checkpoint.save(self.state_dict(), checkpoint.checkpoint_path(self.run_dir, self.step),
                               keep=self.cfg.train.keep_checkpoints)

    def write_samples(self) -> Path:
        """A GIF of ``train.num_samples`` videos from a fixed latent, comparable across steps."""
        self.generator.eval()
        n = self.cfg.train.num_samples
        categories = max(getattr(self.generator, "dim_z_category", 0), 1)
        labels = torch.arange(n) % categories
        with torch.no_grad():
            videos, _ = self.generator.sample_videos(
                n, generator=torch.Generator().manual_seed(self.cfg.seed), labels=labels.to(self.device))
        self.generator.train()
        return write_gif(videos, self.run_dir / "samples" / f"step-{self.step:07d}.gif")

    # the run --------------------------------------------------------------------------
    def prepare_run_dir(self, resume: bool) -> None:
        if resume:
            state = checkpoint.load(self.run_dir)
            self.load_state_dict(state)
            self._truncate_metrics()
            log.info("resumed %s at step %d", self.run_dir, self.step)
        elif checkpoint.list_checkpoints(self.run_dir):
            raise VidganError(f"run folder {self.run_dir} already has checkpoints; continue it with "
                              f"train.resume={self.run_dir} or choose another run_dir")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        saved = OmegaConf.merge(self.cfg, {"train": {"resume": None}})
        OmegaConf.save(saved, self.run_dir / "config.yaml")

    def _truncate_metrics(self) -> None:
        """Drop log lines of steps after the checkpoint: they will be run again."""
        path = self.run_dir / "metrics.jsonl"
        if path.is_file():
            lines = [line for line in path.read_text().splitlines()
                     if line.strip() and json.loads(line)["step"] <= self.step]
            path.write_text("".join(line + "\n" for line in lines))

    def fit(self, resume: bool = False) -> Path:
        """Train to ``train.steps``; returns the run folder."""
        self.prepare_run_dir(resume)
        train = self.cfg.train
        progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("{task.fields[speed]} it/s"), TimeRemainingColumn(),
                            TextColumn("{task.fields[losses]}"), console=Console(stderr=True))
        start, done_at_start = time.perf_counter(), self.step
        with progress, open(self.run_dir / "metrics.jsonl", "a") as metrics:
            task = progress.add_task(self.cfg.recipe, total=train.steps, completed=self.step,
                                     speed="-", losses="")
            while self.step < train.steps:
                losses = self.train_step()
                elapsed = time.perf_counter() - start
                metrics.write(json.dumps({"step": self.step, "time": round(elapsed, 3), **losses}) + "\n")
                metrics.flush()
                speed = (self.step - done_at_start) / elapsed
                progress.update(task, completed=self.step, speed=f"{speed:.2f}",
                                losses=" ".join(f"{k} {v:.3f}" for k, v in losses.items()))
                if self.step % train.sample_every == 0:
                    self.write_samples()
                if self.step % train.checkpoint_every == 0:
                    self.save_checkpoint()
        if not checkpoint.list_checkpoints(self.run_dir) or self.step % train.checkpoint_every:
            self.save_checkpoint()
        if self.step % train.sample_every:
            self.write_samples()
        return self.run_dir


def default_run_dir(cfg: DictConfig) -> str:
    return str(Path("runs") / f"{cfg.recipe}-{datetime.now():%Y%m%d-%H%M%S}")


def run(cfg: DictConfig) -> Path:
    """Train (or resume) a validated config; returns the run folder."""
    resume = cfg.train.resume
    if resume:
        cfg = OmegaConf.merge(cfg, {"run_dir": str(resume)})
    elif not cfg.run_dir:
        cfg = OmegaConf.merge(cfg, {"run_dir": default_run_dir(cfg)})
    return Trainer(cfg).fit(resume=bool(resume))
