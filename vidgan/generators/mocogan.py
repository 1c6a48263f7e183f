"""The MoCoGAN video generator: content, category and motion codes decoded frame by frame."""

from __future__ import annotations

import torch
from einops import rearrange, repeat
from torch import nn
from torch.nn import functional as F

from vidgan.registry import GENERATORS, SAMPLERS


@GENERATORS.register("mocogan")
class MoCoGANGenerator(nn.Module):
    """Samples videos as z(t) = [z_content, z_category, z_motion(t)] decoded by a frame decoder.

    The samplers and the decoder are registry entries chosen by name. Videos can have
    any length at sampling time; ``video_length`` is the default.

    Shape:
        ``sample_videos(n)``: ``b c t h w`` in [-1, 1] and labels ``b``;
        ``sample_images(n)``: ``b c h w`` and labels ``b``.

    Example:
        >>> g = MoCoGANGenerator(image_size=32, ngf=8)
        >>> g.sample_videos(2, 5)[0].shape
        torch.Size([2, 3, 5, 32, 32])
    """

    decodes_motion = True  # the frame decoder sees the motion code (mocogan-warp's does not)

    def __init__(self, channels: int = 3, image_size: int = 64, video_length: int = 16,
                 dim_z_content: int = 50, dim_z_category: int = 0, dim_z_motion: int = 10,
                 ngf: int = 64, content: str = "gaussian-content",
                 category: str = "one-hot-category", motion: str = "gru-motion",
                 decoder: str = "dcgan-frames"):
        super().__init__()
        self.channels = channels
        self.image_size = image_size
        self.video_length = video_length
        self.dim_z_category = dim_z_category
        self.dim_z_motion = dim_z_motion
        self.content = SAMPLERS.build(content, dim=dim_z_content)
        self.category = SAMPLERS.build(category, dim=dim_z_category)
        self.motion = SAMPLERS.build(motion, dim=dim_z_motion)
        dim_z = dim_z_content + dim_z_category + (dim_z_motion if self.decodes_motion else 0)
        self.decoder = GENERATORS.build(decoder, dim_z=dim_z, channels=channels,
                                        image_size=image_size, ngf=ngf)

    def sample_latents(self, num_videos: int, video_length: int | None = None,
                       generator: torch.Generator | None = None,
                       labels: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Latents ``b t d`` in the original's order [content, category, motion], and labels ``b``."""
        t = self.video_length if video_length is None else video_length
        if labels is None:
            labels = self.category.labels(num_videos, generator)
        z = torch.cat([self.content(num_videos, t, generator),
                       self.category(num_videos, t, generator, labels=labels),
                       self.motion(num_videos, t, generator)], dim=2)
        return z, labels

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Decode latents ``b t d`` into a video ``b c t h w``."""
        frames = self.decoder(rearrange(z, "b t d -> (b t) d"))
        return rearrange(frames, "(b t) c h w -> b c t h w", b=z.shape[0])

    def sample_videos(self, num_videos: int, video_length: int | None = None,
                      generator: torch.Generator | None = None,
                      labels: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``num_videos`` videos ``b c t h w`` and the category labels they were asked for."""
        z, labels = self.sample_latents(num_videos, video_length, generator, labels)
        return self(z), labels

    def sample_images(self, num_images: int, generator: torch.Generator | None = None
                      ) -> tuple[torch.Tensor, torch.Tensor]:
        """Single frames ``b c h w``, each a uniformly chosen frame of its own random video.

        Only the chosen frames are decoded (the original decodes 2·T whole videos per
        frame and keeps one); the motion GRU, which is cheap, runs the full length.
        """
        z, labels = self.sample_latents(num_images, self.video_length, generator)
        steps = torch.randint(self.video_length, (num_images,), generator=generator).to(z.device)
        return self.decode_frames(z[torch.arange(num_images, device=z.device), steps]), labels

    def decode_frames(self, z: torch.Tensor) -> torch.Tensor:
        """Decode single frames' latents ``b d`` into frames ``b c h w``."""
        return self.decoder(z)


@GENERATORS.register("mocogan-warp")
class MoCoGANWarpGenerator(MoCoGANGenerator):
    """MoCoGAN whose motion code moves the picture instead of redrawing it.

    The content and category codes are decoded once per video into an image (by the
    frame decoder, as in ``mocogan``); frame t is that image shifted by a translation
    that a linear layer predicts from the motion code z_M(t) (``tanh``: at most the
    frame's size either way), resampled bilinearly with the background value -1 where
    the image leaves the frame. The layer starts at zero (every frame the image itself),
    so motion is learnt from the critics. Colour and shape cannot change over a video:
    this suits objects that move as a whole (the shape-motion data), not scenes whose
    content changes.

    Shape:
        as ``mocogan``: ``sample_videos(n)`` gives ``b c t h w`` in [-1, 1] and labels ``b``.

    Example:
        >>> g = MoCoGANWarpGenerator(image_size=32, ngf=8)
        >>> g.sample_videos(2, 5)[0].shape
        torch.Size([2, 3, 5, 32, 32])
    """

    decodes_motion = False

    def __init__(self, channels: int = 3, image_size: int = 64, video_length: int = 16,
                 dim_z_content: int = 50, dim_z_category: int = 0, dim_z_motion: int = 10,
                 ngf: int = 64, content: str = "gaussian-content",
                 category: str = "one-hot-category", motion: str = "gru-motion",
                 decoder: str = "dcgan-frames"):
        super().__init__(channels, image_size, video_length, dim_z_content, dim_z_category,
                         dim_z_motion, ngf, content, category, motion, decoder)
        self.shift = nn.Linear(dim_z_motion, 2)
        nn.init.zeros_(self.shift.weight)
        nn.init.zeros_(self.shift.bias)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Decode latents ``b t d`` into a video ``b c t h w``; the content and category
        parts are read from the first frame's latent."""
        b, t, d = z.shape
        image = self.decoder(z[:, 0, :d - self.dim_z_motion]).float()
        shift = torch.tanh(self.shift(z[:, :, d - self.dim_z_motion:]).float())  # b t 2, (x, y) in [-1, 1]
        eye = torch.eye(2, device=z.device).expand(b * t, 2, 2)
        theta = torch.cat([eye, rearrange(shift, "b t xy -> (b t) xy 1")], dim=2)  # (b t) 2 3
        grid = F.affine_grid(theta, [b * t, *image.shape[1:]], align_corners=False)
        moved = F.grid_sample(repeat(image + 1, "b c h w -> (b t) c h w", t=t), grid, align_corners=False)
        return rearrange(moved - 1, "(b t) c h w -> b c t h w", b=b)  # zero padding is background -1

    def decode_frames(self, z: torch.Tensor) -> torch.Tensor:
        return self(z[:, None])[:, :, 0]
