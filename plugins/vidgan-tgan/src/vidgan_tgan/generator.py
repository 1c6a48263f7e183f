"""TGAN's video generator: a temporal generator feeding an image generator (Saito et al., ICCV 2017)."""

from __future__ import annotations

import torch
from einops import rearrange, repeat
from torch import nn

from vidgan.errors import VidganError
from vidgan.registry import GENERATORS


class TGANGenerator(nn.Module):
    """One latent ``z0`` per video, a latent trajectory ``z1(t)`` from it, a frame per step.

    The temporal generator maps ``z0 ~ N(0, I)`` through a linear layer to ``ntf``
    channels at length 1, then 1D transposed convolutions (kernel 4, stride 2; batch norm,
    ReLU) double the length; the last gives ``dim_z_motion`` channels with tanh. The image
    generator, vidgan's ``dcgan-frames``, decodes frame ``t`` from ``[z0, z1(t)]``. The
    trajectory has ``max_frames`` steps, the smallest power of two (at least 2) that
    reaches ``video_length``; a shorter video uses its first steps.

    Shape:
        ``trajectory(z0)``: ``z0`` is ``b d``; output ``b t d_m`` with ``t = max_frames``.
        ``forward(z0, t)``: videos ``b c t h w`` in [-1, 1].
        ``sample_videos(n, t)``: ``b c t h w`` and labels ``b`` (all 0), ``t <= max_frames``.
        ``sample_images(n)``: ``b c h w`` and labels ``b``.

    Example:
        >>> g = TGANGenerator(image_size=32, video_length=8, dim_z=16, dim_z_motion=8, ntf=16, ngf=8)
        >>> g.sample_videos(2)[0].shape
        torch.Size([2, 3, 8, 32, 32])
    """

    dim_z_category = 0  # unconditional: every label is 0

    def __init__(self, channels: int = 3, image_size: int = 64, video_length: int = 16,
                 dim_z: int = 100, dim_z_motion: int = 100, ntf: int = 256, ngf: int = 64):
        super().__init__()
        if video_length < 1:
            raise VidganError(f"tgan needs video_length >= 1, got {video_length}")
        self.channels, self.image_size, self.video_length, self.dim_z = channels, image_size, video_length, dim_z
        doublings = max(1, (video_length - 1).bit_length())
        self.max_frames = 2 ** doublings
        layers: list[nn.Module] = [nn.Linear(dim_z, ntf), nn.ReLU(True)]
        layers.append(nn.Unflatten(1, (ntf, 1)))  # b c -> b c 1
        for _ in range(doublings - 1):
            layers += [nn.ConvTranspose1d(ntf, ntf, 4, 2, 1, bias=False), nn.BatchNorm1d(ntf), nn.ReLU(True)]
        layers += [nn.ConvTranspose1d(ntf, dim_z_motion, 4, 2, 1), nn.Tanh()]
        self.temporal = nn.Sequential(*layers)
        self.decoder = GENERATORS.build("dcgan-frames", dim_z=dim_z + dim_z_motion, channels=channels,
                                        image_size=image_size, ngf=ngf)

    def trajectory(self, z0: torch.Tensor) -> torch.Tensor:
        """The latent trajectory ``b t d_m`` of ``max_frames`` steps for latents ``b d``."""
        if z0.ndim != 2 or z0.shape[1] != self.dim_z:
            raise ValueError(f"tgan expects latents b {self.dim_z}, got {tuple(z0.shape)}")
        return rearrange(self.temporal(z0), "b d t -> b t d")

    def _frame_latents(self, z0: torch.Tensor, z1: torch.Tensor) -> torch.Tensor:
        return torch.cat([repeat(z0, "b d -> b t d", t=z1.shape[1]), z1], dim=2)

    def forward(self, z0: torch.Tensor, video_length: int | None = None) -> torch.Tensor:
        """Decode latents ``b d`` into videos ``b c t h w`` (``t``: ``video_length``)."""
        t = self._length(video_length)
        z = self._frame_latents(z0, self.trajectory(z0)[:, :t])
        frames = self.decoder(rearrange(z, "b t d -> (b t) d"))
        return rearrange(frames, "(b t) c h w -> b c t h w", t=t)

    def _length(self, video_length: int | None) -> int:
        t = video_length or self.video_length
        if not 1 <= t <= self.max_frames:
            raise VidganError(f"tgan makes 1 to {self.max_frames} frames (it was built for "
                              f"video_length={self.video_length}); got {t}")
        return t

    def _sample(self, n: int, generator: torch.Generator | None,
                labels: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        device = next(self.parameters()).device
        if labels is None:
            labels = torch.zeros(n, dtype=torch.int64, device=device)
        elif labels.shape != (n,) or bool(labels.any()):
            raise VidganError("tgan is unconditional: labels must be None or all 0")
        return torch.randn(n, self.dim_z, generator=generator).to(device), labels

    def sample_videos(self, num_videos: int, video_length: int | None = None,
                      generator: torch.Generator | None = None,
                      labels: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``num_videos`` videos ``b c t h w`` from ``z0 ~ N(0, I)``, and their labels (0)."""
        t = self._length(video_length)
        z0, labels = self._sample(num_videos, generator, labels)
        return self(z0, t), labels

    def sample_images(self, num_images: int, generator: torch.Generator | None = None
                      ) -> tuple[torch.Tensor, torch.Tensor]:
        """Single frames ``b c h w``, each a uniform step of its own trajectory; only those are decoded."""
        z0, labels = self._sample(num_images, generator, None)
        z = self._frame_latents(z0, self.trajectory(z0)[:, :self.video_length])
        steps = torch.randint(z.shape[1], (num_images,), generator=generator).to(z.device)
        return self.decoder(z[torch.arange(num_images, device=z.device), steps]), labels
