"""The MoCoGAN training loop, generalised to any generator and list of critics.

One iteration is the original's order: a step for each discriminator in the recipe's
order (real batch vs a detached fake batch), then one generator step against all of
them with fresh fakes (or the same fakes, with ``train.reuse_fakes``). Each critic sees
what its discriminator's ``view`` asks for: single frames or clips.

With ``train.prefetch`` the real batches of the next steps are drawn in a thread while a
step computes (:mod:`vidgan.training.prefetch`); the run is the same as without.

A run is crash-safe: checkpoints are atomic and hold every state needed to continue
bit for bit (models, optimisers, EMA, all random number generators, step, config);
SIGINT and SIGTERM write a checkpoint before exiting; a non-finite loss stops the run
(or skips the step) without touching the last good checkpoint.
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import signal
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from torch import nn
from torch.optim.swa_utils import AveragedModel
from torch.profiler import record_function

from vidgan import config as C
from vidgan.data import sample_clips, sample_frames
from vidgan.errors import VidganError
from vidgan.registry import AUGMENTATIONS, DATASETS, DISCRIMINATORS, GENERATORS, LOSSES, Registry
from vidgan.training import checkpoint, distributed, levers
from vidgan.training.prefetch import Prefetcher
from vidgan.training.samples import write_gif

log = logging.getLogger("vidgan")


class NonFiniteLoss(VidganError):
    """A loss became NaN or infinite and ``train.on_nan`` is ``stop``."""


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise VidganError("device=cuda but no CUDA device is available; use device=cpu or device=auto")
    return torch.device(name)


def build_component(registry: Registry, name: str, where: str, **kwargs: Any) -> Any:
    """``registry.build``; a component's ValueError (its check of its options) becomes a
    one-line error naming the config section, e.g. ``generator 'mocogan-warp': ...``."""
    try:
        return registry.build(name, **kwargs)
    except ValueError as err:
        raise VidganError(f"{where} {name!r}: {err}") from None


def build_generator(cfg: DictConfig) -> nn.Module:
    return build_component(GENERATORS, cfg.generator.name, "generator", **C.generator_kwargs(cfg))


@dataclass
class Critic:
    """A discriminator with its loss, auxiliary losses, batch size, weight, optimiser and the
    augmentation applied to both its real and fake inputs (identity when none).

    With ``projection`` its real/fake logit is conditioned on the class (a projection
    discriminator): the class head's logit for the clip's class is added to it, so the
    critic judges a clip as a real one of that class (:meth:`conditioned`).
    """

    name: str
    net: nn.Module
    loss: Any
    aux: list[Any]
    batch: int
    weight: float
    optimizer: torch.optim.Optimizer
    augment: nn.Module
    projection: bool = False

    def conditioned(self, logits: torch.Tensor, classes: torch.Tensor | None, labels: torch.Tensor) -> torch.Tensor:
        """``logits`` (``b t'``) plus each clip's class logit from ``classes`` (``b k``) with
        ``projection``, else ``logits`` as they are."""
        if not self.projection:
            return logits
        return logits + classes.gather(1, labels[:, None])


def class_accuracy(class_logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The share of ``b k`` class logits whose largest entry is the label (a scalar tensor)."""
    return (class_logits.detach().argmax(1) == labels).float().mean()


def ema_with_warm_up(decay: float) -> Callable[[list, list, torch.Tensor], None]:
    """The generator EMA's update: decay ``min(decay, (1 + n) / (10 + n))`` after ``n`` updates.

    Early on the average follows the generator closely instead of keeping the random
    initial weights for ``~1 / (1 - decay)`` steps (whose samples are flat grey); from
    ``n = (10 · decay - 1) / (1 - decay)`` on (8990 for 0.999) it is the plain EMA. Batch
    norm's running statistics are averaged alike, its batch counter copied.
    """
    def update(averaged: list[torch.Tensor], current: list[torch.Tensor], n: torch.Tensor) -> None:
        d = ((1 + n) / (10 + n)).clamp(max=decay)  # a tensor on the device: no host sync
        for a, c in zip(averaged, current):
            if a.is_floating_point():
                a.lerp_(c, (1 - d).to(a.dtype))
            else:  # batch norm's num_batches_tracked: a count, not averaged
                a.copy_(c)
    return update


class DenseAdam(torch.optim.Adam):
    """Adam whose step gets every parameter with its gradient and state as the contiguous
    view of their memory (a channels_last weight permuted to its memory order).

    The update is elementwise, so it computes the same numbers; PyTorch's fused CPU kernel
    otherwise copies each channels_last gradient to a contiguous tensor it then does not use
    (the video critic's step on a Zen 5 EPYC: 13.6 ms with the copies, 7.8 ms without).
    """

    def _init_group(self, group, params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, state_steps):
        has_complex = super()._init_group(group, params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs,
                                          state_steps)
        lists = [params, grads, exp_avgs, exp_avg_sqs] + ([max_exp_avg_sqs] if max_exp_avg_sqs else [])
        for i, p in enumerate(params):
            order = sorted(range(p.ndim), key=lambda d: -p.stride(d))
            views = [tensors[i].permute(order) for tensors in lists]
            if all(v.is_contiguous() for v in views):  # all four share the parameter's layout
                for tensors, v in zip(lists, views):
                    tensors[i] = v
        return has_complex


def adam(module: nn.Module, cfg: DictConfig, fused: bool = False) -> torch.optim.Adam:
    """The optimiser of ``module``: fused into one kernel per parameter (:class:`DenseAdam`)
    or PyTorch's default Adam."""
    return (DenseAdam if fused else torch.optim.Adam)(
        module.parameters(), lr=cfg.optim.lr, betas=tuple(cfg.optim.betas),
        weight_decay=cfg.optim.weight_decay, fused=True if fused else None)


def prepare(module: nn.Module, cfg: DictConfig, device: torch.device) -> nn.Module:
    if cfg.train.sync_batchnorm and distributed.launched():
        module = nn.SyncBatchNorm.convert_sync_batchnorm(module)
    module = module.to(device)
    distributed.broadcast_state(module)
    return module


def build_spec(spec: Any, section: str, registry: Registry) -> Any:
    """Build the component a config names: ``NAME`` or ``{name: NAME, key: value, ...}``."""
    name, kwargs = C.component_spec(spec, section, registry)
    return build_component(registry, name, section, **kwargs)


def build_critics(cfg: DictConfig, device: torch.device, fused_optim: bool = False) -> list[Critic]:
    critics = []
    for name, section in cfg.discriminators.items():
        where = f"discriminators.{name}"
        net = prepare(build_component(DISCRIMINATORS, section.name, where, **C.discriminator_kwargs(cfg, name)),
                      cfg, device)
        loss = build_spec(section.get("loss", "bce"), f"{where}.loss", LOSSES)
        aux = [build_spec(a, f"{where}.aux[{i}]", LOSSES) for i, a in enumerate(section.get("aux", []))]
        augment = (build_spec(section.augment, f"{where}.augment", AUGMENTATIONS)
                   if section.get("augment") else nn.Identity())
        frames = getattr(net, "frames", None)
        if frames is not None and max(frames) >= cfg.data.video_length:
            raise VidganError(f"{where}.frames reach frame {max(frames)} but data.video_length is "
                              f"{cfg.data.video_length}; pick frames below it or lengthen the clips")
        projection = bool(section.get("projection", False))
        if projection and not getattr(net, "dim_categorical", 0):
            raise VidganError(f"{where}.projection needs a discriminator with class outputs "
                              f"(categorical-video), got {section.name!r}; remove projection or change the name")
        critics.append(Critic(name, net, loss, aux, section.get("batch", 1), float(section.get("weight", 1.0)),
                              adam(net, cfg, fused_optim), augment, projection))
    return critics


def python_numpy_rng_state() -> dict[str, Any]:
    """Python's and NumPy's global RNG states as plain data and tensors (weights_only-safe)."""
    version, internal, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    return {"python": [version, list(internal), gauss],
            "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, cached]}


def set_python_numpy_rng_state(state: dict[str, Any]) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))


class Trainer:
    """Builds everything a config names and trains it, writing a run folder.

    Example:
        >>> cfg = load_config(["recipe=mocogan", "train.steps=2", "run_dir=/tmp/r"])  # doctest: +SKIP
        >>> Trainer(cfg).fit()  # doctest: +SKIP
    """

    def __init__(self, cfg: DictConfig):
        self.cfg = cfg
        device = resolve_device(cfg.device)
        if cfg.train.sync_batchnorm and device.type != "cuda":
            raise VidganError("train.sync_batchnorm needs CUDA (PyTorch's SyncBatchNorm is GPU-only); "
                              "drop it on CPU")
        self.device = distributed.setup(device)
        self.rank, self.world = distributed.rank(), distributed.world_size()
        self.levers = levers.resolve(cfg.train, self.device)
        torch.manual_seed(cfg.seed)  # the same initial weights on every process
        dataset = DATASETS.build(C.dataset_name(cfg), **C.dataset_kwargs(cfg))
        self.dataset = distributed.shard(dataset, self.rank, self.world) if self.world > 1 else dataset
        self.generator = prepare(build_generator(cfg), cfg, self.device)
        self.critics = build_critics(cfg, self.device, self.levers.fused_optim)
        self.g_optimizer = adam(self.generator, cfg, self.levers.fused_optim)
        self.ema = (AveragedModel(self.generator, multi_avg_fn=ema_with_warm_up(cfg.train.ema_decay),
                                  use_buffers=True) if cfg.train.ema_decay > 0 else None)
        self._check_categories()
        levers.apply(self.levers, self.generator, [c.net for c in self.critics])
        self.fused = {c.name: self.levers.fuse_critic_batches and levers.batch_separable(c.net) for c in self.critics}
        unfused = [name for name, fused in self.fused.items() if not fused]
        if cfg.train.get("fuse_critic_batches") and unfused:
            raise VidganError(f"train.fuse_critic_batches=true needs critics that compute each sample on its own but "
                              f"in batch norm; {', '.join(unfused)} does not (instance noise, spectral norm, synchronised "
                              "batch norm or a class without batch_separable = True): drop it")
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.levers.precision == "fp16")
        torch.manual_seed(cfg.seed + 7919 * self.rank)  # instance noise differs per process
        self.latent_rng = torch.Generator().manual_seed(cfg.seed + 7919 * self.rank)
        self.data_rng = torch.Generator().manual_seed(cfg.seed + 7919 * self.rank + 1)
        self.step = 0
        self.skipped = 0
        self.run_dir = Path(cfg.run_dir)
        self._stop_signal: int | None = None
        self._prefetch: Prefetcher | None = None
        self.data_seconds = 0.0  # the last step's wait for its real batches

    def _check_categories(self) -> None:
        categories = getattr(self.generator, "dim_z_category", 0)
        if any(c.aux for c in self.critics) and self.dataset.num_classes > categories:
            raise VidganError(f"the data has {self.dataset.num_classes} classes but "
                              f"generator.dim_z_category is {categories}; raise it")

    @property
    def sampler(self) -> nn.Module:
        """The generator used for samples and evaluation: the EMA copy when enabled."""
        return self.ema.module if self.ema is not None else self.generator

    # batches ------------------------------------------------------------------------
    def _draw(self, critic: Critic, rng: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        data = self.cfg.data
        if critic.net.view == "frames":
            return sample_frames(self.dataset, critic.batch, rng)
        clips, labels = sample_clips(self.dataset, critic.batch, data.video_length, data.every_nth, rng)
        frames = getattr(critic.net, "frames", None)  # a critic that sees some frames of each clip
        return (clips if frames is None else clips[:, :, list(frames)]), labels

    def draw_real(self, rng: torch.Generator) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """One step's real batch of every critic, in the critics' order, on the CPU.

        Runs in the prefetch thread too: it reads only the data set and ``rng``.

        Shape:
            frames ``b c h w`` or clips ``b c t h w`` (the critic's ``view``) and labels ``b``.
        """
        return [self._draw(critic, rng) for critic in self.critics]

    def _to_device(self, batch: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = batch
        return levers.to_layout(self.levers, x.to(self.device)), y.to(self.device)

    def real_batches(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """This step's real batches (one per critic) on the device, in the levers' layout.

        They come from the prefetch thread while :meth:`prefetching` is on, else are drawn
        now; either way from ``data_rng``'s stream, which afterwards stands where the
        consumed batches leave it.
        """
        if self._prefetch is None:
            drawn = self.draw_real(self.data_rng)
        else:
            drawn, state = self._prefetch.get()
            self.data_rng.set_state(state)
        return [self._to_device(b) for b in drawn]

    def real_batch(self, critic: Critic) -> tuple[torch.Tensor, torch.Tensor]:
        """A real batch for one critic, drawn now from ``data_rng``."""
        return self._to_device(self._draw(critic, self.data_rng))

    @contextlib.contextmanager
    def prefetching(self) -> Iterator[Prefetcher | None]:
        """Draw real batches ``levers.prefetch`` steps ahead in a thread inside the block.

        The batches and every random stream are the same as without it; the thread is
        stopped and joined when the block ends, however it ends. Yields the
        :class:`Prefetcher`, or None when ``levers.prefetch`` is 0 (or one already runs).
        """
        if self.levers.prefetch < 1 or self._prefetch is not None:
            yield None
            return
        self._prefetch = Prefetcher(self.draw_real, self.data_rng.get_state(), self.levers.prefetch)
        try:
            yield self._prefetch
        finally:
            self._prefetch.close()
            self._prefetch = None

    def fake_batch(self, critic: Critic) -> tuple[torch.Tensor, torch.Tensor]:
        if critic.net.view == "clips":
            frames = getattr(critic.net, "frames", None)
            fake, labels = self.generator.sample_videos(critic.batch, generator=self.latent_rng,
                                                        **({} if frames is None else {"frames": frames}))
        elif self.cfg.train.mode == "reference":
            fake, labels = levers.original_images(self.generator, critic.batch, self.latent_rng)
        else:
            fake, labels = self.generator.sample_images(critic.batch, generator=self.latent_rng)
        return levers.to_layout(self.levers, fake), labels

    # one iteration ------------------------------------------------------------------
    def _apply(self, loss: torch.Tensor, module: nn.Module, optimizer: torch.optim.Optimizer,
               name: str, logged: dict[str, torch.Tensor]) -> bool:
        """Backward, average over processes, and step unless the loss is not finite.

        Logs into ``logged`` ``name`` (the loss) and ``gnorm_<name>``, the L2 norm of the module's gradient
        (scaled by the fp16 loss scale when ``train.precision=fp16``).
        """
        logged[name] = loss.detach()
        optimizer.zero_grad(set_to_none=True)
        if not distributed.everywhere(torch.isfinite(loss)):
            if self.cfg.train.on_nan == "stop":
                kept = checkpoint.list_checkpoints(self.run_dir)
                last = f"the last good checkpoint is {kept[-1]}" if kept else "no checkpoint was written yet"
                raise NonFiniteLoss(f"loss {name} became {loss.item()} at step {self.step + 1}; {last}; "
                                    "lower optim.lr, or set train.on_nan=skip to skip such steps")
            return False
        self.scaler.scale(loss).backward()  # the scaler is a no-op unless train.precision=fp16
        distributed.average_gradients(module)
        logged[f"gnorm_{name}"] = torch.nn.utils.get_total_norm(
            [p.grad for p in module.parameters() if p.grad is not None])
        self.scaler.step(optimizer)
        return True

    def train_step(self, reals: list[tuple[torch.Tensor, torch.Tensor]] | None = None) -> dict[str, float]:
        """One iteration; ``reals`` (as :meth:`real_batches` returns them) replaces this step's
        real batches, e.g. to time the step without its data (``data_seconds`` is then 0)."""
        lv = self.levers
        self.data_seconds = 0.0
        if reals is None:
            start = time.perf_counter()
            with record_function("vidgan.data"):  # scopes name the profiler's categories (vidgan bench)
                reals = self.real_batches()
            self.data_seconds = time.perf_counter() - start
        if lv.cuda_graphs:
            torch.compiler.cudagraph_mark_step_begin()
        losses: dict[str, torch.Tensor] = {}
        applied = True
        fakes: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        if lv.reuse_fakes:  # one generator forward per critic; its graph is kept for the G step
            with levers.autocast(lv, self.device):
                fakes = {critic.name: self.fake_batch(critic) for critic in self.critics}
        for critic, (real, labels) in zip(self.critics, reals):
            with levers.autocast(lv, self.device):
                if lv.reuse_fakes:
                    fake, fake_labels = fakes[critic.name]
                    fake = fake.detach()
                else:
                    with torch.no_grad():
                        fake, fake_labels = self.fake_batch(critic)
                real, fake = critic.augment(real), critic.augment(fake)
                if self.fused[critic.name]:
                    (real_logits, real_classes), (fake_logits, fake_classes) = levers.fused_call(
                        critic.net, [real, fake])
                else:
                    real_logits, real_classes = critic.net(real)
                    fake_logits, fake_classes = critic.net(fake)
                with record_function("vidgan.losses"):
                    real_logits = critic.conditioned(real_logits, real_classes, labels)
                    fake_logits = critic.conditioned(fake_logits, fake_classes, fake_labels)
                    loss = critic.loss.discriminator(real_logits, fake_logits)
                    # how often the critic is right: a positive logit means "real" for every loss
                    losses[f"acc_{critic.name}_real"] = (real_logits.detach() > 0).float().mean()
                    losses[f"acc_{critic.name}_fake"] = (fake_logits.detach() < 0).float().mean()
                    if hasattr(critic.loss, "penalty"):  # a regulariser such as a gradient penalty
                        loss = loss + critic.loss.penalty(critic.net, real, fake)
                    for aux in critic.aux:
                        loss = loss + aux(real_classes, labels)
                    if critic.aux:  # how often its class head names the real clip's class
                        losses[f"cls_{critic.name}_real"] = class_accuracy(real_classes, labels)
            applied &= self._apply(loss, critic.net, critic.optimizer, f"d_{critic.name}", losses)

        g_loss = torch.zeros((), device=self.device)
        with levers.autocast(lv, self.device), \
                levers.frozen([critic.net for critic in self.critics], lv.skip_critic_grads):
            for critic in self.critics:
                fake, fake_labels = fakes[critic.name] if lv.reuse_fakes else self.fake_batch(critic)
                logits, classes = critic.net(critic.augment(fake))
                with record_function("vidgan.losses"):
                    logits = critic.conditioned(logits, classes, fake_labels)
                    g_loss = g_loss + critic.weight * critic.loss.generator(logits)
                    for aux in critic.aux:
                        g_loss = g_loss + aux(classes, fake_labels)
                    if critic.aux:  # ... and the category a generated clip was asked for
                        losses[f"cls_{critic.name}_fake"] = class_accuracy(classes, fake_labels)
        applied &= self._apply(g_loss, self.generator, self.g_optimizer, "g", losses)
        self.scaler.update()
        for module in (self.generator, *(c.net for c in self.critics)):
            distributed.broadcast_state(module, buffers_only=True)  # batch norm statistics
        if self.ema is not None:
            self.ema.update_parameters(self.generator)
        self.step += 1
        self.skipped += not applied
        values = torch.stack([v.float() for v in losses.values()]).tolist()  # one host sync
        return dict(zip(losses, values))

    # state ----------------------------------------------------------------------------
    def _rng_state(self) -> dict[str, Any]:
        return {"torch": torch.get_rng_state(), "latent": self.latent_rng.get_state(),
                "data": self.data_rng.get_state(),
                "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
                **python_numpy_rng_state()}

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly; RNG states of every process."""
        state = {
            "step": self.step,
            "config": OmegaConf.to_container(self.cfg),
            "generator": self.generator.state_dict(),
            "discriminators": {c.name: c.net.state_dict() for c in self.critics},
            "optimizers": {"generator": self.g_optimizer.state_dict(),
                           **{c.name: c.optimizer.state_dict() for c in self.critics}},
            "rng": distributed.gather(self._rng_state()),
            "scaler": self.scaler.state_dict(),  # empty unless train.precision=fp16
        }
        if self.ema is not None:
            state["ema_generator"] = self.ema.module.state_dict()
            state["ema_count"] = self.ema.n_averaged
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        checkpoint.load_weights(self.generator, state["generator"], "generator")
        for critic in self.critics:
            if critic.name not in state["discriminators"]:
                raise VidganError(f"the checkpoint has no discriminator {critic.name!r} "
                                  f"(it has {', '.join(state['discriminators'])}); another recipe?")
            checkpoint.load_weights(critic.net, state["discriminators"][critic.name],
                                    f"discriminator {critic.name!r}")
            critic.optimizer.load_state_dict(state["optimizers"][critic.name])
        self.g_optimizer.load_state_dict(state["optimizers"]["generator"])
        if self.ema is not None:
            checkpoint.load_weights(self.ema.module, state.get("ema_generator", state["generator"]), "EMA")
            self.ema.n_averaged.copy_(state.get("ema_count", torch.tensor(0)))
        rngs = state["rng"]
        if len(rngs) != self.world:
            log.warning("the checkpoint was written by %d processes, this run has %d: "
                        "random streams restart, so the run will not repeat exactly", len(rngs), self.world)
        else:
            rng = rngs[self.rank]
            torch.set_rng_state(rng["torch"])
            self.latent_rng.set_state(rng["latent"])
            self.data_rng.set_state(rng["data"])
            if rng["cuda"] and torch.cuda.is_available():
                torch.cuda.set_rng_state_all(rng["cuda"])
            set_python_numpy_rng_state(rng)
        if state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        self.step = state["step"]

    def save_checkpoint(self) -> Path | None:
        """Write a checkpoint (rank 0 only; all processes must call this together)."""
        state = self.state_dict()
        for critic in self.critics:
            distributed.check_in_sync(critic.net, f"discriminator {critic.name!r}")
        distributed.check_in_sync(self.generator, "generator")
        if self.rank != 0:
            return None
        return checkpoint.save(state, checkpoint.checkpoint_path(self.run_dir, self.step),
                               keep=self.cfg.train.keep_checkpoints)

    def write_samples(self) -> Path:
        """A GIF of ``train.num_samples`` videos from a fixed latent, comparable across steps."""
        sampler = self.sampler
        sampler.eval()
        n = self.cfg.train.num_samples
        categories = max(getattr(sampler, "dim_z_category", 0), 1)
        labels = (torch.arange(n) % categories).to(self.device)
        with torch.no_grad():
            videos, _ = sampler.sample_videos(n, generator=torch.Generator().manual_seed(self.cfg.seed),
                                              labels=labels)
        sampler.train()
        return write_gif(videos, self.run_dir / "samples" / f"step-{self.step:07d}.gif")

    # the run --------------------------------------------------------------------------
    def prepare_run_dir(self, resume: bool) -> None:
        if resume:
            self.load_state_dict(checkpoint.load(self.run_dir))
            if self.rank == 0:
                self._truncate_metrics()
            log.info("resumed %s at step %d", self.run_dir, self.step)
        elif checkpoint.list_checkpoints(self.run_dir):
            raise VidganError(f"run folder {self.run_dir} already has checkpoints; continue it with "
                              f"train.resume={self.run_dir} or choose another run_dir")
        if self.rank != 0:
            return
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            OmegaConf.save(OmegaConf.merge(self.cfg, {"train": {"resume": None}}), self.run_dir / "config.yaml")
        except OSError as err:
            raise VidganError(f"cannot write the run folder {self.run_dir}: {err.strerror or err}; "
                              "set run_dir to a writable folder") from None

    def _truncate_metrics(self) -> None:
        """Drop log lines of steps after the checkpoint: they will be run again."""
        path = self.run_dir / "metrics.jsonl"
        if path.is_file():
            lines = []
            for line in path.read_text().splitlines():
                try:
                    if json.loads(line)["step"] <= self.step:
                        lines.append(line)
                except (ValueError, KeyError):  # a line cut short by a crash
                    continue
            path.write_text("".join(line + "\n" for line in lines))

    def _on_signal(self, signum: int, frame: Any) -> None:
        self._stop_signal = signum

    def fit(self, resume: bool = False) -> Path:
        """Train to ``train.steps``; returns the run folder.

        On SIGINT/SIGTERM the current step finishes, a checkpoint is written and
        ``self.stopped_by`` holds the signal number.
        """
        self.prepare_run_dir(resume)
        handlers = {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            with self.prefetching():
                self._loop()
        finally:
            for s, handler in handlers.items():
                signal.signal(s, handler)
        return self.run_dir

    @property
    def stopped_by(self) -> int | None:
        return self._stop_signal

    def _stopping(self) -> bool:
        """Whether a stop signal arrived (at any process: all stop at the same step)."""
        if distributed.everywhere(torch.tensor(self._stop_signal is None)):
            return False
        self._stop_signal = self._stop_signal or signal.SIGTERM
        return True

    def _loop(self) -> None:
        train = self.cfg.train
        progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("{task.fields[speed]} it/s"), TimeRemainingColumn(),
                            TextColumn("{task.fields[losses]}"), console=Console(stderr=True),
                            disable=self.rank != 0)
        writer = self._tensorboard()
        start, done_at_start = time.perf_counter(), self.step
        metrics = open(self.run_dir / "metrics.jsonl", "a") if self.rank == 0 else None
        with progress:
            task = progress.add_task(self.cfg.recipe, total=train.steps, completed=self.step,
                                     speed="-", losses="")
            while self.step < train.steps and not self._stopping():
                losses = self.train_step()
                elapsed = time.perf_counter() - start
                if metrics:
                    metrics.write(json.dumps({"step": self.step, "time": round(elapsed, 3), **losses}) + "\n")
                    metrics.flush()
                if writer:
                    for key, value in losses.items():
                        writer.add_scalar(f"loss/{key}", value, self.step)
                progress.update(task, completed=self.step,
                                speed=f"{(self.step - done_at_start) / elapsed:.2f}",
                                losses=" ".join(f"{k} {v:.3f}" for k, v in losses.items()
                                                if k == "g" or k.startswith("d_")))
                if self.step % train.sample_every == 0 and self.rank == 0:
                    self.write_samples()
                if self.step % train.checkpoint_every == 0:
                    self.save_checkpoint()
        if metrics:
            metrics.close()
        if writer:
            writer.close()
        if self.step > done_at_start or not checkpoint.list_checkpoints(self.run_dir):
            if self.step % train.checkpoint_every:
                self.save_checkpoint()
            if self.step % train.sample_every and self.rank == 0:
                self.write_samples()
        if self.skipped:
            log.warning("%d steps were skipped because a loss was not finite", self.skipped)

    def _tensorboard(self) -> Any:
        if not self.cfg.train.tensorboard or self.rank != 0:
            return None
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise VidganError("train.tensorboard=true needs the tensorboard package: "
                              "pip install tensorboard") from None
        return SummaryWriter(self.run_dir / "tensorboard")


def default_run_dir(cfg: DictConfig) -> str:
    return str(Path("runs") / f"{cfg.recipe}-{datetime.now():%Y%m%d-%H%M%S}")


def run(cfg: DictConfig) -> Trainer:
    """Train (or resume) a validated config; returns the finished trainer."""
    resume = cfg.train.resume
    if resume:
        cfg = OmegaConf.merge(cfg, {"run_dir": str(resume)})
    elif not cfg.run_dir:
        cfg = OmegaConf.merge(cfg, {"run_dir": default_run_dir(cfg)})
    try:
        trainer = Trainer(cfg)
        trainer.fit(resume=bool(resume))
    finally:
        distributed.teardown()
    return trainer
