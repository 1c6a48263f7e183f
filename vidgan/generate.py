"""Sampling videos from a trained checkpoint, without the data set: random videos, grids, interpolation.

Grids and interpolation fix some latent parts and vary others, through the generator's
latent-part interface only (:mod:`vidgan.generators.latents`), so any generator that
declares its parts gets them. Every picture is reproducible from its seed: the codes of
``n`` videos for seed ``s`` are the parts ``sample_parts(n, ...)`` draws from a
``torch.Generator`` seeded with ``s``, the same draw that ``vidgan generate --seed s``
makes for ``n`` random videos.

Example:
    >>> from vidgan.generators.mocogan import MoCoGANGenerator
    >>> g = MoCoGANGenerator(image_size=16, ngf=4).eval()
    >>> content_motion_grid(g, rows=2, cols=3, length=5, seed=0).shape  # 2 contents × 3 motions
    torch.Size([6, 3, 5, 16, 16])
"""

from __future__ import annotations

from pathlib import Path

import torch
from einops import rearrange, repeat
from omegaconf import DictConfig, OmegaConf

from vidgan.errors import VidganError
from vidgan.generators.latents import LatentPart, interpolate
from vidgan.training import checkpoint
from vidgan.training.samples import write_gif, write_grid
from vidgan.build import build_generator

GRIDS = {"content-motion": "R contents (rows) × C motions (columns)",
         "motion-content": "R motions (rows) × C contents (columns)",
         "category": "one row per category × C columns of content and motion"}
DEFAULT_SIZE = 4


def load_generator(path: str | Path, ema: bool = True) -> tuple[torch.nn.Module, DictConfig]:
    """The generator of a checkpoint file or run folder, in eval mode, and the run's config.

    With ``ema`` (the default) the EMA weights are used when the run kept them.
    """
    state = checkpoint.load(path)
    cfg = OmegaConf.create(state["config"])
    generator = build_generator(cfg)
    weights = state["ema_generator"] if ema and "ema_generator" in state else state["generator"]
    checkpoint.load_weights(generator, weights, "generator")
    return generator.eval(), cfg


# latent codes and the videos of grids ------------------------------------------------------
def latent_parts(generator: torch.nn.Module, needed: list[str], what: str,
                 name: str | None = None) -> dict[str, LatentPart]:
    """The generator's latent parts, or a one-line error saying which of ``needed`` it lacks."""
    name = name or type(generator).__name__
    parts = getattr(generator, "latent_parts", None)
    if parts is None:
        raise VidganError(f"{what} needs a generator with the latent parts {', '.join(needed)}; {name} "
                          f"declares no latent parts, so only random videos work (drop {what.split()[0]})")
    missing = [n for n in needed if n not in parts]
    if missing:
        raise VidganError(f"{what}: {name} has no latent part {' or '.join(missing)}; "
                          f"its parts are {', '.join(parts)}")
    return parts


def codes(generator: torch.nn.Module, num_videos: int, length: int | None, seed: int,
          labels: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """The latent parts of the ``num_videos`` videos that ``seed`` draws.

    Shape:
        fixed parts ``b d``, varying parts ``b t d`` with ``b = num_videos``.
    """
    parts, _ = generator.sample_parts(num_videos, length, torch.Generator().manual_seed(seed), labels)
    return parts


def _decode(generator: torch.nn.Module, latents: dict[str, torch.Tensor], length: int | None) -> torch.Tensor:
    num_videos = next(iter(latents.values())).shape[0]
    with torch.no_grad():
        return generator.sample_videos(num_videos, length, latents=latents)[0]


def content_motion_grid(generator: torch.nn.Module, rows: int, cols: int, length: int | None = None,
                        seed: int = 0, labels: torch.Tensor | None = None) -> torch.Tensor:
    """Videos of ``rows`` content codes × ``cols`` motion codes, row by row.

    Row ``i`` holds content ``i`` of ``codes(rows, seed)`` (with its category, or
    ``labels[i]``) in every column; column ``j`` holds motion ``j`` of ``codes(cols, seed)``
    in every row.

    Shape:
        labels: ``rows``; output: ``(rows cols) c t h w``.
    """
    latent_parts(generator, ["content", "motion"], "--grid content-motion")
    per_row = codes(generator, rows, length, seed, labels)
    motion = codes(generator, cols, length, seed)["motion"]
    latents = {n: repeat(z, "r ... -> (r c) ...", c=cols) for n, z in per_row.items() if n != "motion"}
    latents["motion"] = repeat(motion, "c t d -> (r c) t d", r=rows)
    return _decode(generator, latents, length)


def motion_content_grid(generator: torch.nn.Module, rows: int, cols: int, length: int | None = None,
                        seed: int = 0, labels: torch.Tensor | None = None) -> torch.Tensor:
    """The transpose of :func:`content_motion_grid`: ``rows`` motions × ``cols`` contents.

    Shape:
        labels: ``cols``; output: ``(rows cols) c t h w``.
    """
    videos = content_motion_grid(generator, cols, rows, length, seed, labels)
    return rearrange(videos, "(c r) ... -> (r c) ...", r=rows)


def category_grid(generator: torch.nn.Module, cols: int, length: int | None = None, seed: int = 0) -> torch.Tensor:
    """One row per category; column ``j`` holds the other parts of video ``j`` of ``codes(cols, seed)``.

    Shape:
        output: ``(k cols) c t h w`` with ``k`` categories.
    """
    part = latent_parts(generator, ["category"], "--grid category")["category"]
    if part.prior != "one-hot":
        raise VidganError(f"--grid category needs a one-hot category part; this one is {part.prior}")
    latents = {n: repeat(z, "c ... -> (k c) ...", k=part.dim) for n, z in codes(generator, cols, length, seed).items()}
    latents["category"] = repeat(torch.eye(part.dim), "k d -> (k c) d", c=cols)
    return _decode(generator, latents, length)


def interpolation_grid(generator: torch.nn.Module, part: str, steps: int, rows: int = 1,
                       length: int | None = None, seed: int = 0, to_seed: int = 1,
                       labels: torch.Tensor | None = None) -> torch.Tensor:
    """``steps`` videos per row, ``part`` going from ``seed``'s code to ``to_seed``'s.

    The endpoints are ``codes(1, seed)[part]`` and ``codes(1, to_seed)[part]``;
    Gaussian parts (content) are interpolated spherically, others (motion, category)
    linearly. Row ``i`` holds the other parts of video ``i`` of ``codes(rows, seed)``; with
    one row, the first video is the one that ``vidgan generate --num-videos 1 --seed SEED``
    draws.

    Shape:
        labels: ``rows``; output: ``(rows steps) c t h w``.
    """
    declared = latent_parts(generator, [part], f"--interpolate {part}")[part]
    path = interpolate(declared, codes(generator, 1, length, seed)[part][0],
                       codes(generator, 1, length, to_seed)[part][0], steps)
    others = codes(generator, rows, length, seed, labels)
    latents = {n: repeat(z, "r ... -> (r k) ...", k=steps) for n, z in others.items() if n != part}
    latents[part] = repeat(path, "k ... -> (r k) ...", r=rows)
    return _decode(generator, latents, length)


# the command --------------------------------------------------------------------------------
def _counts(values: list[str], defaults: dict[str, int], what: str) -> list[int]:
    """Whole numbers of at least 1 named by ``defaults`` (missing ones take the default), or a one-line error."""
    if len(values) > len(defaults):
        raise VidganError(f"{what} takes at most {len(defaults)} number(s) ({' '.join(defaults)}), "
                          f"got {' '.join(values)}")
    counts = []
    for name, value in zip(defaults, values + [str(v) for v in defaults.values()][len(values):]):
        if not value.lstrip("-").isdigit() or int(value) < 1:
            raise VidganError(f"{what}: {name} must be a whole number of at least 1, got {value!r}")
        counts.append(int(value))
    return counts


def parse_grid(values: list[str]) -> tuple[str, list[int]]:
    """``["content-motion", "3", "5"]`` to ``("content-motion", [3, 5])``; category grids take one count.

    Example:
        >>> parse_grid(["category"])
        ('category', [4])
    """
    kind, *numbers = values
    if kind not in GRIDS:
        raise VidganError(f"--grid {kind}: choose one of {', '.join(GRIDS)}")
    sizes = {"C": DEFAULT_SIZE} if kind == "category" else {"R": DEFAULT_SIZE, "C": DEFAULT_SIZE}
    return kind, _counts(numbers, sizes, f"--grid {kind}")


def parse_interpolation(values: list[str]) -> tuple[str, int, int]:
    """``["content", "8", "2"]`` to ``("content", 8, 2)``: the part, steps K (at least 2) and rows R.

    Example:
        >>> parse_interpolation(["motion", "6"])
        ('motion', 6, 1)
    """
    part, *numbers = values
    if not numbers:
        raise VidganError(f"--interpolate {part}: give the number of steps, e.g. --interpolate {part} 8")
    steps, rows = _counts(numbers, {"K": 2, "R": 1}, f"--interpolate {part}")
    if steps < 2:
        raise VidganError(f"--interpolate {part}: K must be at least 2 (the two endpoints), got {steps}")
    return part, steps, rows


def _labels(generator: torch.nn.Module, category: int | None, n: int) -> torch.Tensor | None:
    """``n`` labels of ``category`` after checking it, or None."""
    if category is None:
        return None
    categories = getattr(generator, "dim_z_category", 0)
    if categories == 0:
        raise VidganError("this generator has no category code; drop --category")
    if not 0 <= category < categories:
        raise VidganError(f"--category must lie in [0, {categories}) for this generator")
    return torch.full((n,), category)


def _out(path: Path, out: Path | None) -> Path:
    run_dir = path if path.is_dir() else path.parent.parent
    return Path(out) if out else run_dir / "generated"


def write_picture(videos: torch.Tensor, columns: int, out: Path, stem: str) -> list[Path]:
    """``stem.gif`` (the videos animated, ``columns`` per row) and ``stem.png`` (one row per video)."""
    return [write_gif(videos, out / f"{stem}.gif", columns=columns), write_grid(videos, out / f"{stem}.png")]


def generate(path: str | Path, num_videos: int | None = None, out: Path | None = None,
             category: int | None = None, length: int | None = None, seed: int = 0, ema: bool = True,
             grid: list[str] | None = None, interpolation: list[str] | None = None,
             to_seed: int | None = None) -> list[Path]:
    """Write random videos, a grid or an interpolation from a checkpoint; return the files written.

    ``path`` is a checkpoint file or a run folder; files go to ``out`` (default
    ``RUN/generated``). The EMA generator is used when the run kept one and ``ema`` is on.

    - default: ``video-NNN.gif`` for each of ``num_videos`` (8) videos and ``grid.png``
      (one row per video);
    - ``grid=[KIND, R, C]`` (KIND one of :data:`GRIDS`; ``category`` takes only C):
      ``KIND.gif`` and ``KIND.png``;
    - ``interpolation=[PART, K, R]``: ``interpolate-PART.gif`` and ``.png``, K steps from
      ``seed``'s code to ``to_seed``'s (default ``seed + 1``) in R rows.

    Bad arguments are one-line errors raised before the checkpoint is read; a grid the
    generator cannot make, or a category it lacks, before anything is drawn.
    """
    plain = grid is None and interpolation is None
    if num_videos is not None and not plain:
        raise VidganError("--num-videos is for random videos; a grid's size is --grid KIND R C, "
                          "an interpolation's --interpolate PART K R")
    if num_videos is not None and num_videos < 1:
        raise VidganError(f"--num-videos must be at least 1, got {num_videos}")
    if to_seed is not None and interpolation is None:
        raise VidganError("--to-seed is the end of an interpolation; use it with --interpolate")
    if length is not None and length < 1:
        raise VidganError(f"--length must be at least 1, got {length}")
    kind, sizes = parse_grid(grid) if grid else (None, [])
    part, steps, rows = parse_interpolation(interpolation) if interpolation else (None, 0, 0)
    if part == "category" and category is not None:
        raise VidganError("--category fixes the category; drop it to interpolate the category")
    if kind == "category" and category is not None:
        raise VidganError("--grid category shows every category; drop --category")
    path = Path(path)
    generator, cfg = load_generator(path, ema)
    out = _out(path, out)
    name = cfg.generator.name
    if kind is not None:
        latent_parts(generator, ["category"] if kind == "category" else ["content", "motion"], f"--grid {kind}", name)
        if kind == "category":
            (cols,) = sizes
            return write_picture(category_grid(generator, cols, length, seed), cols, out, kind)
        r, c = sizes
        make = content_motion_grid if kind == "content-motion" else motion_content_grid
        labels = _labels(generator, category, r if kind == "content-motion" else c)
        return write_picture(make(generator, r, c, length, seed, labels), c, out, kind)
    if part is not None:
        latent_parts(generator, [part], f"--interpolate {part}", name)
        to_seed = seed + 1 if to_seed is None else to_seed
        videos = interpolation_grid(generator, part, steps, rows, length, seed, to_seed,
                                    _labels(generator, category, rows))
        return write_picture(videos, steps, out, f"interpolate-{part}")
    num_videos = num_videos or 8
    labels = _labels(generator, category, num_videos)
    with torch.no_grad():
        videos, _ = generator.sample_videos(num_videos, length, torch.Generator().manual_seed(seed), labels)
    files = [write_gif(video[None], out / f"video-{i:03d}.gif") for i, video in enumerate(videos)]
    return files + [write_grid(videos, out / "grid.png")]
