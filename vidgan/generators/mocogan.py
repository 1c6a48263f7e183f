"""The MoCoGAN video generator: content, category and motion codes decoded frame by frame."""

from __future__ import annotations

import torch
from einops import rearrange
from torch import nn

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
        self.content = SAMPLERS.build(content, dim=dim_z_content)
        self.category = SAMPLERS.build(category, dim=dim_z_category)
        self.motion = SAMPLERS.build(motion, dim=dim_z_motion)
        dim_z = dim_z_content + dim_z_category + dim_z_motion
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
        return self.decoder(z[torch.arange(num_images, device=z.device), steps]), labels
