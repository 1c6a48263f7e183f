"""Named latent parts: how a generator says what its latent is made of, and takes parts explicitly.

A video generator whose latent decomposes (MoCoGAN: a content code fixed over a video, a
category, a motion code per frame) declares it, and content/motion grids, interpolation
(:mod:`vidgan.generate`) and evaluation use only this interface, never a generator's
internals. A generator that takes part declares:

- ``latent_parts``: a dict name → :class:`LatentPart`, in the order the parts are joined;
- ``sample_parts(num_videos, video_length=None, generator=None, labels=None, latents=None)``
  returning ``(parts, labels)``: every part, those in ``latents`` as given and the rest
  drawn (with ``generator``);
- ``sample_videos(..., latents=None)``: videos decoded from those parts.

Parts fixed over time are ``b d`` tensors, parts that vary over time ``b t d``. A generator
without ``latent_parts`` still trains, samples and evaluates; it only cannot make grids.

Example:
    >>> from vidgan.generators.mocogan import MoCoGANGenerator
    >>> g = MoCoGANGenerator(image_size=16, ngf=4).eval()
    >>> [(p.name, p.dim, p.varies) for p in g.latent_parts.values()]
    [('content', 50, False), ('motion', 10, True)]
    >>> content = torch.zeros(1, 50)
    >>> g.sample_videos(1, 4, latents={"content": content})[0].shape
    torch.Size([1, 3, 4, 16, 16])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import torch
from einops import repeat

PRIORS = ("gaussian", "one-hot", "learned")


@dataclass(frozen=True)
class LatentPart:
    """One named part of a generator's latent.

    Args:
        name: e.g. ``content``, ``category``, ``motion``.
        dim: its size ``d``.
        varies: whether it changes over a video's frames (``b t d``) or not (``b d``).
        prior: how it is drawn, which says how to interpolate it: ``gaussian`` (N(0, I):
            spherically), ``one-hot`` or ``learned`` (e.g. a GRU's outputs: linearly).
    """

    name: str
    dim: int
    varies: bool
    prior: str = "learned"

    def shape(self, num_videos: int, video_length: int) -> tuple[int, ...]:
        """The shape of this part for ``num_videos`` videos of ``video_length`` frames."""
        return (num_videos, video_length, self.dim) if self.varies else (num_videos, self.dim)


def latent_length(parts: Mapping[str, LatentPart], latents: Mapping[str, torch.Tensor],
                  video_length: int | None) -> int | None:
    """The video length: ``video_length`` when given, else the length of a given varying part."""
    if video_length is not None:
        return video_length
    return next((latents[n].shape[1] for n, p in parts.items() if p.varies and n in latents
                 and latents[n].ndim == 3), None)


def check_latents(parts: Mapping[str, LatentPart], latents: Mapping[str, torch.Tensor],
                  num_videos: int, video_length: int) -> None:
    """Raise ``ValueError`` for a part the generator lacks or a tensor of the wrong shape.

    Example:
        >>> parts = {"content": LatentPart("content", 4, False, "gaussian")}
        >>> check_latents(parts, {"content": torch.zeros(2, 5)}, 2, 3)
        Traceback (most recent call last):
        ...
        ValueError: latent part 'content' must have shape (2, 4) (b d), got (2, 5)
    """
    for name, value in latents.items():
        if name not in parts:
            raise ValueError(f"unknown latent part {name!r}; this generator's parts: {', '.join(parts)}")
        want = parts[name].shape(num_videos, video_length)
        if tuple(value.shape) != want:
            raise ValueError(f"latent part {name!r} must have shape {want} "
                             f"({'b t d' if parts[name].varies else 'b d'}), got {tuple(value.shape)}")


def join(parts: Mapping[str, LatentPart], values: Mapping[str, torch.Tensor], video_length: int) -> torch.Tensor:
    """Concatenate the parts in their declared order into per-frame latents.

    Shape:
        values: ``b d`` (fixed parts) or ``b t d`` (varying parts); output: ``b t D``,
        ``D`` the sum of the parts' sizes.
    """
    return torch.cat([values[name] if part.varies else repeat(values[name], "b d -> b t d", t=video_length)
                      for name, part in parts.items()], dim=2)


def slerp(a: torch.Tensor, b: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation along the last dimension, one result per weight.

    Weights 0 and 1 give ``a`` and ``b`` exactly; nearly parallel vectors are interpolated
    linearly.

    Shape:
        a, b: ``... d``; weights: ``k``; output: ``k ... d``.

    Example:
        >>> slerp(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0]), torch.tensor([0.0, 0.5, 1.0]))
        tensor([[1.0000, 0.0000],
                [0.7071, 0.7071],
                [0.0000, 1.0000]])
    """
    w = weights.reshape(-1, *[1] * a.ndim).to(a)
    cos = torch.nn.functional.cosine_similarity(a, b, dim=-1, eps=1e-12).clamp(-1, 1)[..., None]
    omega = torch.arccos(cos)
    sin = torch.sin(omega)
    spherical = torch.sin((1 - w) * omega) / sin * a + torch.sin(w * omega) / sin * b  # w = 0, 1: a, b exactly
    return torch.where(sin > 1e-6, spherical, torch.lerp(a, b, w))


def interpolate(part: LatentPart, a: torch.Tensor, b: torch.Tensor, steps: int) -> torch.Tensor:
    """``steps`` codes from ``a`` to ``b`` (both included): spherical for Gaussian parts, else linear.

    Shape:
        a, b: one video's code, ``d`` or ``t d``; output: ``steps d`` or ``steps t d``.

    Example:
        >>> part = LatentPart("motion", 2, True)
        >>> interpolate(part, torch.zeros(3, 2), torch.ones(3, 2), 3)[:, 0]
        tensor([[0.0000, 0.0000],
                [0.5000, 0.5000],
                [1.0000, 1.0000]])
    """
    if steps < 2:
        raise ValueError(f"interpolation needs at least 2 steps, got {steps}")
    weights = torch.linspace(0, 1, steps)
    if part.prior == "gaussian":
        return slerp(a, b, weights)
    return torch.lerp(a[None], b[None], weights.reshape(-1, *[1] * a.ndim).to(a))
