"""frame-strips: the original MoCoGAN folder format, built here in tmp_path with PIL."""

import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from vidgan.data import FrameStrips
from vidgan.errors import VidganError
from vidgan.registry import DATASETS


def colour(k: int) -> tuple[int, int, int]:
    """The constant colour of frame ``k`` in the strips built below."""
    return (10 * k, 255 - 10 * k, (37 * k) % 256)


def strip(num_frames: int, side: int = 8, vertical: bool = False, extra: int = 0) -> np.ndarray:
    """``h w 3`` uint8: frames of constant ``colour(k)``, ``extra`` stray pixels at the end."""
    frames = [np.broadcast_to(np.array(colour(k), np.uint8), (side, side, 3)) for k in range(num_frames)]
    pixels = np.concatenate(frames, axis=0 if vertical else 1)
    pad = [(0, extra), (0, 0), (0, 0)] if vertical else [(0, 0), (0, extra), (0, 0)]
    return np.pad(pixels, pad)


def save(path: Path, pixels: np.ndarray, mode: str = "RGB", **kwargs) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(pixels)
    if mode == "P":  # an adaptive palette holds these few colours exactly
        image = image.convert("P", palette=Image.Palette.ADAPTIVE)
    image.convert(mode).save(path, **kwargs)
    return path


def expected(k: int, mode: str = "RGB") -> torch.Tensor:
    """Frame ``k``'s colour after PIL's conversion to ``mode`` and normalisation: ``c``."""
    value = Image.new("RGB", (1, 1), colour(k)).convert(mode).getpixel((0, 0))
    return torch.tensor(value, dtype=torch.float32).reshape(-1) / 127.5 - 1


def assert_frames(video: torch.Tensor, ks, mode: str = "RGB", atol: float = 1e-6) -> None:
    """``video`` (``c t h w``) is frames of constant ``colour(k)`` for ``k`` in ``ks``, to ``atol``."""
    want = torch.stack([expected(k, mode) for k in ks], dim=1)[:, :, None, None]  # c t 1 1
    error = (video - want).abs().max().item()
    assert video.shape[:2] == want.shape[:2] and error <= atol, (tuple(video.shape), error)


def build(root: Path, **kwargs) -> FrameStrips:
    kwargs = {"image_size": 8, "channels": 3, "min_frames": 1} | kwargs
    return DATASETS.build("frame-strips", root=str(root), **kwargs)


# reading ---------------------------------------------------------------------------
@pytest.mark.parametrize("vertical", [False, True])
def test_frame_count_and_exact_values_from_a_strip(tmp_path, vertical):
    save(tmp_path / "a" / "v.png", strip(6, vertical=vertical, extra=5))  # 5 px remainder
    data = build(tmp_path)
    assert len(data) == 1 and data.num_frames(0) == 6 and data.label(0) == 0
    video = data.frames(0, [5, 0, 2, 2])
    assert video.shape == (3, 4, 8, 8) and video.dtype == torch.float32
    assert_frames(video, [5, 0, 2, 2])


def test_white_and_black_map_to_plus_and_minus_one(tmp_path):
    pixels = np.zeros((4, 8, 3), np.uint8)
    pixels[:, 4:] = 255
    save(tmp_path / "a" / "v.png", pixels)
    video = build(tmp_path, image_size=4).frames(0, [0, 1])
    assert video[:, 0].eq(-1).all() and video[:, 1].eq(1).all()


@pytest.mark.parametrize("mode", ["RGBA", "P"])
def test_rgba_and_palette_strips_read_as_rgb(tmp_path, mode):
    if mode == "RGBA":  # alpha is dropped, not composited, as in the original
        pixels = strip(4)
        alpha = np.arange(pixels[..., 0].size, dtype=np.uint8).reshape(pixels.shape[:2])
        save(tmp_path / "a" / "v.png", np.dstack([pixels, alpha]), mode="RGBA")
    else:
        save(tmp_path / "a" / "v.png", strip(4), mode=mode)
    video = build(tmp_path).frames(0, range(4))
    assert_frames(video, range(4))


def test_grayscale_strip_to_rgb_and_rgb_strip_to_grayscale(tmp_path):
    save(tmp_path / "gray" / "a" / "v.png", strip(4), mode="L")
    save(tmp_path / "la" / "a" / "v.png", strip(4), mode="LA")
    save(tmp_path / "rgb" / "a" / "v.png", strip(4))
    gray_as_rgb = build(tmp_path / "gray").frames(0, range(4))
    assert gray_as_rgb.shape == (3, 4, 8, 8)
    assert torch.equal(gray_as_rgb[0], gray_as_rgb[1]) and torch.equal(gray_as_rgb[0], gray_as_rgb[2])
    assert_frames(gray_as_rgb[:1], range(4), "L")
    for folder in ("rgb", "la", "gray"):
        video = build(tmp_path / folder, channels=1).frames(0, range(4))
        assert video.shape == (1, 4, 8, 8)
        assert_frames(video, range(4), "L")


def test_jpeg_strips_of_either_case(tmp_path):
    save(tmp_path / "a" / "v.JPG", strip(3, side=16), quality=95, subsampling=0)
    save(tmp_path / "a" / "w.jpeg", strip(5, side=16, vertical=True), quality=95, subsampling=0)
    data = build(tmp_path, image_size=16)
    assert [data.num_frames(i) for i in range(2)] == [3, 5]
    video = data.frames(1, range(5))
    assert_frames(video, range(5), atol=8 / 127.5)


def test_frames_are_resized_to_image_size(tmp_path):
    pixels = strip(3, side=16)
    pixels[:, 0:8] = 255  # frame 0: left half white, right half black
    pixels[:, 8:16] = 0
    save(tmp_path / "a" / "v.png", pixels)
    small = build(tmp_path, image_size=8).frames(0, range(3))
    assert small.shape == (3, 3, 8, 8)
    assert_frames(small[:, 1:], [1, 2], atol=1e-5)
    assert small[:, 0, :, :3].eq(1).all() and small[:, 0, :, 5:].eq(-1).all()
    assert small.min() >= -1 and small.max() <= 1
    big = build(tmp_path, image_size=20).frames(0, [2])
    assert big.shape == (3, 1, 20, 20)
    assert_frames(big, [2], atol=1e-5)


def test_registered_name_builds_the_class(tmp_path):
    save(tmp_path / "a" / "v.png", strip(2))
    assert isinstance(build(tmp_path), FrameStrips)
    assert "frame-strips" in DATASETS


# indexing ------------------------------------------------------------------------------
def test_labels_follow_sorted_class_folders_and_empty_ones_keep_theirs(tmp_path, caplog):
    save(tmp_path / "walk" / "1.png", strip(4))
    save(tmp_path / "walk" / "0.png", strip(5))
    save(tmp_path / "jump" / "x.png", strip(6))
    (tmp_path / "empty").mkdir()
    (tmp_path / ".hidden").mkdir()
    with caplog.at_level(logging.WARNING, logger="vidgan"):
        data = build(tmp_path)
    assert data.classes == ["empty", "jump", "walk"] and data.num_classes == 3
    assert [(p.name, data.num_frames(i), data.label(i)) for i, (p, _, _) in enumerate(data.videos)] == [
        ("x.png", 6, 1), ("0.png", 5, 2), ("1.png", 4, 2)]
    assert "with no usable video keep their labels: empty" in caplog.text


def test_short_videos_are_skipped_and_counted(tmp_path, caplog):
    save(tmp_path / "a" / "long.png", strip(6))
    save(tmp_path / "a" / "short.png", strip(3))
    save(tmp_path / "b" / "exact.png", strip(4, vertical=True))
    with caplog.at_level(logging.WARNING, logger="vidgan"):
        data = build(tmp_path, min_frames=4)
    assert [p.name for p, _, _ in data.videos] == ["long.png", "exact.png"]
    assert "frame-strips: skipped 1 of 3 videos shorter than 4 frames" in caplog.messages


def test_other_files_are_ignored_and_counted(tmp_path, caplog):
    save(tmp_path / "a" / "v.png", strip(2))
    (tmp_path / "a" / "notes.txt").write_text("not a video")
    (tmp_path / "a" / "clip.gif").write_bytes(b"GIF89a")
    (tmp_path / "a" / ".DS_Store").write_bytes(b"\0")
    (tmp_path / "a" / "nested").mkdir()
    (tmp_path / "README.md").write_text("files beside the class folders are not videos")
    with caplog.at_level(logging.WARNING, logger="vidgan"):
        data = build(tmp_path)
    assert len(data) == 1
    assert any(m.startswith("frame-strips: ignored 3 files that are not png/jpg/jpeg images")
               for m in caplog.messages), caplog.messages


def test_unreadable_headers_are_skipped_and_counted(tmp_path, caplog):
    save(tmp_path / "a" / "v.png", strip(2))
    (tmp_path / "a" / "broken.png").write_bytes(b"this is no png")
    with caplog.at_level(logging.WARNING, logger="vidgan"):
        data = build(tmp_path)
    assert len(data) == 1
    assert any("skipped 1 image that could not be read" in m and "broken.png" in m
               for m in caplog.messages), caplog.messages


def test_indexing_reads_headers_only(tmp_path, monkeypatch):
    save(tmp_path / "a" / "v.png", strip(3))
    save(tmp_path / "a" / "w.jpg", strip(3))

    def no_decoding(self, *args, **kwargs):
        raise AssertionError("pixels decoded while indexing")

    monkeypatch.setattr(Image.Image, "load", no_decoding)
    monkeypatch.setattr("PIL.ImageFile.ImageFile.load", no_decoding)
    data = build(tmp_path)
    assert [data.num_frames(i) for i in range(2)] == [3, 3]


# errors ---------------------------------------------------------------------------------
def test_missing_root(tmp_path):
    with pytest.raises(VidganError, match=r"^data\.root '.*nowhere' does not exist; point data\.root at"):
        build(tmp_path / "nowhere")


def test_root_that_is_a_file(tmp_path):
    save(tmp_path / "v.png", strip(2))
    with pytest.raises(VidganError, match=r"is a file, not a folder; point data\.root at"):
        build(tmp_path / "v.png")


def test_root_without_class_folders(tmp_path):
    save(tmp_path / "v.png", strip(2))
    with pytest.raises(VidganError, match=r"has no class folders; put each class's frame strips in a sub-folder"):
        build(tmp_path)


def test_no_root_given():
    with pytest.raises(VidganError, match=r"frame-strips needs data\.root"):
        FrameStrips()


def test_only_short_videos(tmp_path):
    save(tmp_path / "a" / "v.png", strip(3))
    save(tmp_path / "b" / "w.png", strip(2))
    with pytest.raises(VidganError, match=r"has no usable video: all 2 strips are shorter than 31 frames; "
                                          r"add longer videos or lower data\.video_length"):
        build(tmp_path, min_frames=31)


def test_no_images_at_all(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "x.txt").write_text("")
    with pytest.raises(VidganError, match=r"has no usable video: no readable png/jpg/jpeg strip in its 2 class folders"):
        build(tmp_path)


def test_error_messages_are_one_line(tmp_path):
    for root in (tmp_path / "nowhere", tmp_path):
        with pytest.raises(VidganError) as caught:
            build(root)
        assert "\n" not in str(caught.value)


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_corrupt_file_read_for_frames_names_the_file(tmp_path, damage):
    path = save(tmp_path / "a" / "v.png", strip(8, side=16))
    data = build(tmp_path)
    raw = path.read_bytes()
    if damage == "garbage":
        path.write_bytes(b"\0" * 100)
    else:  # the header is intact, the pixel data cut short
        path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(VidganError, match=r"frame-strips: cannot read '.*v\.png'.*replace or remove the file"):
        data.frames(0, [0])


def test_bad_frame_indices(tmp_path):
    save(tmp_path / "a" / "v.png", strip(3))
    data = build(tmp_path)
    with pytest.raises(IndexError):
        data.frames(0, [3])
    with pytest.raises(IndexError):
        data.frames(0, [-1])


def test_bad_channels(tmp_path):
    with pytest.raises(VidganError, match=r"data\.channels must be 1 or 3"):
        build(tmp_path, channels=4)


# the cache of decoded strips ----------------------------------------------------------
def test_each_strip_is_decoded_once_while_it_fits_in_the_cache(tmp_path, monkeypatch):
    for name in "vw":
        save(tmp_path / "a" / f"{name}.png", strip(4))
    data = build(tmp_path)
    decoded = []
    read = data.strip.__globals__["read_image"]
    monkeypatch.setitem(data.strip.__globals__, "read_image", lambda path, *a: decoded.append(path) or read(path, *a))
    first = data.frames(0, [0, 3])
    for _ in range(3):
        assert torch.equal(data.frames(0, [0, 3]), first)
        data.frames(1, [2])
    assert [p.name for p in decoded] == ["v.png", "w.png"]


def test_the_cache_keeps_the_most_recent_strips_within_its_size(tmp_path, monkeypatch):
    for name in "uvw":
        save(tmp_path / "a" / f"{name}.png", strip(4))
    data = build(tmp_path)
    data.cache_bytes = 2 * strip(4).nbytes  # room for two strips
    for i in (0, 1, 0, 2):  # u, v, u again, then w pushes out v (least recently used)
        data.frames(i, [0])
    assert [p.name for p in data._cache] == ["u.png", "w.png"]
    uncached = build(tmp_path, cache_mb=0)
    assert torch.equal(uncached.frames(1, [1, 2]), data.frames(1, [1, 2])) and not uncached._cache


def test_a_negative_cache_size_is_an_error(tmp_path):
    save(tmp_path / "a" / "v.png", strip(3))
    with pytest.raises(VidganError, match=r"cache_mb must be 0 \(no cache\) or more, got -1"):
        build(tmp_path, cache_mb=-1)
