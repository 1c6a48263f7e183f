"""video-files decodes a clip from the key frame before it, keeps decoded frames in a bounded
cache, and gives the same pixels whichever way a frame was reached."""

import logging

import numpy as np
import pytest
import torch

from vidgan.data import VideoFiles, decoding, sample_clips, sample_frames
from video_maker import colours, flat_frames, moving_frames, write_video

pytest.importorskip("av")

CODECS = ["libx264", "mpeg4"]


@pytest.fixture
def count_decoded(monkeypatch):
    """The frames the decoder gives (decoded, converted or not), counted across calls."""
    counted = []
    real_open = decoding.open_video

    def open_counting(path, size):
        container, stream = real_open(path, size)
        real_decode = container.decode

        class Counting:
            def __enter__(self):
                return self

            def __exit__(self, *exc):
                container.close()

            def seek(self, *args, **kwargs):
                return container.seek(*args, **kwargs)

            def decode(self, which):
                for frame in real_decode(which):
                    counted.append(path)
                    yield frame

        return Counting(), stream

    monkeypatch.setattr(decoding, "open_video", open_counting)
    return counted


@pytest.mark.parametrize("codec", CODECS)
def test_a_clip_decoded_from_its_key_frame_equals_the_one_decoded_from_the_start(tmp_path, codec):
    path = write_video(tmp_path / "v.mp4", moving_frames(60), codec, gop=8)
    index = decoding.index_packets(path)
    assert len(index.pts) == 60 and len(index.keys) >= 6 and index.keys[0] == 0
    whole = dict(decoding.decode_frames(path, 16, 3, None, 0, 10 ** 9))
    assert sorted(whole) == list(range(60))
    for first, last in [(0, 4), (9, 30), (31, 31), (44, 59), (57, 59)]:
        part = dict(decoding.decode_frames(path, 16, 3, index, first, last))
        assert sorted(part) == list(range(first, last + 1))
        for k, frame in part.items():
            assert frame.shape == (16, 16, 3) and np.array_equal(frame, whole[k]), (first, k)


@pytest.mark.parametrize("codec", CODECS)
def test_the_frames_decoded_for_a_clip_do_not_grow_with_its_position(tmp_path, codec, count_decoded):
    write_video(tmp_path / "a" / "long.mp4", moving_frames(200), codec, gop=10)
    data = VideoFiles(tmp_path, image_size=16, min_frames=1, cache_mb=0)
    key_gap = int(np.diff(data._packets(data.videos[0][0]).keys).max())
    for start in (0, 50, 120, 180):
        count_decoded.clear()
        clip = data.frames(0, range(start, start + 16, 2))
        assert clip.shape == (3, 8, 16, 16)
        assert len(count_decoded) <= key_gap + 16, (start, len(count_decoded))


def test_the_cache_gives_the_same_batches_and_spares_decoding(tmp_path, count_decoded):
    for name, seed in [("a/x.mp4", 1), ("a/y.mp4", 2), ("b/z.mp4", 3)]:
        write_video(tmp_path / name, moving_frames(40, seed=seed), "libx264", gop=8)
    plain = VideoFiles(tmp_path, image_size=16, min_frames=1, cache_mb=0)
    cached = VideoFiles(tmp_path, image_size=16, min_frames=1)
    assert cached.whole_stretches  # all fits: a miss decodes its stretch to the next key frame
    cached.frames(0, [1])
    index = cached._packets(cached.videos[0][0])
    assert [len(frames) for frames in cached.cache.values()] == [index.last_before_key(1) + 1]
    for seed in range(4):
        a, b = torch.Generator().manual_seed(seed), torch.Generator().manual_seed(seed)
        for draw in (lambda d, g: sample_clips(d, 4, 6, 2, g), lambda d, g: sample_frames(d, 8, g)):
            (x, y), (u, v) = draw(plain, a), draw(cached, b)
            assert torch.equal(x, u) and torch.equal(y, v)
    for i in range(len(cached)):  # every frame once: afterwards all come from the cache
        cached.frames(i, range(cached.num_frames(i)))
    count_decoded.clear()
    again = sample_clips(cached, 8, 6, 2, torch.Generator().manual_seed(9))[0]
    assert count_decoded == []
    assert torch.equal(again, sample_clips(plain, 8, 6, 2, torch.Generator().manual_seed(9))[0])


def test_the_cache_stays_within_its_budget(tmp_path):
    for name in ("a/x.mp4", "a/y.mp4"):
        write_video(tmp_path / name, moving_frames(120, 64, 64), "mpeg4", gop=12)
    cached = VideoFiles(tmp_path, image_size=64, min_frames=1, cache_mb=1)  # 85 frames of 64×64×3
    plain = VideoFiles(tmp_path, image_size=64, min_frames=1, cache_mb=0)
    assert not cached.whole_stretches  # 240 frames do not fit: decoded up to the frame asked for
    for seed in range(6):
        x = sample_clips(cached, 3, 8, 2, torch.Generator().manual_seed(seed))[0]
        assert sum(frames.nbytes for frames in cached.cache.values()) <= 2 ** 20
        assert torch.equal(x, sample_clips(plain, 3, 8, 2, torch.Generator().manual_seed(seed))[0])
    assert cached.cache


def test_a_variable_frame_rate_keeps_every_frame_in_order_with_one_warning(tmp_path, caplog):
    times = np.cumsum([0] + [40 if k % 3 else 160 for k in range(1, 20)]).tolist()
    write_video(tmp_path / "a" / "vfr.mp4", flat_frames(20), times_ms=times)
    data = VideoFiles(tmp_path, image_size=16, min_frames=1)
    assert data.num_frames(0) == 20
    with caplog.at_level(logging.WARNING, logger="vidgan"):
        clip = data.frames(0, [19, 0, 7, 8])
        data.frames(0, [3])
    want = torch.from_numpy(colours(20)[[19, 0, 7, 8]].T.astype(np.float32) / 127.5 - 1)[:, :, None, None]
    assert (clip - want).abs().max() <= 6 / 127.5
    warnings = [m for m in caplog.messages if "vfr.mp4" in m]
    assert len(warnings) == 1 and "variable frame rate (frame intervals from 40 to 160 ms)" in warnings[0]
    assert "used in order" in warnings[0]


def test_a_portrait_video_is_centre_cropped_like_a_landscape_one(tmp_path):
    pixels = flat_frames(4, height=64, width=32)
    pixels[:, :16] = 0  # the top and bottom quarters fall outside the centre square
    pixels[:, -16:] = 255
    write_video(tmp_path / "a" / "tall.mp4", pixels)
    clip = VideoFiles(tmp_path, image_size=8, min_frames=1).frames(0, [0, 3])
    want = torch.from_numpy(colours(4)[[0, 3]].T.astype(np.float32) / 127.5 - 1)[:, :, None, None]
    assert clip.shape == (3, 2, 8, 8)
    assert (clip - want).abs().max() <= 16 / 127.5


def test_codecs_that_can_decode_small_do_so_only_down_to_the_training_size(tmp_path):
    path = write_video(tmp_path / "v.mp4", moving_frames(4, 64, 96), "mpeg4")
    for size, side in [(64, 64), (32, 32), (16, 16), (8, 8), (30, 32)]:
        container, stream = decoding.open_video(path, size)
        with container:
            frame = next(container.decode(stream))
        assert min(frame.width, frame.height) == side, size
