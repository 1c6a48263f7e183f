"""What a checkpoint of a run holds, and how a trainer continues from one.

A checkpoint holds every state needed to continue bit for bit: the step, the resolved
config, the generator's and the critics' weights and buffers, their optimisers, the EMA
copy and its count, the random streams of every process (:mod:`vidgan.training.rng`)
and the fp16 gradient scaler's state.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import torch
from omegaconf import OmegaConf

from vidgan.errors import VidganError
from vidgan.training import checkpoint, distributed, rng

if TYPE_CHECKING:
    from vidgan.training.trainer import Trainer

log = logging.getLogger("vidgan")


def capture(trainer: Trainer) -> dict[str, Any]:
    """Everything needed to continue ``trainer`` exactly; the RNG states of every process
    (all processes call it together)."""
    state = {
        "step": trainer.step,
        "config": OmegaConf.to_container(trainer.cfg),
        "generator": trainer.generator.state_dict(),
        "discriminators": {c.name: c.net.state_dict() for c in trainer.critics},
        "optimizers": {"generator": trainer.g_optimizer.state_dict(),
                       **{c.name: c.optimizer.state_dict() for c in trainer.critics}},
        "rng": distributed.gather(rng.capture(trainer.latent_rng, trainer.data_rng)),
        "scaler": trainer.scaler.state_dict(),  # empty unless train.precision=fp16
    }
    if trainer.ema is not None:
        state["ema_generator"] = trainer.ema.module.state_dict()
        state["ema_count"] = trainer.ema.n_averaged
    return state


def restore(trainer: Trainer, state: dict[str, Any]) -> None:
    """Put ``trainer`` where :func:`capture` found it; a checkpoint of another recipe is a
    one-line error naming what does not fit."""
    checkpoint.load_weights(trainer.generator, state["generator"], "generator")
    for critic in trainer.critics:
        if critic.name not in state["discriminators"]:
            raise VidganError(f"the checkpoint has no discriminator {critic.name!r} "
                              f"(it has {', '.join(state['discriminators'])}); another recipe?")
        checkpoint.load_weights(critic.net, state["discriminators"][critic.name], f"discriminator {critic.name!r}")
        critic.optimizer.load_state_dict(state["optimizers"][critic.name])
    trainer.g_optimizer.load_state_dict(state["optimizers"]["generator"])
    if trainer.ema is not None:
        checkpoint.load_weights(trainer.ema.module, state.get("ema_generator", state["generator"]), "EMA")
        trainer.ema.n_averaged.copy_(state.get("ema_count", torch.tensor(0)))
    rngs = state["rng"]
    if len(rngs) != trainer.world:
        log.warning("the checkpoint was written by %d processes, this run has %d: "
                    "random streams restart, so the run will not repeat exactly", len(rngs), trainer.world)
    else:
        rng.restore(rngs[trainer.rank], trainer.latent_rng, trainer.data_rng)
    if state.get("scaler"):
        trainer.scaler.load_state_dict(state["scaler"])
    trainer.step = state["step"]
