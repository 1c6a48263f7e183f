"""The three latent parts of MoCoGAN: content, category and motion."""

from __future__ import annotations

import math

import torch
from einops import repeat
from torch import nn
from torch.nn import functional as F

from vidgan.registry import SAMPLERS


def _device(module: nn.Module) -> torch.device:
    buffer = next(iter(module.buffers()), None)
    param = next(iter(module.parameters()), buffer)
    return param.device if param is not None else torch.device("cpu")


def _randn(shape: tuple[int, ...], generator: torch.Generator | None, device: torch.device) -> torch.Tensor:
    return torch.randn(shape, generator=generator).to(device)


@SAMPLERS.register("gaussian-content")
class GaussianContent(nn.Module):
    """Content code z_C ~ N(0, I), drawn once per video and held fixed over its frames.

    Shape:
        output: ``b t d`` with ``d = dim``; equal along ``t``.

    Example:
        >>> GaussianContent(50)(4, 16).shape
        torch.Size([4, 16, 50])
    """

    prior = "gaussian"  # its LatentPart prior (vidgan.generators.latents)

    def __init__(self, dim: int = 50):
        super().__init__()
        self.dim = dim
        self.register_buffer("_anchor", torch.empty(0), persistent=False)

    def forward(self, num_videos: int, video_length: int,
                generator: torch.Generator | None = None) -> torch.Tensor:
        z = _randn((num_videos, self.dim), generator, _device(self))
        return repeat(z, "b d -> b t d", t=video_length)


@SAMPLERS.register("one-hot-category")
class OneHotCategory(nn.Module):
    """Category code z_A: a one-hot vector of ``dim`` classes, fixed over a video.

    ``labels`` picks the classes; without it they are drawn uniformly.

    Shape:
        labels: ``b`` (int64); output: ``b t dim``.

    Example:
        >>> OneHotCategory(6)(2, 3, labels=torch.tensor([1, 5]))[1, 0]
        tensor([0., 0., 0., 0., 0., 1.])
    """

    prior = "one-hot"  # its LatentPart prior (vidgan.generators.latents)

    def __init__(self, dim: int = 6):
        super().__init__()
        self.dim = dim
        self.register_buffer("_anchor", torch.empty(0), persistent=False)

    def labels(self, num_videos: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Uniformly drawn class labels, ``b`` int64 (all zero when ``dim`` is 0)."""
        high = max(self.dim, 1)
        return torch.randint(high, (num_videos,), generator=generator).to(_device(self))

    def forward(self, num_videos: int, video_length: int,
                generator: torch.Generator | None = None,
                labels: torch.Tensor | None = None) -> torch.Tensor:
        if labels is None:
            labels = self.labels(num_videos, generator)
        if labels.shape != (num_videos,):
            raise ValueError(f"labels must have shape ({num_videos},), got {tuple(labels.shape)}")
        if self.dim == 0:
            return torch.zeros(num_videos, video_length, 0, device=_device(self))
        if labels.min() < 0 or labels.max() >= self.dim:
            raise ValueError(f"category labels must lie in [0, {self.dim}), got {labels.tolist()}")
        one_hot = F.one_hot(labels.to(_device(self)), self.dim).float()
        return repeat(one_hot, "b k -> b t k", t=video_length)


@SAMPLERS.register("gru-motion")
class GRUMotion(nn.Module):
    """Motion codes z_M(1..T) from a learnable GRU cell driven by Gaussian noise.

    h_0 ~ N(0, I); h_t = GRUCell(ε_t, h_{t-1}) with fresh ε_t ~ N(0, noise² I); the
    output is h_1..h_T. ``noise`` 1 is the original; below 1 the trajectory depends more on
    h_0 and less on each frame's draw (smoother motion); the same numbers are drawn either way.

    Shape:
        output: ``b t d`` with ``d = dim``.

    Example:
        >>> GRUMotion(10)(3, 16).shape
        torch.Size([3, 16, 10])
    """

    prior = "learned"  # its LatentPart prior (vidgan.generators.latents)

    def __init__(self, dim: int = 10, noise: float = 1.0):
        super().__init__()
        if noise < 0:
            raise ValueError(f"gru-motion noise must be at least 0, got {noise}")
        self.dim = dim
        self.noise = noise
        self.gru = nn.GRUCell(dim, dim)

    def forward(self, num_videos: int, video_length: int,
                generator: torch.Generator | None = None) -> torch.Tensor:
        if video_length < 1:
            raise ValueError(f"video_length must be at least 1, got {video_length}")
        device = _device(self)
        h = _randn((num_videos, self.dim), generator, device)
        noise = self.noise * _randn((video_length, num_videos, self.dim), generator, device)
        states = []
        for eps in noise:
            h = self.gru(eps, h)
            states.append(h)
        return torch.stack(states, dim=1)


@SAMPLERS.register("sine-motion")
class SineMotion(nn.Module):
    """Motion codes as sinusoids: smooth, periodic trajectories from the first step.

    ``dim / 2`` oscillators with learnable angular frequencies ω_k (per frame, started
    at periods from ``periods[0]`` to ``periods[1]`` frames, geometrically spaced), each
    on the unit circle. A video draws a phase φ_k ~ U(0, 2π) and a sense s_k = ±1 per
    oscillator: z_M(t) = [sin(s_k ω_k t + φ_k), cos(s_k ω_k t + φ_k)]_k. A generator maps
    these codes to its frames (``mocogan-warp``: to a translation), so a motion is a
    mixture of oscillations instead of the GRU's noise-driven walk, which has to learn to
    be smooth. Read by a linear map, one oscillator draws a line or an ellipse of a fixed
    size, turning either way: with a random amplitude per video, some videos barely moved
    and most motion-class errors were those (docs/dynamics.md).

    Shape:
        output: ``b t d`` with ``d = dim`` (even).

    Example:
        >>> z = SineMotion(4)(3, 16)
        >>> radius = z[..., :2] ** 2 + z[..., 2:] ** 2  # 1 at every frame
        >>> z.shape, torch.allclose(radius, torch.ones(3, 16, 2))
        (torch.Size([3, 16, 4]), True)
    """

    prior = "learned"  # its LatentPart prior (vidgan.generators.latents)

    def __init__(self, dim: int = 10, periods: tuple[float, float] = (4.0, 32.0)):
        super().__init__()
        if dim < 2 or dim % 2:
            raise ValueError(f"sine-motion needs an even dim of at least 2 (sine and cosine pairs), got {dim}")
        self.dim = dim
        period = torch.logspace(math.log10(periods[0]), math.log10(periods[1]), dim // 2)
        self.log_omega = nn.Parameter(torch.log(2 * math.pi / period))

    def forward(self, num_videos: int, video_length: int,
                generator: torch.Generator | None = None) -> torch.Tensor:
        if video_length < 1:
            raise ValueError(f"video_length must be at least 1, got {video_length}")
        device = _device(self)
        k = self.dim // 2
        phase = 2 * math.pi * torch.rand((num_videos, 1, k), generator=generator).to(device)
        sense = (2 * torch.randint(2, (num_videos, 1, k), generator=generator) - 1).to(device)
        t = torch.arange(video_length, device=device, dtype=torch.float32)[None, :, None]
        angle = sense * self.log_omega.exp() * t + phase  # b t k
        return torch.cat([torch.sin(angle), torch.cos(angle)], dim=2)


@SAMPLERS.register("ramp-motion")
class RampMotion(nn.Module):
    """Motion codes as a clock and a per-video draw: z_M(t) = [t / horizon, w].

    w ~ N(0, I) of ``dim - 1`` values is drawn once per video; the first value counts the
    frames (0 at the first, 1 at frame ``horizon``, on past it for longer videos). A
    generator reading these codes (``mocogan-warp``: as a translation) can draw a motion
    that goes one way over the whole clip, with a start and an extent of its own per
    video: the sweep across the frame from one edge of the MoCoGAN shape-motion data,
    which oscillators with a random phase (``sine-motion``) cannot draw and the GRU's
    noise-driven walk has to learn (benchmarks/shape_motion/RESULTS.md).

    Shape:
        output: ``b t d`` with ``d = dim``.

    Example:
        >>> z = RampMotion(3, horizon=4)(2, 5)
        >>> z[0, :, 0].tolist(), bool((z[:, :, 1:] == z[:, :1, 1:]).all())
        ([0.0, 0.25, 0.5, 0.75, 1.0], True)
    """

    prior = "learned"  # its LatentPart prior (vidgan.generators.latents)

    def __init__(self, dim: int = 10, horizon: float = 15.0):
        super().__init__()
        if dim < 1:
            raise ValueError(f"ramp-motion needs a dim of at least 1 (the clock), got {dim}")
        if horizon <= 0:
            raise ValueError(f"ramp-motion's horizon (frames from clock 0 to 1) must be positive, got {horizon}")
        self.dim = dim
        self.horizon = horizon
        self.register_buffer("_anchor", torch.empty(0), persistent=False)

    def forward(self, num_videos: int, video_length: int,
                generator: torch.Generator | None = None) -> torch.Tensor:
        if video_length < 1:
            raise ValueError(f"video_length must be at least 1, got {video_length}")
        device = _device(self)
        w = _randn((num_videos, 1, self.dim - 1), generator, device).expand(-1, video_length, -1)
        clock = torch.arange(video_length, device=device, dtype=torch.float32) / self.horizon
        return torch.cat([clock[None, :, None].expand(num_videos, -1, 1), w], dim=2)


@SAMPLERS.register("ramp-sine-motion")
class RampSineMotion(nn.Module):
    """Motion codes that are both a clock and oscillators: ``ramp-motion``'s codes of
    ``ramp`` values beside ``sine-motion``'s of ``dim - ramp``.

    A generator reading them can draw a motion that goes one way over the clip (a sweep
    across the frame), one that repeats (a wave, a walk cycle), or both, so one recipe
    needs no choice of motion per data set.

    Shape:
        output: ``b t d`` with ``d = dim``: the ramp's values first.

    Example:
        >>> z = RampSineMotion(6, ramp=2, horizon=4)(2, 5)
        >>> z[0, :, 0].tolist(), z.shape
        ([0.0, 0.25, 0.5, 0.75, 1.0], torch.Size([2, 5, 6]))
    """

    prior = "learned"  # its LatentPart prior (vidgan.generators.latents)

    def __init__(self, dim: int = 10, ramp: int = 4, horizon: float = 15.0,
                 periods: tuple[float, float] = (4.0, 32.0)):
        super().__init__()
        if not 1 <= ramp <= dim - 2 or (dim - ramp) % 2:
            raise ValueError(f"ramp-sine-motion needs ramp from 1 to dim - 2 with dim - ramp even (sine and "
                             f"cosine pairs), got ramp {ramp} of dim {dim}")
        self.dim = dim
        self.ramp = RampMotion(ramp, horizon)
        self.sine = SineMotion(dim - ramp, periods)

    def forward(self, num_videos: int, video_length: int,
                generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.cat([self.ramp(num_videos, video_length, generator),
                          self.sine(num_videos, video_length, generator)], dim=2)
