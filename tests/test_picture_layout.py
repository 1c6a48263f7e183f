"""Each tile of a written picture is where its rows and columns say: videos of known constant
colours go through the GIF and PNG writers, `vidgan generate`'s grids and the report page's
grid, and PIL reads the tiles back.

For the grids the generator is MoCoGAN's latent machinery with a painter in place of the
frame decoder: a frame's red level comes from the video's content code, its green level
from the motion code of that frame and its blue level from the category, so a tile's
colour says which latent parts made it.
"""

from __future__ import annotations

import base64
import io
import re

import numpy as np
import pytest
import torch
from cli_runner import vidgan
from omegaconf import OmegaConf
from PIL import Image, ImageSequence

from vidgan.build import build_generator
from vidgan.config import load_config
from vidgan.generators.mocogan import MoCoGANGenerator
from vidgan.registry import GENERATORS, Entry
from vidgan.run_page import GRID, grid_section
from vidgan.training import checkpoint
from vidgan.training.samples import write_gif, write_grid

PAD = 2  # the border around every tile


def tiles(picture: np.ndarray, rows: int, cols: int, size: int) -> np.ndarray:
    """The colour of each ``size`` × ``size`` tile of a grid picture ``h w 3``, after checking
    that every tile is one colour and the borders are black.

    Shape:
        ``rows cols 3`` uint8.
    """
    step = size + PAD
    assert picture.shape == (rows * step + PAD, cols * step + PAD, 3)
    colours = np.zeros((rows, cols, 3), np.uint8)
    border = np.ones(picture.shape[:2], bool)
    for r in range(rows):
        for c in range(cols):
            tile = picture[PAD + r * step:(r + 1) * step, PAD + c * step:(c + 1) * step]
            assert (tile == tile[0, 0]).all(), f"tile ({r}, {c}) is not one colour"
            colours[r, c] = tile[0, 0]
            border[PAD + r * step:(r + 1) * step, PAD + c * step:(c + 1) * step] = False
    assert (picture[border] == 0).all(), "the borders are not black"
    return colours


def gif_frames(source) -> list[np.ndarray]:
    with Image.open(source) as gif:
        return [np.array(frame.convert("RGB")) for frame in ImageSequence.Iterator(gif)]


def png_pixels(path) -> np.ndarray:
    with Image.open(path) as png:
        return np.array(png.convert("RGB"))


# the writers ------------------------------------------------------------------------------------------
def known_colours(videos: int, frames: int) -> torch.Tensor:
    """The colour of frame ``t`` of video ``i``: red 20 + 40 i, green 30 + 50 t, blue 200 - 30 i.

    Shape:
        ``videos 3 frames`` uint8.
    """
    i, t = torch.meshgrid(torch.arange(videos), torch.arange(frames), indexing="ij")
    return torch.stack([20 + 40 * i, 30 + 50 * t, 200 - 30 * i], dim=1).to(torch.uint8)


def painted(colours: torch.Tensor, size: int) -> torch.Tensor:
    """Videos ``b 3 t size size`` in [-1, 1] whose frames are the constant ``colours`` ``b 3 t``."""
    return (colours.float() / 127.5 - 1)[..., None, None].expand(-1, -1, -1, size, size)


def test_the_gif_shows_video_i_at_row_i_over_columns_and_the_png_one_video_per_row(tmp_path):
    colours = known_colours(5, 4)
    videos = painted(colours, 6)
    frames = gif_frames(write_gif(videos, tmp_path / "v.gif", columns=3))
    assert len(frames) == 4
    for t, frame in enumerate(frames):
        shown = tiles(frame, 2, 3, 6)
        for i in range(5):  # row-major: video i at row i // 3, column i % 3; the sixth tile is empty
            assert (shown[i // 3, i % 3] == colours[i, :, t].numpy()).all(), (t, i)
        assert (shown[1, 2] == 0).all()
    png = tiles(png_pixels(write_grid(videos, tmp_path / "v.png")), 5, 4, 6)
    assert (png == colours.permute(0, 2, 1).numpy()).all()  # row: video, column: frame


# the grids of `vidgan generate` and of the report page -----------------------------------------------
class Painter(MoCoGANGenerator):
    """MoCoGAN whose latents ``b t d`` are painted, not decoded: red 20 + 215·sigmoid(the
    content's first entry), green 20 + 215·sigmoid(the frame's first motion entry), blue
    40 + 80·category."""

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        first = self.dim_z_content + self.dim_z_category
        red = (20 + 215 * torch.sigmoid(z[:, :, 0])).round()
        green = (20 + 215 * torch.sigmoid(z[:, :, first])).round()
        category = z[:, :, self.dim_z_content:first].argmax(2)
        colours = torch.stack([red, green, 40 + 80 * category.float()], dim=1)
        return painted(colours, self.image_size)


SIZE, LENGTH, CATEGORIES = 16, 3, 3


@pytest.fixture(scope="module")
def painter_run(tmp_path_factory):
    """A run folder (config.yaml and a checkpoint) of the painter, registered while the module's tests run."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        GENERATORS.names()  # discover the built-ins first
        monkeypatch.setitem(GENERATORS._entries, "painter", Entry("painter", "test", obj=Painter))
        cfg = load_config(["recipe=mocogan-categorical", "generator.name=painter", "generator.ngf=4",
                           f"generator.dim_z_category={CATEGORIES}", f"data.image_size={SIZE}",
                           f"data.video_length={LENGTH}", "device=cpu"])
        run = tmp_path_factory.mktemp("painter") / "run"
        state = {"step": 1, "config": OmegaConf.to_container(cfg), "generator": build_generator(cfg).state_dict()}
        checkpoint.save(state, checkpoint.checkpoint_path(run, 1))
        OmegaConf.save(cfg, run / "config.yaml")
        yield run


def grid_tiles(out, stem, rows, cols):
    """The tiles of ``stem.gif`` (``t rows cols 3``), after checking that ``stem.png`` shows the
    same videos in the same order, one per row."""
    gif = np.stack([tiles(frame, rows, cols, SIZE) for frame in gif_frames(out / f"{stem}.gif")])
    png = tiles(png_pixels(out / f"{stem}.png"), rows * cols, LENGTH, SIZE)
    assert (png.reshape(rows, cols, LENGTH, 3).transpose(2, 0, 1, 3) == gif).all()
    return gif


def same_along(values: np.ndarray, axis: int) -> bool:
    """Whether ``values`` (``t rows cols``) repeat along ``axis`` (1: down a column, 2: along a row)."""
    return bool((values == values.take([0], axis=axis)).all())


def distinct_along(values: np.ndarray, axis: int) -> bool:
    """Whether the rows (axis 1) or columns (axis 2) of ``values`` (``t rows cols``) all differ."""
    lines = [tuple(values.take(k, axis=axis).ravel()) for k in range(values.shape[axis])]
    return len(set(lines)) == len(lines)


RED, GREEN, BLUE = 0, 1, 2
DOWN, ALONG = 1, 2  # a column's tiles, a row's tiles


@pytest.mark.parametrize("args, stem, rows, cols, shared", [
    # (what varies down the rows, what varies along the columns)
    (["--grid", "content-motion", 2, 3], "content-motion", 2, 3, {RED: ALONG, GREEN: DOWN}),
    (["--grid", "motion-content", 2, 3], "motion-content", 2, 3, {GREEN: ALONG, RED: DOWN}),
    (["--interpolate", "content", 4, 2], "interpolate-content", 2, 4, {RED: DOWN, GREEN: ALONG}),
    (["--interpolate", "motion", 4, 2], "interpolate-motion", 2, 4, {GREEN: DOWN, RED: ALONG}),
    (["--grid", "category", 3], "category", CATEGORIES, 3, {BLUE: ALONG, RED: DOWN, GREEN: DOWN}),
], ids=["content-motion", "motion-content", "interpolate-content", "interpolate-motion", "category"])
def test_each_grid_tile_is_where_its_row_and_column_say(painter_run, tmp_path, args, stem, rows, cols, shared):
    """``shared[channel]``: the tiles that share that channel's latent part (a row's or a
    column's); the part differs between the other rows or columns."""
    out = tmp_path / "out"
    assert vidgan("generate", painter_run, *args, "--seed", 5, "--out", out) == 0
    shown = grid_tiles(out, stem, rows, cols)
    for channel, axis in shared.items():
        values = shown[..., channel]
        assert same_along(values, axis), (stem, channel)
        assert distinct_along(values, DOWN if axis == ALONG else ALONG), (stem, channel)
    if stem == "category":  # row k is category k
        assert (shown[..., BLUE] == (40 + 80 * np.arange(CATEGORIES))[None, :, None]).all()


def test_the_report_grid_has_contents_in_rows_and_motions_in_columns(painter_run):
    section = grid_section(painter_run)
    data = base64.b64decode(re.search(r'src="data:image/gif;base64,([^"]+)"', section).group(1))
    rows, cols = GRID
    shown = np.stack([tiles(frame, rows, cols, SIZE) for frame in gif_frames(io.BytesIO(data))])
    assert shown.shape[0] == LENGTH
    assert same_along(shown[..., RED], ALONG) and distinct_along(shown[..., RED], DOWN)
    assert same_along(shown[..., GREEN], DOWN) and distinct_along(shown[..., GREEN], ALONG)
