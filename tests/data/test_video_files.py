"""video-files and frame-folders: tiny videos written here with PyAV and PIL, and bad files."""

import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from vidgan.data import FrameFolders, UnreadableVideo, VideoFiles, sample_clips, sample_frames
from vidgan.errors import VidganError
from vidgan.registry import DATASETS

av = pytest.importorskip("av")


def colours(n: int) -> np.ndarray:
    """``n 3`` uint8: frame k's constant colour."""
    return np.array([(8 * k % 256, 255 - 8 * k % 256, 37 * k % 256) for k in range(n)], np.uint8)


def frames(n: int, height: int = 16, width: int = 16) -> np.ndarray:
    """``t h w 3`` uint8 frames of constant ``colours(n)[k]``."""
    return np.broadcast_to(colours(n)[:, None, None, :], (n, height, width, 3)).copy()


def write_video(path: Path, pixels: np.ndarray, codec: str = "mpeg4") -> Path:
    """Encode ``t h w 3`` uint8 with PyAV (the container from the suffix)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=10)
        stream.width, stream.height, stream.pix_fmt = pixels.shape[2], pixels.shape[1], "yuv420p"
        stream.options = {"qscale": "1"} if codec == "mpeg4" else {}
        for frame in pixels:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        out.mux(stream.encode())
    return path


def write_gif(path: Path, pixels: np.ndarray) -> Path:
    """A lossless GIF (few colours, adaptive palette) written with PIL."""
    path.parent.mkdir(parents=True, exist_ok=True)
    images = [Image.fromarray(f).convert("P", palette=Image.Palette.ADAPTIVE) for f in pixels]
    images[0].save(path, save_all=True, append_images=images[1:], duration=100, loop=0)
    return path


def write_folder(path: Path, pixels: np.ndarray, suffix: str = ".png") -> Path:
    """One image per frame, named 1, 2, ..., 10, ... (natural order is not string order)."""
    path.mkdir(parents=True, exist_ok=True)
    for k, frame in enumerate(pixels):
        Image.fromarray(frame).save(path / f"frame{k + 1}{suffix}")
    return path


def want(ks, n: int) -> torch.Tensor:
    """``3 t 1 1``: the colours of frames ``ks`` in [-1, 1]."""
    return torch.from_numpy(colours(n)[list(ks)].T.astype(np.float32) / 127.5 - 1)[:, :, None, None]


def build(name: str, root: Path, **kwargs):
    kwargs = {"image_size": 16, "channels": 3, "min_frames": 1} | kwargs
    return DATASETS.build(name, root=str(root), **kwargs)


# video files ------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix, codec, atol", [
    (".mp4", "mpeg4", 6 / 127.5), (".avi", "mpeg4", 6 / 127.5), (".webm", "libvpx-vp9", 6 / 127.5),
    (".gif", None, 1e-6),
])
def test_each_container_gives_the_frames_it_holds(tmp_path, suffix, codec, atol):
    path = tmp_path / "a" / f"v{suffix}"
    write_gif(path, frames(6)) if codec is None else write_video(path, frames(6), codec)
    data = build("video-files", tmp_path)
    assert isinstance(data, VideoFiles) and len(data) == 1 and data.num_frames(0) == 6
    clip = data.frames(0, [5, 1, 1, 3])
    assert clip.shape == (3, 4, 16, 16) and clip.dtype == torch.float32
    assert (clip - want([5, 1, 1, 3], 6)).abs().max() <= atol


def test_video_frames_are_centre_cropped_and_resized(tmp_path):
    pixels = frames(3, height=16, width=32)
    pixels[:, :, :8] = 0  # the left and right quarters fall outside the centre square
    pixels[:, :, -8:] = 255
    write_video(tmp_path / "a" / "wide.mp4", pixels)
    clip = build("video-files", tmp_path, image_size=8).frames(0, [0, 2])
    assert clip.shape == (3, 2, 8, 8)
    # chroma bleeds a little across the crop edge; squashing instead of cropping would be off by ~1
    assert (clip - want([0, 2], 3)).abs().max() <= 16 / 127.5


def test_grayscale_and_labels_from_class_folders(tmp_path):
    write_video(tmp_path / "walk" / "w.mp4", frames(4))
    write_gif(tmp_path / "jump" / "j.gif", frames(5))
    data = build("video-files", tmp_path, channels=1)
    assert data.classes == ["jump", "walk"]
    assert [(p.name, data.num_frames(i), data.label(i)) for i, (p, _, _) in enumerate(data.videos)] == [
        ("j.gif", 5, 0), ("w.mp4", 4, 1)]
    assert data.frames(1, [0, 3]).shape == (1, 2, 16, 16)


def test_a_corrupt_file_is_skipped_at_indexing_with_a_warning_naming_it(tmp_path, caplog):
    write_video(tmp_path / "a" / "good.mp4", frames(4))
    (tmp_path / "a" / "broken.mp4").write_bytes(b"\0" * 500)
    (tmp_path / "a" / "notes.txt").write_text("not a video")
    with caplog.at_level(logging.WARNING, logger="vidgan"):
        data = build("video-files", tmp_path)
    assert [p.name for p, _, _ in data.videos] == ["good.mp4"]
    assert any("video-files: skipped 1 video file that could not be read" in m and "broken.mp4" in m
               for m in caplog.messages), caplog.messages
    assert any("ignored 1 file that are not mp4/avi/gif/webm/mov/mkv videos" in m for m in caplog.messages)


def test_a_file_that_breaks_after_indexing_is_skipped_by_the_samplers(tmp_path, caplog):
    write_video(tmp_path / "a" / "good.mp4", frames(4))
    bad = write_video(tmp_path / "b" / "bad.mp4", frames(4))
    data = build("video-files", tmp_path)
    bad.write_bytes(b"\0" * 500)
    with pytest.raises(UnreadableVideo, match=r"video-files: cannot read '.*bad\.mp4'"):
        data.frames(1, [0])
    with caplog.at_level(logging.WARNING, logger="vidgan"):
        clips, labels = sample_clips(data, 6, 3, 1, torch.Generator().manual_seed(0))
        images, image_labels = sample_frames(data, 6, torch.Generator().manual_seed(1))
    assert clips.shape == (6, 3, 3, 16, 16) and images.shape == (6, 3, 16, 16)
    assert labels.tolist() == [0] * 6 and image_labels.tolist() == [0] * 6  # only the good video
    assert data.unreadable == {1}
    warnings = [m for m in caplog.messages if "bad.mp4" in m]
    assert len(warnings) == 1 and "skipping it and sampling another video" in warnings[0]


def test_all_videos_unreadable_is_an_error_not_a_hang(tmp_path):
    bad = write_video(tmp_path / "a" / "bad.mp4", frames(4))
    data = build("video-files", tmp_path)
    bad.write_bytes(b"\0" * 500)
    with pytest.raises(VidganError, match="all 1 videos of VideoFiles are unreadable"):
        sample_clips(data, 2, 2, 1, torch.Generator())


def test_no_videos_at_all(tmp_path):
    (tmp_path / "a").mkdir()
    with pytest.raises(VidganError, match=r"no usable video: no readable video file in its 1 class folder"):
        build("video-files", tmp_path)


# frame folders ----------------------------------------------------------------------------
def test_frame_folders_read_frames_in_natural_order(tmp_path):
    write_folder(tmp_path / "a" / "v", frames(12))
    data = build("frame-folders", tmp_path)
    assert isinstance(data, FrameFolders) and data.num_frames(0) == 12
    assert [p.name for p in data.files[data.videos[0][0]]][:3] == ["frame1.png", "frame2.png", "frame3.png"]
    clip = data.frames(0, [11, 1, 9])
    assert (clip - want([11, 1, 9], 12)).abs().max() <= 1e-6


def test_frame_folders_skip_empty_and_broken_videos(tmp_path, caplog):
    write_folder(tmp_path / "a" / "good", frames(3))
    (tmp_path / "a" / "empty").mkdir()
    (tmp_path / "a" / "stray.png").write_bytes(b"")
    broken = write_folder(tmp_path / "b" / "broken", frames(3))
    with caplog.at_level(logging.WARNING, logger="vidgan"):
        data = build("frame-folders", tmp_path)
    assert [p.name for p, _, _ in data.videos] == ["good", "broken"]
    assert any("skipped 1 frame folder that could not be read" in m and "empty" in m for m in caplog.messages)
    (broken / "frame2.png").write_bytes(b"garbage")
    with caplog.at_level(logging.WARNING, logger="vidgan"):
        clips, labels = sample_clips(data, 4, 3, 1, torch.Generator().manual_seed(3))
    assert labels.tolist() == [0] * 4
    assert any("frame2.png" in m for m in caplog.messages)


@pytest.mark.parametrize("name", ["video-files", "frame-folders"])
def test_the_trainer_config_builds_them(tmp_path, name):
    from vidgan import config as C

    if name == "video-files":
        write_video(tmp_path / "a" / "v.mp4", frames(31))
    else:
        write_folder(tmp_path / "a" / "v", frames(31))
    cfg = C.load_config(["recipe=mocogan", f"data.name={name}", f"data.root={tmp_path}", "data.image_size=16"])
    data = DATASETS.build(C.dataset_name(cfg), **C.dataset_kwargs(cfg))
    clips, _ = sample_clips(data, 2, 16, 2, torch.Generator())
    assert clips.shape == (2, 3, 16, 16, 16)
    assert clips.min() >= -1 and clips.max() <= 1
