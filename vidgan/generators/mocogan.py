"""The MoCoGAN video generator: content, category and motion codes decoded frame by frame."""

from __future__ import annotations

import inspect

import torch
from einops import rearrange
from torch import nn
from torch.nn import functional as F

from vidgan.generators.latents import LatentPart, check_latents, join, latent_length
from vidgan.registry import GENERATORS, SAMPLERS


@GENERATORS.register("mocogan")
class MoCoGANGenerator(nn.Module):
    """Samples videos as z(t) = [z_content, z_category, z_motion(t)] decoded by a frame decoder.

    The samplers and the decoder are registry entries chosen by name. Videos can have
    any length at sampling time; ``video_length`` is the default. ``motion_noise`` scales
    the per-frame noise of the motion sampler (1: the original's).

    Its latent parts (:mod:`vidgan.generators.latents`) are ``content``, ``category`` (when
    ``dim_z_category`` > 0) and ``motion``; any of them can be given explicitly.

    Shape:
        ``sample_videos(n)``: ``b c t h w`` in [-1, 1] and labels ``b``;
        ``sample_videos(n, latents={"content": ...})``: content ``b d_C``, category ``b d_A``,
        motion ``b t d_M``;
        ``sample_images(n)``: ``b c h w`` and labels ``b``.

    Example:
        >>> g = MoCoGANGenerator(image_size=32, ngf=8)
        >>> g.sample_videos(2, 5)[0].shape
        torch.Size([2, 3, 5, 32, 32])
    """

    decoded = ("content", "category", "motion")  # the latent parts the frame decoder sees

    def __init__(self, channels: int = 3, image_size: int = 64, video_length: int = 16,
                 dim_z_content: int = 50, dim_z_category: int = 0, dim_z_motion: int = 10,
                 ngf: int = 64, content: str = "gaussian-content",
                 category: str = "one-hot-category", motion: str = "gru-motion",
                 decoder: str = "dcgan-frames", motion_noise: float = 1.0):
        super().__init__()
        self.channels = channels
        self.image_size = image_size
        self.video_length = video_length
        self.dim_z_content, self.dim_z_category, self.dim_z_motion = dim_z_content, dim_z_category, dim_z_motion
        self.content = SAMPLERS.build(content, dim=dim_z_content)
        self.category = SAMPLERS.build(category, dim=dim_z_category)
        # motion_noise is gru-motion's option: other motion samplers get it only when set
        if motion_noise != 1.0 and "noise" not in inspect.signature(SAMPLERS.get(motion)).parameters:
            raise ValueError(f"motion_noise scales gru-motion's noise; the motion sampler {motion!r} has none")
        self.motion = SAMPLERS.build(motion, dim=dim_z_motion,
                                     **({} if motion_noise == 1.0 else {"noise": motion_noise}))
        dims = {"content": dim_z_content, "category": dim_z_category, "motion": dim_z_motion}
        dim_z = sum(dims[part] for part in self.decoded)
        self.decoder = self.build_decoder(decoder, dim_z, channels, ngf)

    def build_decoder(self, name: str, dim_z: int, channels: int, ngf: int) -> nn.Module:
        """The frame decoder ``name`` for latents of ``dim_z`` values that start with the content
        code; one that takes ``dim_style`` (``modulated-frames``) is told the content code's size."""
        style = "dim_style" in inspect.signature(GENERATORS.get(name)).parameters
        return GENERATORS.build(name, dim_z=dim_z, channels=channels, image_size=self.image_size, ngf=ngf,
                                **({"dim_style": min(self.dim_z_content, dim_z)} if style else {}))

    def split_latent(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """A latent's content, category and motion codes, in the original's order.

        Shape:
            z ``... (d_C + d_A + d_M)`` -> ``... d_C``, ``... d_A``, ``... d_M``.
        """
        return z.split([self.dim_z_content, self.dim_z_category, self.dim_z_motion], dim=-1)

    @property
    def latent_parts(self) -> dict[str, LatentPart]:
        """content (fixed over a video), category (when ``dim_z_category`` > 0), motion (per frame)."""
        parts = [("content", self.content, self.dim_z_content, False),
                 ("category", self.category, self.dim_z_category, False),
                 ("motion", self.motion, self.dim_z_motion, True)]
        return {name: LatentPart(name, dim, varies, getattr(sampler, "prior", "learned"))
                for name, sampler, dim, varies in parts if dim > 0 or name != "category"}

    def sample_parts(self, num_videos: int, video_length: int | None = None,
                     generator: torch.Generator | None = None, labels: torch.Tensor | None = None,
                     latents: dict[str, torch.Tensor] | None = None
                     ) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """Every latent part, those in ``latents`` as given and the rest drawn; and the labels.

        Missing parts are drawn in the order labels, content, motion, skipping given ones;
        without ``latents`` this is exactly the random stream of :meth:`sample_latents`. The
        category is given either as ``labels`` or as ``latents["category"]`` (its labels are
        then its argmax).

        Shape:
            latents and output: content ``b d_C``, category ``b d_A``, motion ``b t d_M``;
            labels: ``b`` (int64).

        Example:
            >>> g = MoCoGANGenerator(image_size=16, ngf=4, dim_z_category=3)
            >>> parts, labels = g.sample_parts(2, 5, latents={"content": torch.zeros(2, 50)})
            >>> {name: tuple(z.shape) for name, z in parts.items()}
            {'content': (2, 50), 'category': (2, 3), 'motion': (2, 5, 10)}
        """
        parts = self.latent_parts
        latents = dict(latents or {})
        t = latent_length(parts, latents, video_length) or self.video_length
        check_latents(parts, latents, num_videos, t)
        device = next(self.parameters()).device
        latents = {name: z.to(device) for name, z in latents.items()}
        if "category" in latents:
            if labels is not None:
                raise ValueError("give the category as labels or as latents['category'], not both")
            labels = latents["category"].argmax(dim=1)
        elif labels is None:
            labels = self.category.labels(num_videos, generator)
        values = {"content": latents["content"] if "content" in latents
                  else self.content(num_videos, t, generator)[:, 0]}
        if "category" in parts:
            values["category"] = latents.get("category", self.category(num_videos, 1, generator, labels=labels)[:, 0])
        values["motion"] = latents["motion"] if "motion" in latents else self.motion(num_videos, t, generator)
        return values, labels

    def sample_latents(self, num_videos: int, video_length: int | None = None,
                       generator: torch.Generator | None = None, labels: torch.Tensor | None = None,
                       latents: dict[str, torch.Tensor] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Latents ``b t d`` in the original's order [content, category, motion], and labels ``b``.

        ``latents`` fixes some parts (see :meth:`sample_parts`); the rest are drawn.
        """
        values, labels = self.sample_parts(num_videos, video_length, generator, labels, latents)
        return join(self.latent_parts, values, values["motion"].shape[1]), labels

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Decode latents ``b t d`` into a video ``b c t h w``."""
        frames = self.decoder(rearrange(z, "b t d -> (b t) d"))
        return rearrange(frames, "(b t) c h w -> b c t h w", b=z.shape[0])

    def sample_videos(self, num_videos: int, video_length: int | None = None,
                      generator: torch.Generator | None = None, labels: torch.Tensor | None = None,
                      latents: dict[str, torch.Tensor] | None = None,
                      frames: tuple[int, ...] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``num_videos`` videos ``b c t h w`` and the category labels they were asked for.

        ``latents`` fixes some latent parts (see :meth:`sample_parts`); the rest are drawn.
        ``frames`` decodes only those frames of each video (the latents are drawn for the
        whole length, so they are the frames the whole video would have).
        """
        z, labels = self.sample_latents(num_videos, video_length, generator, labels, latents)
        return self(z if frames is None else z[:, list(frames)]), labels

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


class ShiftHeads(nn.Sequential):
    """A translation per category, read from a code: two linear layers with one (x, y)
    output head per category; the category's one-hot code weighs the heads (the one head
    when the code is empty). Read from one shared output, the category had to learn to
    steer it and mostly did not. The last bias starts at zero and the weights random, so
    the first videos already move: with still videos at the start the critics' gradients
    never started a motion (``docs/dynamics.md``). Used by ``mocogan-warp``, ``layered``
    (``shift``) and ``flow``.

    Shape:
        category ``... k``, code ``... d`` -> ``... 2`` (x, y), before any ``tanh``.

    Example:
        >>> heads = ShiftHeads(dim_code=3, heads=2, width=8)
        >>> heads(torch.eye(2), torch.randn(2, 3)).shape
        torch.Size([2, 2])
    """

    def __init__(self, dim_code: int, heads: int, width: int):
        super().__init__(nn.Linear(dim_code, width), nn.LeakyReLU(0.2), nn.Linear(width, 2 * heads))
        nn.init.zeros_(self[-1].bias)
        self.register_load_state_dict_pre_hook(self._read_nested_keys)

    def forward(self, category: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        heads = rearrange(super().forward(code), "... (k xy) -> ... k xy", xy=2)
        if category.shape[-1] == 0:
            return heads[..., 0, :]
        return torch.einsum("...k,...kx->...x", category.to(heads.dtype), heads)

    @staticmethod
    def _read_nested_keys(module: nn.Module, state_dict: dict, prefix: str, *_) -> None:
        """Checkpoints whose ``layered`` generator kept these layers under ``net.`` load as they are."""
        for key in [k for k in state_dict if k.startswith(prefix + "net.")]:
            state_dict[prefix + key[len(prefix) + 4:]] = state_dict.pop(key)


WHOLE_PIXELS = ("never", "sampling", "always")  # mocogan-warp: when shifts are rounded to whole pixels


@GENERATORS.register("mocogan-warp")
class MoCoGANWarpGenerator(MoCoGANGenerator):
    """MoCoGAN whose motion code moves the picture instead of redrawing it.

    The content code is decoded once per video into an image (by the frame decoder, as
    in ``mocogan``); frame t is that image shifted by a translation that
    :class:`ShiftHeads` reads from the motion code z_M(t) (``tanh``: at most half the
    frame's size either way), with one head per category, so each category maps the same
    motion codes to a motion of its own. The image is resampled bilinearly with the
    background value -1 where it leaves the frame. Colour and shape cannot change over a
    video, which suits objects that move as a whole (the shape-motion data), not scenes
    whose content changes. The category chooses the motion only: decoded into the image
    too, it let the generator satisfy the category loss with colours instead of motions.

    ``whole_pixels`` rounds the shift to whole pixels: every frame is then an exact copy of
    the image, moved, where a shift by a fraction of a pixel blends each pixel with its
    neighbours and so changes the colours at the shape's edges from frame to frame.
    ``never`` (the default) keeps fractions; ``sampling`` rounds in eval mode only (samples,
    evaluation), so training sees the smooth shifts; ``always`` rounds in training too
    (the gradient passes straight through the rounding, as if unrounded).

    Shape:
        as ``mocogan``: ``sample_videos(n)`` gives ``b c t h w`` in [-1, 1] and labels ``b``.

    Example:
        >>> g = MoCoGANWarpGenerator(image_size=32, ngf=8)
        >>> g.sample_videos(2, 5)[0].shape
        torch.Size([2, 3, 5, 32, 32])
    """

    decoded = ("content",)

    def __init__(self, channels: int = 3, image_size: int = 64, video_length: int = 16,
                 dim_z_content: int = 50, dim_z_category: int = 0, dim_z_motion: int = 10,
                 ngf: int = 64, content: str = "gaussian-content",
                 category: str = "one-hot-category", motion: str = "gru-motion",
                 decoder: str = "dcgan-frames", motion_noise: float = 1.0, whole_pixels: str = "never"):
        super().__init__(channels, image_size, video_length, dim_z_content, dim_z_category,
                         dim_z_motion, ngf, content, category, motion, decoder, motion_noise)
        if whole_pixels not in WHOLE_PIXELS:
            raise ValueError(f"whole_pixels must be one of {', '.join(WHOLE_PIXELS)}, got {whole_pixels!r}")
        self.whole_pixels = whole_pixels
        self.shift = ShiftHeads(dim_z_motion, max(dim_z_category, 1), 4 * ngf)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Decode latents ``b t d`` into a video ``b c t h w``; the content is read from the
        first frame's latent."""
        b, t, _ = z.shape
        content, category, motion = self.split_latent(z)
        image = self.decoder(content[:, 0]).float()
        shift = torch.tanh(self.shift(category, motion).float())
        if self.whole_pixels == "always" or (self.whole_pixels == "sampling" and not self.training):
            # rounded forward, straight through backward
            pixel = 2 / torch.tensor(image.shape[:-3:-1], device=z.device)  # (x, y) in grid units
            shift = shift + (torch.round(shift / pixel) * pixel - shift).detach()
        eye = torch.eye(2, device=z.device).expand(b * t, 2, 2)
        theta = torch.cat([eye, rearrange(shift, "b t xy -> (b t) xy 1")], dim=2)  # (b t) 2 3
        grid = F.affine_grid(theta, [b * t, *image.shape[1:]], align_corners=False)  # (b t) h w 2
        # each video's image sampled once at all its frames' points (t grids stacked along h)
        moved = F.grid_sample(image + 1, rearrange(grid, "(b t) h w xy -> b (t h) w xy", b=b),
                              align_corners=False)
        return rearrange(moved - 1, "b c (t h) w -> b c t h w", t=t)  # zero padding is background -1

    def decode_frames(self, z: torch.Tensor) -> torch.Tensor:
        return self(z[:, None])[:, :, 0]
