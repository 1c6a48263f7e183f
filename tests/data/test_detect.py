"""data.name=auto picks the data set a folder's files call for, says so, and names the layouts it reads."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import pytest
from cli_runner import vidgan
from PIL import Image

from vidgan import config as C
from vidgan.data.detect import detect_dataset
from vidgan.errors import VidganError
from vidgan.registry import DATASETS
from vidgan.training import checkpoint

FRAMES = 13  # a clip of the tiny runs: 13 frames, every one


def pixels(n: int, side: int = 16) -> np.ndarray:
    """``n side side 3`` uint8 frames of changing colour."""
    return np.stack([np.full((side, side, 3), (10 * k, 200 - 10 * k, 90), np.uint8) for k in range(n)])


def strip(path: Path, n: int = FRAMES) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.concatenate(list(pixels(n)), axis=1)).save(path)
    return path


def frame_folder(path: Path, n: int = FRAMES) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for k, frame in enumerate(pixels(n)):
        Image.fromarray(frame).save(path / f"{k:04d}.png")
    return path


def video(path: Path, n: int = FRAMES) -> Path:
    av = pytest.importorskip("av")
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width = stream.height = 16
        stream.pix_fmt = "yuv420p"
        for frame in pixels(n):
            out.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        out.mux(stream.encode())
    return path


@pytest.mark.parametrize("make, name, words", [
    (lambda root: [strip(root / c / f"{i}.png") for c in "ab" for i in range(2)], "frame-strips", "frame strips"),
    (lambda root: [video(root / c / f"{i}.mp4") for c in "ab" for i in range(2)], "video-files", "video files"),
    (lambda root: [frame_folder(root / c / f"v{i}") for c in "ab" for i in range(2)], "frame-folders",
     "frame folders"),
])
def test_each_kind_of_folder_is_read_by_its_data_set(tmp_path, caplog, make, name, words):
    root = tmp_path / name
    make(root)
    with caplog.at_level(logging.INFO, logger="vidgan"):
        cfg = C.load_config(["recipe=mocogan", f"data.root={root}", "data.image_size=16", "data.video_length=13",
                             "data.every_nth=1"])
        assert C.dataset_name(cfg) == name
    assert [m for m in caplog.messages if "data.name=auto" in m] == [
        f"data.name=auto: {root} holds {words}, read with {name} (set data.name to choose another)"]
    data = DATASETS.build(C.dataset_name(cfg), **C.dataset_kwargs(cfg))
    assert type(data) is DATASETS.get(name) and len(data) == 4 and data.classes == ["a", "b"]


def test_a_folder_of_mp4_class_folders_trains_with_auto(tmp_path, tiny):
    """The case that failed before: mp4 files under data.root, data.name left at auto."""
    root = tmp_path / "videos"
    for c in ("walk", "run"):
        video(root / c / "clip.mp4")
    tiny = [o for o in tiny if not o.startswith("data.options")]
    assert vidgan("run", "recipe=mocogan", "train.steps=1", f"data.root={root}", f"run_dir={tmp_path / 'run'}",
                  *tiny) == 0
    assert checkpoint.load(tmp_path / "run")["step"] == 1


def test_the_most_common_kind_wins(tmp_path, caplog):
    for i in range(3):
        video(tmp_path / "a" / f"{i}.mp4")
    strip(tmp_path / "a" / "poster.png")
    (tmp_path / "a" / "notes.txt").write_text("not a video")
    (tmp_path / "b" / "clip.gif").parent.mkdir()
    Image.fromarray(pixels(1)[0]).save(tmp_path / "b" / "clip.gif")
    with caplog.at_level(logging.INFO, logger="vidgan"):
        assert detect_dataset(tmp_path) == "video-files"
    assert "also seen frame-strips: 1" in caplog.text


LAYOUTS = ("frame-strips reads root/<class>/<video>.png (png/jpg/jpeg images); video-files reads "
           "root/<class>/<video>.mp4 (mp4/avi/gif/webm/mov/mkv videos); frame-folders reads "
           "root/<class>/<video>/0001.png (folders of frame images)")


@pytest.mark.parametrize("make, message", [
    (lambda root: (root / "walk").mkdir(parents=True), "has no readable videos in its 1 class folder(s): " + LAYOUTS),
    (lambda root: [(root / c / "x.txt").parent.mkdir(parents=True) or (root / c / "x.txt").write_text("")
                   for c in "ab"], "has no readable videos in its 2 class folder(s)"),
    (lambda root: (root / "empty-video" / "v").mkdir(parents=True), "has no readable videos"),
    (lambda root: strip(root / "v.png"), "has no class folders; put each class's videos in a sub-folder"),
    (lambda root: None, "does not exist; point data.root at a folder of class folders of videos"),
])
def test_a_folder_no_data_set_reads(tmp_path, make, message):
    root = tmp_path / "data"
    make(root)
    with pytest.raises(VidganError, match=f"^data.root '.*' {re.escape(message)}"):
        C.load_config(["recipe=mocogan", f"data.root={root}"])


def test_a_named_data_set_is_not_second_guessed(tmp_path):
    video(tmp_path / "a" / "v.mp4")
    cfg = C.load_config(["recipe=mocogan", "data.name=frame-strips", f"data.root={tmp_path}"])
    assert C.dataset_name(cfg) == "frame-strips"
