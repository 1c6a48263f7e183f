"""VGAN's two-stream generator and 3D-convolutional discriminator (Vondrick et al., NeurIPS 2016).

Both follow vidgan's contracts: the generator has ``sample_videos``, ``sample_images`` and
``dim_z_category``; the discriminator has ``view = "clips"``, ``min_frames`` and returns
``(logits, class_logits)``. Their ``channels``, ``image_size`` and ``video_length`` come
from the run's ``data`` section.
"""

from __future__ import annotations

import torch
from einops import rearrange
from torch import nn

from vidgan.errors import VidganError
from vidgan.layers import check_image_size
from vidgan.registry import GENERATORS


def _upsamplings(image_size: int) -> int:
    """Stride-2 layers between 4×4 and ``image_size`` (4 at 64×64)."""
    return check_image_size(image_size, "vgan") - 2


class VGANGenerator(nn.Module):
    """A moving foreground with a mask over a still background, both decoded from one ``z``.

    The foreground stream is 3D transposed convolutions: ``z`` becomes a ``t0×4×4``
    volume of ``8·ngf`` channels, then every layer doubles time, height and width and
    halves the channels, ending in a foreground video ``f`` (tanh) and a mask ``m``
    (sigmoid). The background stream is vidgan's ``dcgan-frames`` decoder on the same
    ``z``: one frame ``s`` (tanh). The video is ``m·f + (1 - m)·s``. At 64×64 with
    ``video_length=32`` these are the paper's layers (512-256-128-64 channels, 2×4×4 up
    to 32×64×64). The paper's L1 penalty on the mask is not applied.

    The stream makes ``max_frames = t0·image_size/4`` frames, ``t0`` the smallest start
    that reaches ``video_length``; a shorter video is the first frames of one.

    Shape:
        ``forward(z)``: ``z`` is ``b d`` (``d = dim_z``); the video ``b c t h w`` in
        [-1, 1] with ``t = max_frames``.
        ``sample_videos(n, t)``: ``b c t h w`` and labels ``b`` (all 0), ``t <= max_frames``.
        ``sample_images(n)``: ``b c h w`` and labels ``b``.

    Example:
        >>> g = VGANGenerator(image_size=32, video_length=8, ngf=8)
        >>> g.sample_videos(2)[0].shape
        torch.Size([2, 3, 8, 32, 32])
    """

    dim_z_category = 0  # unconditional: every label is 0

    def __init__(self, channels: int = 3, image_size: int = 64, video_length: int = 16,
                 dim_z: int = 100, ngf: int = 64):
        super().__init__()
        n = _upsamplings(image_size)
        if video_length < 1:
            raise VidganError(f"vgan needs video_length >= 1, got {video_length}")
        self.channels, self.image_size, self.video_length, self.dim_z = channels, image_size, video_length, dim_z
        t0 = -(-video_length // 2 ** n)
        self.max_frames = t0 * 2 ** n
        widths = [ngf * 2 ** i for i in reversed(range(n))]  # 64px: 8, 4, 2, 1 × ngf
        layers = [nn.ConvTranspose3d(dim_z, widths[0], (t0, 4, 4), bias=False),
                  nn.BatchNorm3d(widths[0]), nn.ReLU(True)]
        for c_in, c_out in zip(widths, widths[1:]):
            layers += [nn.ConvTranspose3d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm3d(c_out), nn.ReLU(True)]
        self.foreground = nn.Sequential(*layers)
        self.to_video = nn.Sequential(nn.ConvTranspose3d(widths[-1], channels, 4, 2, 1), nn.Tanh())
        self.to_mask = nn.Sequential(nn.ConvTranspose3d(widths[-1], 1, 4, 2, 1), nn.Sigmoid())
        self.background = GENERATORS.build("dcgan-frames", dim_z=dim_z, channels=channels,
                                           image_size=image_size, ngf=ngf)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Decode latents ``b d`` into videos ``b c t h w`` of ``max_frames`` frames."""
        if z.ndim != 2 or z.shape[1] != self.dim_z:
            raise ValueError(f"vgan expects latents b {self.dim_z}, got {tuple(z.shape)}")
        h = self.foreground(rearrange(z, "b d -> b d 1 1 1"))
        mask = self.to_mask(h)
        still = rearrange(self.background(z), "b c h w -> b c 1 h w")
        return mask * self.to_video(h) + (1 - mask) * still

    def sample_videos(self, num_videos: int, video_length: int | None = None,
                      generator: torch.Generator | None = None,
                      labels: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``num_videos`` videos ``b c t h w`` from ``z ~ N(0, I)``, and their labels (0)."""
        t = video_length or self.video_length
        if not 1 <= t <= self.max_frames:
            raise VidganError(f"vgan makes 1 to {self.max_frames} frames (it was built for "
                              f"video_length={self.video_length}); got {t}")
        device = next(self.parameters()).device
        if labels is None:
            labels = torch.zeros(num_videos, dtype=torch.int64, device=device)
        elif labels.shape != (num_videos,) or bool(labels.any()):
            raise VidganError("vgan is unconditional: labels must be None or all 0")
        z = torch.randn(num_videos, self.dim_z, generator=generator).to(device)
        return self(z)[:, :, :t], labels

    def sample_images(self, num_images: int, generator: torch.Generator | None = None
                      ) -> tuple[torch.Tensor, torch.Tensor]:
        """Single frames ``b c h w``: a uniformly chosen frame of each of ``b`` random videos."""
        videos, labels = self.sample_videos(num_images, generator=generator)
        steps = torch.randint(videos.shape[2], (num_images,), generator=generator).to(videos.device)
        return videos[torch.arange(num_images, device=videos.device), :, steps], labels


class VGANDiscriminator(nn.Module):
    """VGAN's video discriminator: 3D convolutions that stride 2 in time, height and width.

    Channels ``c → ndf → 2·ndf → …`` (kernel 4, LeakyReLU 0.2, batch norm after all
    but the first) down to 4×4, then a ``1×4×4`` convolution gives one logit per time
    step left. At 64×64: 64-128-256-512 channels, as in the paper.

    Shape:
        x: ``b c t h w`` with ``t >= min_frames = image_size / 4``; logits: ``b t'`` with
        ``t' = t // min_frames``; class logits: None.

    Example:
        >>> d = VGANDiscriminator(image_size=32, ndf=8)
        >>> d(torch.randn(2, 3, 16, 32, 32))[0].shape
        torch.Size([2, 2])
    """

    view = "clips"

    def __init__(self, channels: int = 3, image_size: int = 64, ndf: int = 64):
        super().__init__()
        n = _upsamplings(image_size)
        self.channels, self.image_size = channels, image_size
        self.min_frames = 2 ** n
        widths = [channels] + [ndf * 2 ** i for i in range(n)]
        layers: list[nn.Module] = []
        for i, (c_in, c_out) in enumerate(zip(widths, widths[1:])):
            layers += [nn.Conv3d(c_in, c_out, 4, 2, 1, bias=False)]
            layers += [nn.BatchNorm3d(c_out)] if i > 0 else []
            layers += [nn.LeakyReLU(0.2, inplace=True)]
        layers.append(nn.Conv3d(widths[-1], 1, (1, 4, 4), bias=False))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, None]:
        if (x.ndim != 5 or x.shape[1] != self.channels or x.shape[-2:] != (self.image_size,) * 2
                or x.shape[2] < self.min_frames):
            raise ValueError(f"vgan discriminator expects b c t h w with c={self.channels}, "
                             f"h=w={self.image_size}, t >= {self.min_frames}; got {tuple(x.shape)}")
        return self.net(x)[:, 0, :, 0, 0], None
