"""Latent samplers: each draws a ``b t d`` latent for ``b`` videos of ``t`` frames.

Every sampler is called as ``sampler(num_videos, video_length, generator=None)`` and
takes an optional ``torch.Generator`` so that sampling is reproducible. Noise is drawn
on the CPU generator's device and moved to the sampler's device.

A sampler may say how its codes are drawn with a ``prior`` attribute (``gaussian``,
``one-hot`` or ``learned``); generators pass it on in their latent parts
(:mod:`vidgan.generators.latents`), and interpolation is spherical for ``gaussian`` codes.
"""

from vidgan.samplers import mocogan  # noqa: F401  (registers the built-ins)
