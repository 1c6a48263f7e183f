"""vidgan prepare: one pass writes training-size arrays that prepared-videos reads as video-files
would, survives interruption and bad input, and data.name=auto recognises its result."""

import errno
import json
import logging
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from cli_runner import vidgan

from vidgan import config as C
from vidgan import prepare as P
from vidgan.data import PreparedVideos, VideoFiles, sample_clips, sample_frames
from vidgan.errors import VidganError
from vidgan.registry import DATASETS
from video_maker import colours, flat_frames, moving_frames, write_video

pytest.importorskip("av")


def source(root, count=3, frames=30):
    """``count`` videos in two class folders: libx264 with B-frames, and mpeg4."""
    for i in range(count):
        write_video(root / ("walk" if i % 2 else "jump") / f"v{i}.mp4", moving_frames(frames, seed=i),
                    "libx264" if i % 2 else "mpeg4", gop=8)
    return root


def test_prepared_videos_give_the_batches_video_files_gives(tmp_path):
    src = source(tmp_path / "src")
    summary = P.prepare(src, tmp_path / "dst", size=16, workers=1)
    assert {k: summary[k] for k in ("videos", "frames", "classes", "skipped", "size", "complete")} == {
        "videos": 3, "frames": 90, "classes": ["jump", "walk"], "skipped": [], "size": 16, "complete": True}
    assert json.loads((tmp_path / "dst" / "vidgan-prepared.json").read_text()) == summary
    stored = np.load(tmp_path / "dst" / "walk" / "v1.mp4.npy")
    assert stored.shape == (30, 16, 16, 3) and stored.dtype == np.uint8
    raw, prepared = VideoFiles(src, image_size=16, min_frames=1), PreparedVideos(tmp_path / "dst", image_size=16,
                                                                                 min_frames=1)
    assert [(p.name, n, y) for p, n, y in raw.videos] == [(p.name[:-4], n, y) for p, n, y in prepared.videos]
    for seed in range(3):  # at the prepared size, the very same pixels
        a, b = torch.Generator().manual_seed(seed), torch.Generator().manual_seed(seed)
        for draw in (lambda d, g: sample_clips(d, 4, 8, 2, g), lambda d, g: sample_frames(d, 6, g)):
            (x, y), (u, v) = draw(raw, a), draw(prepared, b)
            assert torch.equal(x, u) and torch.equal(y, v)


def test_a_smaller_training_size_is_resized_from_the_prepared_one(tmp_path):
    src = tmp_path / "src"
    write_video(src / "a" / "v.mp4", flat_frames(12, 48, 64))
    P.prepare(src, tmp_path / "dst", size=32, workers=1)
    raw = VideoFiles(src, image_size=16, min_frames=1).frames(0, range(12))
    smaller = PreparedVideos(tmp_path / "dst", image_size=16, min_frames=1).frames(0, range(12))
    assert smaller.shape == raw.shape == (3, 12, 16, 16)
    # resize rounding and reduced-size decoding (mpeg4 decodes 48 rows as 24 for 16, in full for 32)
    assert (smaller - raw).abs().max() <= 4 / 127.5  # four levels of 255 on flat frames
    with pytest.raises(VidganError, match=r"prepared at 32×32, smaller than data.image_size=64; prepare again "
                                          r"with --size 64 or set data.image_size=32"):
        PreparedVideos(tmp_path / "dst", image_size=64, min_frames=1)
    with pytest.raises(VidganError, match=r"has 3 channel\(s\) but data.channels=1; prepare again with --channels 1"):
        PreparedVideos(tmp_path / "dst", image_size=16, channels=1, min_frames=1)


def test_the_command_runs_workers_and_auto_reads_its_result(tmp_path, capsys, caplog):
    src = source(tmp_path / "src", count=4)
    assert vidgan("prepare", src, tmp_path / "dst", "--size", "16", "--workers", "2") == 0
    out = capsys.readouterr().err
    assert "prepared 4 videos (120 frames, 2 classes) at 16×16" in out and "videos/s" in out
    assert f"vidgan run data.root={tmp_path / 'dst'}" in out
    with caplog.at_level(logging.INFO, logger="vidgan"):
        cfg = C.load_config(["recipe=mocogan", f"data.root={tmp_path / 'dst'}", "data.image_size=16",
                             "data.video_length=8"])
    assert C.dataset_name(cfg) == "prepared-videos"
    assert any("read with prepared-videos" in m for m in caplog.messages)
    data = DATASETS.build(C.dataset_name(cfg), **C.dataset_kwargs(cfg))
    assert isinstance(data, PreparedVideos) and len(data) == 4


def test_an_interrupted_run_keeps_what_it_wrote_and_the_next_run_continues(tmp_path, monkeypatch):
    src = source(tmp_path / "src", count=4)
    dst = tmp_path / "dst"
    real, calls = P.decoding.decode_frames, []

    def interrupted(path, *args):
        calls.append(path.name)
        for n, item in enumerate(real(path, *args)):
            if len(calls) == 3 and n == 10:  # Ctrl-C halfway through the third video
                raise KeyboardInterrupt
            yield item

    monkeypatch.setattr(P.decoding, "decode_frames", interrupted)
    with pytest.raises(KeyboardInterrupt):
        P.prepare(src, dst, size=16, workers=1)
    written = sorted(p.relative_to(dst).as_posix() for p in dst.rglob("*.npy"))
    assert written == ["jump/v0.mp4.npy", "jump/v2.mp4.npy"]  # the third, v1, was cut off: nothing of it
    assert [p.name for p in dst.rglob(".*")] == []  # no temporary file left
    assert json.loads((dst / "vidgan-prepared.json").read_text())["complete"] is False
    before = {p: p.stat().st_mtime_ns for p in dst.rglob("*.npy")}
    calls.clear()
    summary = P.prepare(src, dst, size=16, workers=1)
    assert sorted(calls) == ["v1.mp4", "v3.mp4"] and summary["videos"] == 4 and summary["complete"]
    assert all(p.stat().st_mtime_ns == t for p, t in before.items())
    assert all(len(np.load(p)) == 30 for p in dst.rglob("*.npy"))


def test_kill_9_leaves_only_whole_videos_and_a_rerun_finishes(tmp_path):
    src = source(tmp_path / "src", count=6, frames=60)
    dst = tmp_path / "dst"
    command = [sys.executable, "-m", "vidgan", "prepare", str(src), str(dst), "--size", "16", "--workers", "1"]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None and not list(dst.rglob("*.npy")):
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    for path in dst.rglob("*.npy"):  # whatever the kill interrupted, every array is complete
        assert np.load(path).shape == (60, 16, 16, 3)
    assert vidgan("prepare", src, dst, "--size", "16", "--workers", "1") == 0
    assert len(list(dst.rglob("*.npy"))) == 6 and not [p for p in dst.rglob(".*")]


def test_unreadable_and_truncated_files_are_skipped_with_one_line_each(tmp_path, caplog):
    src = source(tmp_path / "src", count=2)
    (src / "walk" / "zeros.mp4").write_bytes(b"\0" * 500)
    whole = write_video(tmp_path / "whole.mp4", moving_frames(30), "mpeg4").read_bytes()
    (src / "walk" / "cut.mp4").write_bytes(whole[: len(whole) // 2])  # the index at the end is gone
    (src / "walk" / "notes.txt").write_text("not a video")
    with caplog.at_level(logging.WARNING, logger="vidgan"):
        summary = P.prepare(src, tmp_path / "dst", size=16, workers=1)
    assert summary["videos"] == 2 and [s["file"] for s in summary["skipped"]] == ["walk/cut.mp4", "walk/zeros.mp4"]
    warnings = [m for m in caplog.messages if "prepare: skipped" in m]
    assert len(warnings) == 2 and all("\n" not in m and "cannot decode it" in m for m in warnings)
    assert sorted(p.name for p in (tmp_path / "dst").rglob("*.npy")) == ["v0.mp4.npy", "v1.mp4.npy"]


def test_a_video_shorter_than_a_clip_is_prepared_and_then_skipped_with_a_warning(tmp_path, caplog):
    src = source(tmp_path / "src", count=2)
    write_video(src / "walk" / "short.mp4", moving_frames(5))
    P.prepare(src, tmp_path / "dst", size=16, workers=1)
    with caplog.at_level(logging.WARNING, logger="vidgan"):
        data = PreparedVideos(tmp_path / "dst", image_size=16, min_frames=15)
    assert len(data) == 2
    assert any("prepared-videos: skipped 1 of 3 videos shorter than 15 frames" in m for m in caplog.messages)


def test_a_variable_frame_rate_and_a_portrait_video_are_prepared_in_order_and_cropped(tmp_path, caplog):
    src = tmp_path / "src"
    times = np.cumsum([0] + [40 if k % 3 else 160 for k in range(1, 20)]).tolist()
    write_video(src / "a" / "vfr.mp4", flat_frames(20), times_ms=times)
    tall = flat_frames(20, height=64, width=32)
    tall[:, :16], tall[:, -16:] = 0, 255  # outside the centre square: squashed, they would show
    write_video(src / "a" / "tall.mp4", tall)
    with caplog.at_level(logging.WARNING, logger="vidgan"):
        summary = P.prepare(src, tmp_path / "dst", size=8, workers=1)
    assert summary["variable_frame_rate"] == ["a/vfr.mp4"] and summary["frames"] == 40
    assert [m for m in caplog.messages if "variable frame rate" in m and "kept in order" in m]
    for name in ("vfr.mp4.npy", "tall.mp4.npy"):
        frames = np.load(tmp_path / "dst" / "a" / name).astype(int)
        assert frames.shape == (20, 8, 8, 3)
        assert np.abs(frames - colours(20)[:, None, None, :]).max() <= 16, name


def test_no_videos_is_a_one_line_error(tmp_path, capsys):
    (tmp_path / "src" / "a").mkdir(parents=True)
    (tmp_path / "src" / "a" / "notes.txt").write_text("x")
    assert vidgan("prepare", tmp_path / "src", tmp_path / "dst") == 2
    err = capsys.readouterr().err
    assert "error: SRC" in err and "has no video files in its 1 class folder(s)" in err
    assert not (tmp_path / "dst").exists()
    write_video(tmp_path / "flat" / "v.mp4", flat_frames(3))
    with pytest.raises(VidganError, match=r"has no video files in it \(and it has no class folders\)"):
        P.prepare(tmp_path / "flat", tmp_path / "dst2")


def test_a_full_disk_stops_with_one_line_and_keeps_the_videos_written(tmp_path, monkeypatch, capsys):
    src = source(tmp_path / "src", count=3)
    dst = tmp_path / "dst"
    opened = []

    class FullDisk:
        """A file that fills the disk after 5 kB, from the second video on."""

        def __init__(self, path, mode):
            self.file, self.written = open(path, mode), 0
            opened.append(path)

        def write(self, data):
            self.written += memoryview(data).nbytes
            if len(opened) > 1 and self.written > 5000:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return self.file.write(data)

        def __getattr__(self, name):
            return getattr(self.file, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.file.close()

    monkeypatch.setattr(P, "open", FullDisk, raising=False)
    assert vidgan("prepare", src, dst, "--size", "16", "--workers", "1") == 2
    err = capsys.readouterr().err
    line = next(line for line in err.splitlines() if line.startswith("error:"))
    assert "No space left on device" in line and "free some space or give another DST" in line
    assert "the 1 videos prepared so far are kept" in err
    assert [p.name for p in dst.rglob("*.npy")] == ["v0.mp4.npy"] and np.load(dst / "jump" / "v0.mp4.npy").shape[0] == 30
    assert not [p for p in dst.rglob(".*")]  # the cut-off video left nothing behind
    monkeypatch.undo()
    assert P.prepare(src, dst, size=16, workers=1)["videos"] == 3


def test_a_destination_with_other_settings_or_other_files_is_refused(tmp_path):
    src = source(tmp_path / "src", count=1)
    P.prepare(src, tmp_path / "dst", size=16, workers=1)
    with pytest.raises(VidganError, match=r"holds videos prepared with size 16 and channels 3; give another DST "
                                          r"or run with --size 16 --channels 3"):
        P.prepare(src, tmp_path / "dst", size=32, workers=1)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "thesis.tex").write_text("x")
    with pytest.raises(VidganError, match="is not empty and holds no vidgan-prepared.json"):
        P.prepare(src, tmp_path / "other", size=16)
    with pytest.raises(VidganError, match="lies in SRC"):
        P.prepare(src, src / "prepared", size=16)
    with pytest.raises(VidganError, match="--size must be positive"):
        P.prepare(src, tmp_path / "new", size=0)
