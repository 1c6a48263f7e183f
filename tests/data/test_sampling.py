"""sample_clips and sample_frames: shapes, strides, uniform starts, reproducibility."""

from collections import Counter

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from vidgan.data import SyntheticShapes, VideoDataset, min_frames, sample_clips, sample_frames
from vidgan.errors import VidganError


class Numbered(VideoDataset):
    """Videos of the given lengths whose frame k of video i is (k, i) in its two channels."""

    def __init__(self, lengths, num_classes=3, size=2):
        self.lengths = list(lengths)
        self.num_classes = num_classes
        self.size = size

    def __len__(self):
        return len(self.lengths)

    def num_frames(self, index):
        return self.lengths[index]

    def label(self, index):
        return index % self.num_classes

    def frames(self, index, frame_indices):
        k = torch.as_tensor(list(frame_indices), dtype=torch.float32)
        assert ((k >= 0) & (k < self.lengths[index])).all(), "asked for a frame the video lacks"
        video = torch.stack([k, torch.full_like(k, index)])  # c t
        return video[:, :, None, None].expand(2, len(k), self.size, self.size).clone()


def seeded(seed=0):
    return torch.Generator().manual_seed(seed)


def test_min_frames():
    assert min_frames(16, 2) == 31
    assert min_frames(1, 5) == 1
    assert min_frames(4, 1) == 4


@settings(max_examples=60, deadline=None)
@given(batch=st.integers(1, 6), length=st.integers(1, 8), every_nth=st.integers(1, 4),
       slack=st.lists(st.integers(0, 6), min_size=1, max_size=5), seed=st.integers(0, 2**32))
def test_clips_take_every_nth_frame_from_a_valid_start(batch, length, every_nth, slack, seed):
    span = min_frames(length, every_nth)
    data = Numbered([span + s for s in slack])
    videos, labels = sample_clips(data, batch, length, every_nth, seeded(seed))
    assert videos.shape == (batch, 2, length, 2, 2) and videos.dtype == torch.float32
    assert labels.shape == (batch,) and labels.dtype == torch.int64
    for video, label in zip(videos, labels):
        k, index = video[0, :, 0, 0].long(), int(video[1, 0, 0, 0])
        assert label == data.label(index)  # the label is that of the clip's video
        assert (video[1] == index).all()  # one video per clip
        assert torch.equal(k - k[0], torch.arange(length) * every_nth)  # the stride
        assert 0 <= k[0] and k[-1] < data.num_frames(index)


@settings(max_examples=30, deadline=None)
@given(batch=st.integers(1, 8), lengths=st.lists(st.integers(1, 9), min_size=1, max_size=5),
       seed=st.integers(0, 2**32))
def test_frames_are_single_frames_of_their_video(batch, lengths, seed):
    data = Numbered(lengths)
    frames, labels = sample_frames(data, batch, seeded(seed))
    assert frames.shape == (batch, 2, 2, 2) and labels.shape == (batch,) and labels.dtype == torch.int64
    for frame, label in zip(frames, labels):
        k, index = int(frame[0, 0, 0]), int(frame[1, 0, 0])
        assert 0 <= k < lengths[index] and label == data.label(index)


def test_every_start_is_drawn_about_equally_often():
    data = Numbered([10])  # a clip of 3 frames every 2nd spans 5: starts 0..5
    videos, _ = sample_clips(data, 1200, 3, 2, seeded(1))
    counts = Counter(videos[:, 0, 0, 0, 0].long().tolist())
    assert sorted(counts) == [0, 1, 2, 3, 4, 5]  # the last start too
    assert all(150 < c < 250 for c in counts.values()), counts  # expected 200 each


def test_every_frame_is_drawn_about_equally_often():
    data = Numbered([5])
    frames, _ = sample_frames(data, 1000, seeded(2))
    counts = Counter(frames[:, 0, 0, 0].long().tolist())
    assert sorted(counts) == [0, 1, 2, 3, 4]  # the last frame too (the original missed it)
    assert all(150 < c < 250 for c in counts.values()), counts


@pytest.mark.parametrize("sample", ["clips", "frames"])
def test_videos_are_drawn_uniformly(sample):
    data = Numbered([7, 9, 11, 13], num_classes=4)
    rng = seeded(3)
    if sample == "clips":
        _, labels = sample_clips(data, 800, 4, 2, rng)
    else:
        _, labels = sample_frames(data, 800, rng)
    counts = Counter(labels.tolist())
    assert sorted(counts) == [0, 1, 2, 3]
    assert all(150 < c < 250 for c in counts.values()), counts


def test_a_clip_that_fills_the_video_exactly():
    data = Numbered([7])
    videos, _ = sample_clips(data, 4, 4, 2, seeded())
    assert (videos[:, 0, :, 0, 0] == torch.tensor([0.0, 2, 4, 6])).all()


def test_equal_seeds_give_equal_batches_and_the_generator_is_the_only_randomness():
    data = SyntheticShapes(image_size=16, num_videos=50)
    torch.manual_seed(123)
    a = sample_clips(data, 4, 8, 2, seeded(7)), sample_frames(data, 4, seeded(7))
    torch.manual_seed(456)  # the global RNG plays no part
    b = sample_clips(data, 4, 8, 2, seeded(7)), sample_frames(data, 4, seeded(7))
    for (x, y), (x2, y2) in zip(a, b):
        assert torch.equal(x, x2) and torch.equal(y, y2)
    c = sample_clips(data, 4, 8, 2, seeded(8))
    assert not torch.equal(a[0][0], c[0])


def test_resuming_from_a_saved_generator_state_continues_the_same_stream():
    data = Numbered([40, 50, 60])
    rng = seeded(5)
    sample_clips(data, 3, 16, 2, rng)
    state = rng.get_state()
    expected = [sample_clips(data, 3, 16, 2, rng), sample_frames(data, 5, rng)]
    resumed = torch.Generator()
    resumed.set_state(state)
    got = [sample_clips(data, 3, 16, 2, resumed), sample_frames(data, 5, resumed)]
    for (x, y), (x2, y2) in zip(expected, got):
        assert torch.equal(x, x2) and torch.equal(y, y2)


def test_real_data_shapes_and_range():
    data = SyntheticShapes(image_size=32, channels=1, num_videos=10)
    videos, labels = sample_clips(data, 3, 16, 2, seeded())
    assert videos.shape == (3, 1, 16, 32, 32) and labels.shape == (3,)
    frames, _ = sample_frames(data, 5, seeded())
    assert frames.shape == (5, 1, 32, 32)
    assert videos.min() >= -1 and videos.max() <= 1


def test_a_video_too_short_for_the_clip():
    data = Numbered([30])
    with pytest.raises(VidganError, match=r"has 30 frames, fewer than the 31 a clip of 16 frames every 2 needs"):
        sample_clips(data, 1, 16, 2, seeded())


@pytest.mark.parametrize("batch, length, every_nth, name", [
    (0, 4, 1, "batch"), (2, 0, 1, "length"), (2, 4, 0, "every_nth")])
def test_bad_arguments(batch, length, every_nth, name):
    with pytest.raises(VidganError, match=rf"{name} must be at least 1"):
        sample_clips(Numbered([10]), batch, length, every_nth, seeded())


def test_an_empty_data_set():
    with pytest.raises(VidganError, match="no videos"):
        sample_frames(Numbered([]), 2, seeded())
