"""Contract checks for registered components, for vidgan's tests and for plugin authors.

:func:`check_component` builds one registry entry with small sizes and runs it on a tiny
input the way the trainer will: samplers are called as ``(num_videos, video_length)``,
generators sample or decode, discriminators take the view they declare and run
forward and backward, losses take logits that require grad. It raises
``AssertionError`` with a message naming the component and what is wrong. The checks:

- samplers: a ``b t d`` tensor, finite, reproducible with a seeded ``torch.Generator``,
  and (if it has parameters) a gradient for every parameter;
- generators with ``sample_videos``: videos ``b c t h w`` in [-1, 1] with ``b`` labels,
  ``sample_images`` frames ``b c h w`` of the same size, a gradient for every parameter;
  and, for those that declare ``latent_parts`` (:mod:`vidgan.generators.latents`),
  ``sample_parts`` gives every part at its shape and ``sample_videos(latents=...)`` of
  those parts decodes the same videos as drawing them with the same seed;
  generators with ``dim_z`` (frame decoders): ``b d`` latents to ``b c h w`` frames;
- discriminators: input by their ``view`` attribute (``frames``: ``b c h w``,
  ``clips``: ``b c t h w`` with ``t`` just above ``min_frames``), ``(logits,
  class_logits)`` with the batch first, finite, a finite gradient for every parameter;
- losses with ``discriminator`` and ``generator`` (adversarial): scalars with finite
  gradients for per-sample and patch-map logits, and, if they have one,
  ``penalty(discriminator, real, fake)`` a finite scalar whose gradient reaches the
  discriminator's weights; other callables (auxiliary losses):
  ``loss(class_logits, labels)`` is a scalar with a finite gradient.

:func:`sweep` checks every registered name of some kinds. A plugin's test suite can be
as short as::

    from vidgan.testing import check_component

    def test_my_discriminator():
        check_component("discriminators", "my-discriminator")

Example:
    >>> check_component("losses", "hinge")
    >>> check_component("discriminators", "patch-video", ndf=4)
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import nn

from vidgan.registry import REGISTRIES, Registry

KINDS = ("samplers", "generators", "discriminators", "losses")
"""The kinds :func:`check_component` knows how to check (the default of :func:`sweep`)."""

SMALL_KWARGS: dict[str, Any] = {"ngf": 8, "ndf": 8, "image_size": 32, "video_length": 4}
"""Sizes passed to a factory that accepts them, so that checks run in a blink."""

BATCH = 2
VIDEO_LENGTH = 3


# building -------------------------------------------------------------------------------
def _registry(kind: str) -> Registry:
    for reg in REGISTRIES.values():
        if kind in (reg.kind, reg.singular):
            return reg
    raise ValueError(f"unknown kind {kind!r}; kinds: {', '.join(KINDS)}")


def _parameters(factory: Callable) -> dict[str, inspect.Parameter]:
    try:
        return dict(inspect.signature(factory).parameters)
    except (TypeError, ValueError):  # a builtin without a signature
        return {}


def small_kwargs(factory: Callable, **overrides: Any) -> dict[str, Any]:
    """:data:`SMALL_KWARGS` that ``factory`` accepts by name, updated with ``overrides``."""
    params = _parameters(factory)
    return {**{k: v for k, v in SMALL_KWARGS.items() if k in params}, **overrides}


def _arguments(factory: Callable, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The constructor's arguments after defaults are applied (for expected sizes)."""
    params = _parameters(factory)
    resolved = {k: p.default for k, p in params.items() if p.default is not inspect.Parameter.empty}
    resolved.update(kwargs)
    return resolved


def build(kind: str, name: str, **kwargs: Any) -> Any:
    """Build a registered component with :func:`small_kwargs` (``kwargs`` win)."""
    factory = _registry(kind).get(name)
    return factory(**small_kwargs(factory, **kwargs))


# helpers ----------------------------------------------------------------------------------
def _fail(who: str, message: str) -> None:
    raise AssertionError(f"{who}: {message}")


def _check_tensor(who: str, what: str, x: Any, shape: tuple[int | None, ...]) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        _fail(who, f"{what} should be a tensor, got {type(x).__name__}")
    if x.ndim != len(shape) or any(s is not None and s != got for s, got in zip(shape, x.shape)):
        wanted = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
        _fail(who, f"{what} should have shape {wanted}, got {tuple(x.shape)}")
    if x.is_floating_point() and not torch.isfinite(x).all():
        _fail(who, f"{what} has non-finite values")
    return x


def _check_gradients(who: str, module: Any) -> None:
    if not isinstance(module, nn.Module):
        return
    named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
    missing = [n for n, p in named if p.grad is None]
    if missing:
        _fail(who, f"no gradient reaches parameters {', '.join(missing)}")
    bad = [n for n, p in named if not torch.isfinite(p.grad).all()]
    if bad:
        _fail(who, f"non-finite gradient for parameters {', '.join(bad)}")


def _backward(who: str, loss: torch.Tensor) -> None:
    if not loss.requires_grad:
        _fail(who, "the output does not depend on the parameters (no grad_fn)")
    loss.backward()


def _zero_grad(module: Any) -> None:
    if isinstance(module, nn.Module):
        module.zero_grad(set_to_none=True)


def _accepts(fn: Callable, name: str) -> bool:
    params = _parameters(fn)
    return name in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


# per kind -------------------------------------------------------------------------------
def _check_sampler(who: str, sampler: Any, args: dict[str, Any]) -> None:
    _zero_grad(sampler)
    z = sampler(num_videos=BATCH, video_length=VIDEO_LENGTH)
    dim = getattr(sampler, "dim", args.get("dim"))
    _check_tensor(who, "sample", z, (BATCH, VIDEO_LENGTH, dim if isinstance(dim, int) else None))
    if _accepts(sampler, "generator"):
        with torch.no_grad():
            a = sampler(BATCH, VIDEO_LENGTH, generator=torch.Generator().manual_seed(7))
            b = sampler(BATCH, VIDEO_LENGTH, generator=torch.Generator().manual_seed(7))
        if not torch.equal(a, b):
            _fail(who, "two samples with equally seeded torch.Generators differ")
    if isinstance(sampler, nn.Module) and any(p.requires_grad for p in sampler.parameters()):
        _backward(who, z.sum())
        _check_gradients(who, sampler)


def _check_generator(who: str, gen: Any, args: dict[str, Any]) -> None:
    _zero_grad(gen)
    channels = getattr(gen, "channels", args.get("channels"))
    size = getattr(gen, "image_size", args.get("image_size"))
    if hasattr(gen, "sample_videos"):
        videos, labels = gen.sample_videos(BATCH, VIDEO_LENGTH)
        _check_tensor(who, "sample_videos(2, 3) videos", videos, (BATCH, channels, VIDEO_LENGTH, size, size))
        _check_tensor(who, "sample_videos(2, 3) labels", labels, (BATCH,))
        if labels.is_floating_point():
            _fail(who, f"labels should be integers, got {labels.dtype}")
        if videos.abs().max() > 1:
            _fail(who, "videos should lie in [-1, 1] like the (normalised) data")
        images, labels = gen.sample_images(BATCH)
        _check_tensor(who, "sample_images(2) frames", images, (BATCH, *videos.shape[1:2], *videos.shape[3:]))
        if labels is not None:
            _check_tensor(who, "sample_images(2) labels", labels, (BATCH,))
        if images.abs().max() > 1:
            _fail(who, "sampled images should lie in [-1, 1] like the (normalised) data")
        _backward(who, videos.sum() + images.sum())
        _check_gradients(who, gen)
        if _accepts(gen.sample_videos, "generator"):
            with torch.no_grad():
                a = gen.sample_videos(BATCH, VIDEO_LENGTH, generator=torch.Generator().manual_seed(7))[0]
                b = gen.sample_videos(BATCH, VIDEO_LENGTH, generator=torch.Generator().manual_seed(7))[0]
            if not torch.equal(a, b):
                _fail(who, "two sample_videos calls with equally seeded torch.Generators differ")
        if hasattr(gen, "latent_parts"):
            _check_latent_parts(who, gen)
    elif hasattr(gen, "dim_z"):
        frames = gen(torch.randn(BATCH, gen.dim_z))
        _check_tensor(who, f"frames decoded from latents ({BATCH}, {gen.dim_z})", frames,
                      (BATCH, channels, size, size))
        _backward(who, frames.sum())
        _check_gradients(who, gen)
    else:
        _fail(who, "a generator needs sample_videos/sample_images (a video generator) "
                   "or dim_z (a frame decoder of b d latents)")


def _check_latent_parts(who: str, gen: Any) -> None:
    seeded = torch.Generator().manual_seed(7)
    with torch.no_grad():
        values, _ = gen.sample_parts(BATCH, VIDEO_LENGTH, generator=seeded)
        for name, part in gen.latent_parts.items():
            _check_tensor(who, f"sample_parts(2, 3) part {name!r}", values.get(name), part.shape(BATCH, VIDEO_LENGTH))
        drawn = gen.sample_videos(BATCH, VIDEO_LENGTH, generator=torch.Generator().manual_seed(7))[0]
        given = gen.sample_videos(BATCH, VIDEO_LENGTH, latents=values)[0]
    if not torch.equal(drawn, given):
        _fail(who, "sample_videos(latents=parts) differs from the videos drawn with the seed those parts came from")


def _check_discriminator(who: str, d: Any, args: dict[str, Any]) -> None:
    _zero_grad(d)
    view = getattr(d, "view", None)
    channels = getattr(d, "channels", args.get("channels"))
    size = getattr(d, "image_size", args.get("image_size"))
    if not isinstance(channels, int) or not isinstance(size, int):
        _fail(who, "cannot tell the input size: give the discriminator channels and image_size")
    if view == "frames":
        shape: tuple[int, ...] = (BATCH, channels, size, size)
    elif view == "clips":  # a critic with ``frames`` sees only those frames of a clip
        frames = len(d.frames) if hasattr(d, "frames") else int(getattr(d, "min_frames", 1)) + 1
        shape = (BATCH, channels, frames, size, size)
    else:
        _fail(who, f"view should be 'frames' or 'clips', got {view!r}")
    x = torch.randn(shape)
    out = d(x)
    if not isinstance(out, tuple) or len(out) != 2:
        _fail(who, f"should return (logits, class_logits) for input {shape}, got {type(out).__name__}")
    logits, class_logits = out
    _check_tensor(who, f"logits for input {shape}", logits, (BATCH,) + (None,) * (logits.ndim - 1))
    total = logits.sum()
    if class_logits is not None:
        _check_tensor(who, f"class logits for input {shape}", class_logits, (BATCH, None))
        total = total + class_logits.sum()
    _backward(who, total)
    _check_gradients(who, d)


class _PatchCritic(nn.Module):
    """A one-convolution frames discriminator (a logit map) for checking penalties."""

    view = "frames"

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 1, 3, bias=False)  # a penalty on input gradients never reaches a bias

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, None]:
        return self.conv(x)[:, 0], None


def _check_loss(who: str, loss: Any, args: dict[str, Any]) -> None:
    def scalar(what: str, value: Any, *inputs: torch.Tensor) -> None:
        _check_tensor(who, what, value, ())
        value.backward()
        for i, t in enumerate(inputs):
            if t.grad is None or not torch.isfinite(t.grad).all():
                _fail(who, f"{what}: input {i} gets no finite gradient")

    if hasattr(loss, "discriminator") and hasattr(loss, "generator"):
        for shape in [(BATCH,), (BATCH, 1), (BATCH, 2, 2)]:
            real, fake = (torch.randn(shape, requires_grad=True) for _ in range(2))
            scalar(f"discriminator(real, fake) on logits {shape}", loss.discriminator(real, fake), real, fake)
            fake = torch.randn(shape, requires_grad=True)
            scalar(f"generator(fake) on logits {shape}", loss.generator(fake), fake)
        if hasattr(loss, "penalty"):
            critic = _PatchCritic()
            real, fake = torch.randn(BATCH, 3, 8, 8), torch.randn(BATCH, 3, 8, 8)
            what = "penalty(discriminator, real, fake) on frames (2, 3, 8, 8)"
            value = _check_tensor(who, what, loss.penalty(critic, real, fake), ())
            if not value.requires_grad:
                _fail(who, f"{what} does not depend on the discriminator's weights")
            value.backward()
            _check_gradients(who, critic)
    elif callable(loss):
        class_logits = torch.randn(BATCH + 2, 5, requires_grad=True)
        labels = torch.tensor([0, 4, 2, 1])
        scalar("loss(class_logits (4, 5), labels (4,))", loss(class_logits, labels), class_logits)
    else:
        _fail(who, "a loss needs discriminator() and generator() (adversarial) or __call__ (auxiliary)")


_CHECKS: dict[str, Callable[[str, Any, dict[str, Any]], None]] = {
    "samplers": _check_sampler,
    "generators": _check_generator,
    "discriminators": _check_discriminator,
    "losses": _check_loss,
}


# public API -----------------------------------------------------------------------------
def check_component(kind: str, name: str, **kwargs: Any) -> None:
    """Build ``name`` from the ``kind`` registry and check it keeps its kind's contract.

    ``kwargs`` go to the factory on top of :data:`SMALL_KWARGS` (those it accepts).
    Runs under a forked, seeded RNG, so the global random state is left as it was.

    Raises:
        AssertionError: the component cannot be loaded or built, or breaks the contract.
        ValueError: ``kind`` is not one of :data:`KINDS`.
    """
    reg = _registry(kind)
    if reg.kind not in _CHECKS:
        raise ValueError(f"no checks for {reg.kind}; checkable kinds: {', '.join(KINDS)}")
    who = f"{reg.singular} {name!r}"
    try:
        factory = reg.get(name)
    except Exception as err:
        raise AssertionError(f"{who}: cannot be loaded: {err}") from err
    call_kwargs = small_kwargs(factory, **kwargs)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        try:
            component = factory(**call_kwargs)
        except Exception as err:
            raise AssertionError(f"{who}: building it with {call_kwargs} failed: "
                                 f"{type(err).__name__}: {err}") from err
        try:
            _CHECKS[reg.kind](who, component, _arguments(factory, call_kwargs))
        except AssertionError:
            raise
        except Exception as err:
            raise AssertionError(f"{who} (built with {call_kwargs}): "
                                 f"{type(err).__name__}: {err}") from err


def sweep(kinds: Iterable[str] = KINDS, pattern: str = "*") -> list[str]:
    """Check every registered component of ``kinds`` whose name matches ``pattern``.

    Plugins that failed to register (for example a name clash) count as failures.

    Returns:
        the checked components as ``"kind/name"``.

    Raises:
        AssertionError: listing every failure, one per line.
    """
    checked: list[str] = []
    failures: list[str] = []
    for kind in kinds:
        reg = _registry(kind)
        for name in reg.names(pattern):
            try:
                check_component(reg.kind, name)
                checked.append(f"{reg.kind}/{name}")
            except AssertionError as err:
                failures.append(f"{reg.kind}/{name}: {err}")
        reported = {f.split(":", 1)[0] for f in failures}
        failures += [f"{reg.kind}/{name}: {error}" for name, error in sorted(reg.failures.items())
                     if f"{reg.kind}/{name}" not in reported]
    if failures:
        raise AssertionError(f"{len(failures)} component(s) failed:\n" + "\n".join(failures))
    return checked
