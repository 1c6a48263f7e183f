"""A video generator that draws a still background and a moving foreground over it."""

from __future__ import annotations

import torch
from einops import rearrange, repeat
from torch import nn
from torch.nn import functional as F

from vidgan.generators.mocogan import MoCoGANGenerator, ShiftHeads
from vidgan.registry import GENERATORS


FOREGROUNDS = ("frame", "video", "blend")  # layered: how the foreground is drawn over a video


@GENERATORS.register("layered")
class LayeredGenerator(MoCoGANGenerator):
    """MoCoGAN's latents drawn as two layers: a background per video and a foreground per frame.

    The content code is decoded once per video into a background image; every frame's
    latent [content, category, motion(t)] is decoded into a foreground image and a mask,
    and the frame is ``mask · foreground + (1 - mask) · background`` (the two streams of
    Vondrick et al., "Generating videos with scene dynamics", NeurIPS 2016). A camera that
    stands still sees a still scene with something moving in it: the background cannot
    change over a video, and what moves is drawn anew in every frame, so arms and legs can
    change shape instead of the picture sliding as a whole. Where the whole scene moves, the
    mask can cover the frame and the generator is MoCoGAN's.

    With ``foreground="video"`` the foreground's colours are drawn once per video too,
    beside the background, and every frame's latent draws only where they show (the mask):
    the person or the object keeps its colours over the video while its outline changes, as
    a real one does.

    With ``foreground="blend"`` the frame decoder also draws a still foreground once per
    video, from [content, category] with the motion code set to 0, and each frame's
    foreground is that one moved toward its own by a learned weight that starts at 0
    (``blend``). Every frame starts as the video's foreground, so a shape cannot flicker or
    vanish, and a frame's foreground differs from it by no more than the weight allows: the
    critics open it as far as moving limbs need.

    ``background_ngf`` is the background decoder's width (``ngf`` when 0). With ``shift``
    the foreground of every frame is also moved as a whole, by a translation that a small
    network reads from [category, motion(t)] (one head per category, as ``mocogan-warp``):
    an object that crosses the frame is then drawn in place and moved, instead of drawn
    anew at every position.

    With ``motion_gate`` the frame decoder reads the motion code times a learned gate that
    starts at 0 (the translation reads it whole): every frame of a video starts as the same
    foreground, moved by ``shift``, as ``mocogan-warp``'s picture; the gate opens as far
    as the critics ask for a foreground that changes shape, such as moving limbs.

    Shape:
        as ``mocogan``: ``sample_videos(n)`` gives ``b c t h w`` in [-1, 1] and labels ``b``.

    Example:
        >>> g = LayeredGenerator(image_size=32, ngf=8, dim_z_category=2)
        >>> g.sample_videos(2, 5)[0].shape
        torch.Size([2, 3, 5, 32, 32])
    """

    def __init__(self, channels: int = 3, image_size: int = 64, video_length: int = 16,
                 dim_z_content: int = 50, dim_z_category: int = 0, dim_z_motion: int = 10,
                 ngf: int = 32, content: str = "gaussian-content",
                 category: str = "one-hot-category", motion: str = "sine-motion",
                 decoder: str = "dcgan-frames", motion_noise: float = 1.0, background_ngf: int = 0,
                 shift: bool = False, foreground: str = "frame", motion_gate: bool = False):
        super().__init__(channels, image_size, video_length, dim_z_content, dim_z_category,
                         dim_z_motion, ngf, content, category, motion, decoder, motion_noise)
        if background_ngf < 0:
            raise ValueError(f"background_ngf must be 0 (ngf) or more, got {background_ngf}")
        if foreground not in FOREGROUNDS:
            raise ValueError(f"foreground must be one of {', '.join(FOREGROUNDS)}, got {foreground!r}")
        self.foreground = foreground
        dim_z = self.decoder.dim_z
        # per frame: the foreground's colours (unless drawn per video) and its mask
        self.decoder = self.build_decoder(decoder, dim_z, 1 if foreground == "video" else channels + 1, ngf)
        # per video: the background, and ("video") the foreground's colours
        self.background = self.build_decoder(decoder, dim_z_content, 2 * channels if foreground == "video"
                                             else channels, background_ngf or ngf)
        self.shift = ShiftHeads(dim_z_motion, max(dim_z_category, 1), 4 * ngf) if shift else None
        self.motion_gate = nn.Parameter(torch.zeros(())) if motion_gate else None
        self.blend = nn.Parameter(torch.zeros(())) if foreground == "blend" else None

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Decode latents ``b t d`` into a video ``b c t h w``; what is drawn once per video
        (:meth:`video_layers`) is read from the first frame's latent."""
        b, t, _ = z.shape
        scene = self.video_layers(z[:, 0])
        video = self.decode_frames(rearrange(z, "b t d -> (b t) d"), repeat(scene, "b c h w -> (b t) c h w", t=t))
        return rearrange(video, "(b t) c h w -> b c t h w", b=b)

    @staticmethod
    def composite(layer: torch.Tensor, background: torch.Tensor) -> torch.Tensor:
        """Foreground colours over ``background`` through the mask in ``layer``'s last channel.

        Shape:
            layer ``b (c+1) h w`` in [-1, 1], background ``b c h w`` -> ``b c h w``.
        """
        mask = (layer[:, -1:] + 1) / 2
        return background + mask * (layer[:, :-1] - background)

    def video_layers(self, z: torch.Tensor) -> torch.Tensor:
        """What is drawn once per video, from a frame latent ``n d`` of it (its motion code
        unread): the background and, per ``foreground``, the foreground's colours ("video")
        or the still foreground and its mask ("blend"), stacked as channels."""
        content, category, motion = self.split_latent(z)
        background = self.background(content)
        if self.foreground != "blend":
            return background
        return torch.cat([background, self.decoder(torch.cat([content, category, torch.zeros_like(motion)], 1))], 1)

    def decode_frames(self, z: torch.Tensor, scene: torch.Tensor | None = None) -> torch.Tensor:
        """Frames ``n c h w`` from frame latents ``n d``; ``scene`` is :meth:`video_layers`
        for their videos (drawn from the frames' own latents when not given)."""
        scene = self.video_layers(z) if scene is None else scene
        content, category, motion = self.split_latent(z)
        c = self.channels
        if self.motion_gate is not None:
            z = torch.cat([content, category, self.motion_gate * motion], dim=1)
        layer = self.decoder(z)
        if self.foreground == "video":  # the video's colours, the frame's mask
            layer = torch.cat([scene[:, c:], layer], dim=1)
        elif self.foreground == "blend":  # the video's foreground, moved toward the frame's
            layer = scene[:, c:] + self.blend * (layer - scene[:, c:])
        if self.shift is not None:
            layer = translate(layer, torch.tanh(self.shift(category, motion).float()))
        return self.composite(layer, scene[:, :c])


def translate(images: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """Images moved as a whole by ``shift`` (x, y, in halves of the frame's size), resampled
    bilinearly; outside the image the values are -1.

    Shape:
        images ``n c h w``, shift ``n 2`` -> ``n c h w``.
    """
    eye = torch.eye(2, device=images.device).expand(len(images), 2, 2)
    grid = F.affine_grid(torch.cat([eye, shift[:, :, None]], dim=2), list(images.shape), align_corners=False)
    return F.grid_sample(images.float() + 1, grid, align_corners=False) - 1
