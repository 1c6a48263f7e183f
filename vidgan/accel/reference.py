"""The original MoCoGAN's way of drawing single frames: ``train.mode=reference``, the
benchmarks' baseline."""

from __future__ import annotations

import torch
from einops import rearrange
from torch import nn

from vidgan.errors import VidganError


def original_images(generator: nn.Module, num_images: int,
                    rng: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Single frames the original's way: latents of ``2·T`` whole videos per wanted frame.

    Samples ``num_images · 2T`` latent videos of ``T`` steps (content, category and the
    motion GRU for all of them), picks ``num_images`` of their frames without
    replacement (in order) and decodes only those. Same distribution as
    ``sample_images``, at the original's cost.

    Shape:
        output: ``b c h w`` and labels ``b``.

    Example:
        >>> from vidgan.generators.mocogan import MoCoGANGenerator
        >>> original_images(MoCoGANGenerator(image_size=16, ngf=4, video_length=4), 3)[0].shape
        torch.Size([3, 3, 16, 16])
    """
    if not hasattr(generator, "sample_latents") or not hasattr(generator, "decode_frames"):
        raise VidganError(f"train.mode=reference reproduces MoCoGAN and needs a generator with "
                          f"sample_latents and decode_frames; {type(generator).__name__} has not; "
                          "use train.mode=standard")
    t = generator.video_length
    z, labels = generator.sample_latents(num_images * 2 * t, t, rng)
    frames = rearrange(z, "b t d -> (b t) d")
    keep = torch.randperm(frames.shape[0], generator=rng)[:num_images].sort().values.to(z.device)
    return generator.decode_frames(frames[keep]), labels[keep // t]
