"""What every metric shares: the generated and real videos of one evaluation, and weights files.

An evaluation draws ``num_videos`` generated videos and ``num_videos`` real clips once and
hands them to every requested metric through an :class:`EvalContext`, so all metrics of
one ``vidgan eval`` see the same samples. Both are quantised to RGB uint8, as a video
saved to disk would be, which is what the standard FID/FVD protocols evaluate.

The protocol, recorded with every result:

- generated: ``num_videos`` videos of ``video_length`` frames from a ``torch.Generator``
  seeded with ``seed``, drawn ``batch_size`` at a time; a categorical generator is asked
  for categories ``0, 1, .., k-1, 0, 1, ..`` in turn, ``k`` the smaller of its category
  count and the real data's class count.
- real: ``num_videos`` clips drawn as the trainer draws them (a uniform video, then
  ``video_length`` frames ``every_nth`` apart from a uniform start) with a generator
  seeded with ``seed + 1``.

A registered metric (``vidgan.registry.METRICS``) is a class: its constructor takes the
metric's options (``options.<metric>.<key>=value`` on the command line) and calling it
with the context returns ``{"value": float, "protocol": {...}, ...}``.

Example:
    >>> from vidgan.registry import METRICS
    >>> "acd" in METRICS and "fvd" in METRICS
    True
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from vidgan.data import VideoDataset, sample_clips
from vidgan.errors import VidganError


def to_uint8(videos: torch.Tensor) -> torch.Tensor:
    """Videos in [-1, 1] (1 or 3 channels) as RGB uint8 on the CPU, as a saved video stores them.

    Shape:
        ``b c t h w`` (c = 1 or 3) -> ``b 3 t h w``.

    Example:
        >>> to_uint8(torch.zeros(1, 1, 2, 4, 4)).shape
        torch.Size([1, 3, 2, 4, 4])
    """
    videos = videos.detach().float().cpu().clamp(-1, 1)
    if videos.shape[1] == 1:
        videos = videos.expand(-1, 3, -1, -1, -1)
    return ((videos + 1) * 127.5).round().to(torch.uint8)


def to_float(videos: torch.Tensor) -> torch.Tensor:
    """uint8 videos back to float32 in [-1, 1]; any shape.

    Example:
        >>> to_float(torch.tensor([0, 255], dtype=torch.uint8))
        tensor([-1.,  1.])
    """
    return videos.float() / 127.5 - 1


def sha256(path: Path) -> str:
    """The hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def weights_file(path: str | None, key: str, env: str, expected: str,
                 sha256_prefix: str | None = None) -> tuple[Path, str]:
    """A local weights file and its SHA-256; nothing is ever downloaded.

    ``path`` (config key ``key``) wins over the environment variable ``env``. A missing
    file is a one-line error naming ``expected`` (the file and where it comes from); a
    file whose SHA-256 does not start with ``sha256_prefix`` (when known) is rejected.

    Example:
        >>> weights_file(None, "i3d_weights", "VIDGAN_I3D_WEIGHTS", "i3d_torchscript.pt")  # doctest: +SKIP
        Traceback (most recent call last):
        vidgan.errors.VidganError: no weights file: ...
    """
    path = path or os.environ.get(env) or None
    if path is None:
        raise VidganError(f"no weights file: this metric needs {expected}; pass {key}=PATH "
                          f"or set {env} (nothing is downloaded)")
    file = Path(path).expanduser()
    if not file.is_file():
        raise VidganError(f"{key}={path}: no such file; this metric needs {expected}")
    digest = sha256(file)
    if sha256_prefix and not digest.startswith(sha256_prefix):
        raise VidganError(f"{file} has SHA-256 {digest[:16]}..., not that of {expected} "
                          f"({sha256_prefix}...); it is another file or a damaged download")
    return file, digest


@dataclass
class EvalContext:
    """The generator, the real data and the sampling protocol shared by the metrics of one run.

    Args:
        generator: a video generator (``sample_videos``), in eval mode, on ``device``.
        load_dataset: builds the real data set on first use (metrics that need no real
            data never read it).
        num_videos: how many generated videos and how many real clips.
        video_length, every_nth: the clip length and frame stride (the training config's).
        seed: the seed of the generated videos (real clips use ``seed + 1``).
        batch_size: videos per generator call and per feature-extractor call.
        device: where the generator and the feature networks run.
        out_dir: the folder eval.json is written to (metrics may keep files there).
        data: the resolved data config (name, root, sizes, options): what the real data is.
        requested: the metric names of this evaluation.

    Shape:
        ``generated()`` and ``real()``: videos ``b 3 t h w`` uint8 and labels ``b`` int64.

    Example:
        >>> ctx = EvalContext(generator, lambda: dataset, num_videos=64, video_length=16,
        ...                   every_nth=2, seed=0, batch_size=16, device=torch.device("cpu"),
        ...                   out_dir=Path("runs/x"))  # doctest: +SKIP
        >>> ctx.generated()[0].shape  # doctest: +SKIP
        torch.Size([64, 3, 16, 64, 64])
    """

    generator: nn.Module
    load_dataset: Callable[[], VideoDataset]
    num_videos: int
    video_length: int
    every_nth: int
    seed: int
    batch_size: int
    device: torch.device
    out_dir: Path
    data: dict[str, Any] = field(default_factory=dict)
    requested: list[str] = field(default_factory=list)
    _memo: dict[Any, Any] = field(default_factory=dict, repr=False)

    def memo(self, key: Any, compute: Callable[[], Any]) -> Any:
        """``compute()`` once per evaluation for ``key``; later calls return the same value."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    @property
    def dataset(self) -> VideoDataset:
        return self.memo("dataset", self.load_dataset)

    @property
    def categories(self) -> int:
        """How many categories the generated videos cycle through (0: unconditional)."""
        own = getattr(self.generator, "dim_z_category", 0)
        return min(own, self.dataset.num_classes) if own else 0

    def generated(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The ``num_videos`` generated videos (see the module doc) and their categories."""
        return self.memo("generated", self._generate)

    def real(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The ``num_videos`` real clips (see the module doc) and their labels."""
        return self.memo("real", self._sample_real)

    def _generate(self) -> tuple[torch.Tensor, torch.Tensor]:
        rng = torch.Generator().manual_seed(self.seed)
        categories = self.categories
        videos, labels = [], []
        for start in range(0, self.num_videos, self.batch_size):
            n = min(self.batch_size, self.num_videos - start)
            asked = (torch.arange(start, start + n) % categories).to(self.device) if categories else None
            with torch.no_grad():
                batch, got = self.generator.sample_videos(n, self.video_length, rng, asked)
            videos.append(to_uint8(batch))
            labels.append(got.cpu() if categories else torch.zeros(n, dtype=torch.int64))
        return torch.cat(videos), torch.cat(labels)

    def _sample_real(self) -> tuple[torch.Tensor, torch.Tensor]:
        rng = torch.Generator().manual_seed(self.seed + 1)
        videos, labels = [], []
        for start in range(0, self.num_videos, self.batch_size):
            n = min(self.batch_size, self.num_videos - start)
            batch, got = sample_clips(self.dataset, n, self.video_length, self.every_nth, rng)
            videos.append(to_uint8(batch))
            labels.append(got)
        return torch.cat(videos), torch.cat(labels)

    def protocol(self, real: bool, **extra: Any) -> dict[str, Any]:
        """The sampling protocol of a result; ``real``: whether real clips were used too."""
        videos = self.generated()[0]
        out = {"num_videos": self.num_videos, "frames_per_video": self.video_length,
               "resolution": list(videos.shape[-2:]), "seed": self.seed,
               "batch_size": self.batch_size, "categories": self.categories}
        if real:
            out.update(real_clips=self.num_videos, real_every_nth=self.every_nth, real_seed=self.seed + 1)
        out.update(extra)
        return out
