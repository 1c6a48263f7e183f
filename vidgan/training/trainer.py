"""The MoCoGAN training loop, generalised to any generator and list of critics.

One iteration is the original's order: a step for each discriminator in the recipe's
order (real batch vs a detached fake batch), then one generator step against all of
them with fresh fakes (or the same fakes, with ``train.reuse_fakes``). Each critic sees
what its discriminator's ``view`` asks for: single frames or clips.

The speed levers come from :mod:`vidgan.accel`: :func:`vidgan.accel.apply` prepares the
networks once; the step runs its hooks (autocast, layouts, frozen critics, fused calls).
With ``train.prefetch`` the real batches of the next steps are drawn in a thread while a
step computes (:mod:`vidgan.training.batches`); the run is the same as without.

A run is crash-safe: checkpoints are atomic and hold every state needed to continue
bit for bit (models, optimisers, EMA, all random number generators, step, config);
SIGINT and SIGTERM write a checkpoint before exiting; a non-finite loss stops the run
(or skips the step) without touching the last good checkpoint.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf
from torch import nn

from vidgan import accel
from vidgan import config as C
from vidgan.build import Critic, build_critics, build_generator, prepare, resolve_device
from vidgan.errors import VidganError
from vidgan.registry import DATASETS
from vidgan.training import checkpoint, distributed, ema, state
from vidgan.training.batches import RealBatches
from vidgan.training.log import RunLog, truncate_metrics
from vidgan.training.optim import adam
from vidgan.training.prefetch import Prefetcher
from vidgan.training.samples import fixed_videos, write_gif

log = logging.getLogger("vidgan")


class NonFiniteLoss(VidganError):
    """A loss became NaN or infinite and ``train.on_nan`` is ``stop``."""


def class_accuracy(class_logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The share of ``b k`` class logits whose largest entry is the label (a scalar tensor)."""
    return (class_logits.detach().argmax(1) == labels).float().mean()


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
        self.levers = accel.resolve(cfg.train, self.device)
        torch.manual_seed(cfg.seed)  # the same initial weights on every process
        dataset = DATASETS.build(C.dataset_name(cfg), **C.dataset_kwargs(cfg))
        self.dataset = distributed.shard(dataset, self.rank, self.world) if self.world > 1 else dataset
        sync_batchnorm = cfg.train.sync_batchnorm and distributed.launched()
        self.generator = prepare(build_generator(cfg), self.device, sync_batchnorm)
        distributed.broadcast_state(self.generator)
        self.critics = build_critics(cfg, self.device, sync_batchnorm)
        for critic in self.critics:
            distributed.broadcast_state(critic.net)
            critic.optimizer = adam(critic.net, cfg, self.levers.fused_optim)
        self.g_optimizer = adam(self.generator, cfg, self.levers.fused_optim)
        self.ema = ema.averaged(self.generator, cfg.train.ema_decay)  # before accel changes the generator
        self._check_categories()
        fused = accel.apply(self.levers, self.generator, [c.net for c in self.critics])
        self.fused = {c.name: one_call for c, one_call in zip(self.critics, fused)}  # D step: one fused call
        unfused = [name for name, one_call in self.fused.items() if not one_call]
        if cfg.train.get("fuse_critic_batches") and unfused:
            raise VidganError(f"train.fuse_critic_batches=true needs critics that compute each sample on its own but "
                              f"in batch norm; {', '.join(unfused)} does not (instance noise, spectral norm, synchronised "
                              "batch norm, or a discriminator vidgan.accel does not list as separable): drop it")
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.levers.precision == "fp16")
        torch.manual_seed(cfg.seed + 7919 * self.rank)  # instance noise differs per process
        self.latent_rng = torch.Generator().manual_seed(cfg.seed + 7919 * self.rank)
        self.data_rng = torch.Generator().manual_seed(cfg.seed + 7919 * self.rank + 1)
        self.real = RealBatches(self.dataset, self.critics, cfg.data, self.data_rng, self.device,
                                lambda x: accel.to_layout(self.levers, x))
        self.step = 0
        self.skipped = 0
        self.run_dir = Path(cfg.run_dir)
        self._stop_signal: int | None = None
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
    def real_batches(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """This step's real batches, one per critic, on the device in the levers' layout."""
        return self.real.next()

    def prefetching(self) -> contextlib.AbstractContextManager[Prefetcher | None]:
        """A block inside which real batches are drawn ``train.prefetch`` steps ahead in a thread."""
        return self.real.prefetching(self.levers.prefetch)

    def fake_batch(self, critic: Critic) -> tuple[torch.Tensor, torch.Tensor]:
        """A generated batch for one critic (videos or single frames, its ``view``) and the
        category labels it was asked for, drawn from ``latent_rng``."""
        if critic.net.view == "clips":
            frames = {"frames": critic.net.frames} if hasattr(critic.net, "frames") else {}  # a sparse view
            fake, labels = self.generator.sample_videos(critic.batch, generator=self.latent_rng, **frames)
        elif self.cfg.train.mode == "reference":
            fake, labels = accel.original_images(self.generator, critic.batch, self.latent_rng)
        else:
            fake, labels = self.generator.sample_images(critic.batch, generator=self.latent_rng)
        return accel.to_layout(self.levers, fake), labels

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
        """One iteration: a D step per critic, then the G step; returns the logged values.

        ``reals`` (as :meth:`real_batches` returns them) replaces this step's real batches,
        e.g. to time the step without its data (``data_seconds`` is then 0).
        """
        self.data_seconds = 0.0
        if reals is None:
            start = time.perf_counter()
            reals = self.real_batches()
            self.data_seconds = time.perf_counter() - start
        accel.begin_step(self.levers)
        logged: dict[str, torch.Tensor] = {}
        fakes: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        if self.levers.reuse_fakes:  # one generator forward per critic; its graph is kept for the G step
            with accel.autocast(self.levers, self.device):
                fakes = {critic.name: self.fake_batch(critic) for critic in self.critics}
        applied = True
        for critic, (real, labels) in zip(self.critics, reals):
            applied &= self._d_step(critic, real, labels, fakes.get(critic.name), logged)
        applied &= self._g_step(fakes, logged)
        self.scaler.update()
        for module in (self.generator, *(c.net for c in self.critics)):
            distributed.broadcast_state(module, buffers_only=True)  # batch norm statistics
        if self.ema is not None:
            self.ema.update_parameters(self.generator)
        self.step += 1
        self.skipped += not applied
        values = torch.stack([v.float() for v in logged.values()]).tolist()  # one host sync
        return dict(zip(logged, values))

    def _d_step(self, critic: Critic, real: torch.Tensor, labels: torch.Tensor,
                reused: tuple[torch.Tensor, torch.Tensor] | None, logged: dict[str, torch.Tensor]) -> bool:
        """The step of one critic on a real batch and a fake one: the ``reused`` fakes,
        detached, or fakes drawn now without a graph. Logs its loss and accuracies."""
        with accel.autocast(self.levers, self.device):
            if reused is not None:
                fake, fake_labels = reused[0].detach(), reused[1]
            else:
                with torch.no_grad():
                    fake, fake_labels = self.fake_batch(critic)
            real, fake = critic.augment(real), critic.augment(fake)
            if self.fused[critic.name]:
                (real_logits, real_classes), (fake_logits, fake_classes) = accel.fused_call(critic.net, [real, fake])
            else:
                real_logits, real_classes = critic.net(real)
                fake_logits, fake_classes = critic.net(fake)
            real_logits = critic.conditioned(real_logits, real_classes, labels)
            fake_logits = critic.conditioned(fake_logits, fake_classes, fake_labels)
            loss = critic.loss.discriminator(real_logits, fake_logits)
            # how often the critic is right: a positive logit means "real" for every loss
            logged[f"acc_{critic.name}_real"] = (real_logits.detach() > 0).float().mean()
            logged[f"acc_{critic.name}_fake"] = (fake_logits.detach() < 0).float().mean()
            if hasattr(critic.loss, "penalty"):  # a regulariser such as a gradient penalty
                loss = loss + critic.loss.penalty(critic.net, real, fake)
            for aux in critic.aux:
                loss = loss + aux(real_classes, labels)
            if critic.aux:  # how often its class head names the real clip's class
                logged[f"cls_{critic.name}_real"] = class_accuracy(real_classes, labels)
        return self._apply(loss, critic.net, critic.optimizer, f"d_{critic.name}", logged)

    def _g_step(self, fakes: dict[str, tuple[torch.Tensor, torch.Tensor]], logged: dict[str, torch.Tensor]) -> bool:
        """The generator's step against every critic, on the reused ``fakes`` or fresh ones."""
        g_loss = torch.zeros((), device=self.device)
        with accel.autocast(self.levers, self.device), \
                accel.frozen([critic.net for critic in self.critics], self.levers.skip_critic_grads):
            for critic in self.critics:
                fake, fake_labels = fakes[critic.name] if self.levers.reuse_fakes else self.fake_batch(critic)
                logits, classes = critic.net(critic.augment(fake))
                logits = critic.conditioned(logits, classes, fake_labels)
                g_loss = g_loss + critic.weight * critic.loss.generator(logits)
                for aux in critic.aux:
                    g_loss = g_loss + aux(classes, fake_labels)
                if critic.aux:  # ... and the category a generated clip was asked for
                    logged[f"cls_{critic.name}_fake"] = class_accuracy(classes, fake_labels)
        return self._apply(g_loss, self.generator, self.g_optimizer, "g", logged)

    # state ----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly (:func:`vidgan.training.state.capture`)."""
        return state.capture(self)

    def load_state_dict(self, saved: dict[str, Any]) -> None:
        """Continue from a :meth:`state_dict` (:func:`vidgan.training.state.restore`)."""
        state.restore(self, saved)

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
        videos = fixed_videos(self.sampler, self.cfg.train.num_samples, self.cfg.seed, self.device)
        return write_gif(videos, self.run_dir / "samples" / f"step-{self.step:07d}.gif")

    # the run --------------------------------------------------------------------------
    def prepare_run_dir(self, resume: bool) -> None:
        if resume:
            self.load_state_dict(checkpoint.load(self.run_dir))
            if self.rank == 0:
                truncate_metrics(self.run_dir, self.step)
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
        done_at_start = self.step
        with RunLog(self.run_dir, self.cfg.recipe, train.steps, self.step, train.tensorboard,
                    enabled=self.rank == 0) as run_log:
            while self.step < train.steps and not self._stopping():
                values = self.train_step()
                run_log.record(self.step, values, self.data_seconds)
                if self.step % train.sample_every == 0 and self.rank == 0:
                    self.write_samples()
                if self.step % train.checkpoint_every == 0:
                    self.save_checkpoint()
        if self.step > done_at_start or not checkpoint.list_checkpoints(self.run_dir):
            if self.step % train.checkpoint_every:
                self.save_checkpoint()
            if self.step % train.sample_every and self.rank == 0:
                self.write_samples()
        if self.skipped:
            log.warning("%d steps were skipped because a loss was not finite", self.skipped)


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
