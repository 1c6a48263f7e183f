"""Components from a config: the device, the generator and the critics.

Every command that needs networks builds them here (training, sampling, evaluating,
converting weights, the run page), so sampling or evaluating a checkpoint never imports
the trainer. Each component is built by name from its registry; a component's own check
of its options (a ``ValueError``) becomes a one-line error naming the config section.

Example:
    >>> from vidgan.config import load_config
    >>> cfg = load_config(["recipe=mocogan", "data.image_size=32", "generator.ngf=8", "device=cpu"])
    >>> [critic.net.view for critic in build_critics(cfg, resolve_device(cfg.device))]
    ['frames', 'clips']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from omegaconf import DictConfig
from torch import nn

from vidgan import config as C
from vidgan.errors import VidganError
from vidgan.registry import AUGMENTATIONS, DISCRIMINATORS, GENERATORS, LOSSES, Registry


def resolve_device(name: str) -> torch.device:
    """The device ``device=`` names: ``auto`` is CUDA when available, else the CPU."""
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


def build_spec(spec: Any, section: str, registry: Registry) -> Any:
    """Build the component a config names: ``NAME`` or ``{name: NAME, key: value, ...}``."""
    name, kwargs = C.component_spec(spec, section, registry)
    return build_component(registry, name, section, **kwargs)


def build_generator(cfg: DictConfig) -> nn.Module:
    """The generator of ``cfg.generator``, on the CPU."""
    return build_component(GENERATORS, cfg.generator.name, "generator", **C.generator_kwargs(cfg))


@dataclass
class Critic:
    """A discriminator with its loss, auxiliary losses, batch size, weight and the
    augmentation applied to both its real and fake inputs (identity when none); the
    trainer adds its optimiser.

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
    augment: nn.Module
    projection: bool = False
    optimizer: torch.optim.Optimizer | None = None

    def conditioned(self, logits: torch.Tensor, classes: torch.Tensor | None, labels: torch.Tensor) -> torch.Tensor:
        """``logits`` (``b t'``) plus each clip's class logit from ``classes`` (``b k``) with
        ``projection``, else ``logits`` as they are."""
        if not self.projection:
            return logits
        return logits + classes.gather(1, labels[:, None])


def prepare(module: nn.Module, device: torch.device, sync_batchnorm: bool = False) -> nn.Module:
    """``module`` on ``device``; with ``sync_batchnorm`` its batch norms compute their
    statistics over all processes of a distributed run (``nn.SyncBatchNorm``)."""
    if sync_batchnorm:
        module = nn.SyncBatchNorm.convert_sync_batchnorm(module)
    return module.to(device)


def build_critics(cfg: DictConfig, device: torch.device, sync_batchnorm: bool = False) -> list[Critic]:
    """The critics of ``cfg.discriminators``, in the recipe's order, their networks on ``device``."""
    critics = []
    for name, section in cfg.discriminators.items():
        where = f"discriminators.{name}"
        net = prepare(build_component(DISCRIMINATORS, section.name, where, **C.discriminator_kwargs(cfg, name)),
                      device, sync_batchnorm)
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
                              augment, projection))
    return critics
