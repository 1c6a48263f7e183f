"""synthetic-shapes: deterministic, in range, the documented shapes, motion by class."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from vidgan.data import SyntheticShapes
from vidgan.errors import VidganError
from vidgan.registry import DATASETS


def centroids(video: torch.Tensor) -> np.ndarray:
    """The brightness-weighted (so sub-pixel, +-0.05 px with edge aliasing) centre (x, y) of each frame of a ``c t h w`` video: ``t 2``."""
    mass = (video.numpy() + 1).sum(0)  # t h w, background 0
    total = mass.sum((1, 2))
    assert (total > 0).all(), "a frame without the shape"
    ys, xs = np.arange(mass.shape[1]), np.arange(mass.shape[2])
    x = (mass.sum(1) * xs).sum(1) / total
    y = (mass.sum(2) * ys).sum(1) / total
    return np.stack([x, y], axis=1)


def test_registered_and_built_the_way_the_trainer_builds_it():
    data = DATASETS.build("synthetic-shapes", image_size=32, channels=3, min_frames=31, num_videos=5)
    assert isinstance(data, SyntheticShapes)
    assert len(data) == 5 and data.num_classes == 2
    assert [data.num_frames(i) for i in range(5)] == [32] * 5


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), index=st.integers(0, 1999))
def test_same_seed_and_index_give_the_same_video(seed, index):
    a = SyntheticShapes(seed=seed).frames(index, range(32))
    b = SyntheticShapes(seed=seed).frames(index, range(32))
    assert torch.equal(a, b)
    other_seed = SyntheticShapes(seed=seed + 1).frames(index, range(32))
    assert not torch.equal(a, other_seed)


def test_different_videos_differ_and_frames_are_consistent_subsets():
    data = SyntheticShapes()
    video = data.frames(4, range(32))
    assert not torch.equal(video, data.frames(6, range(32)))  # same class, different draw
    picked = data.frames(4, [30, 3, 3, 17])
    assert torch.equal(picked, video[:, [30, 3, 3, 17]])


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("image_size", [32, 64])
def test_shape_dtype_and_range(channels, image_size):
    data = SyntheticShapes(image_size=image_size, channels=channels, num_classes=4)
    for index in range(8):
        video = data.frames(index, range(0, 32, 2))
        assert video.shape == (channels, 16, image_size, image_size)
        assert video.dtype == torch.float32
        assert video.min() == -1  # black background
        assert video.max() <= 1
        assert video.max() > 0  # the shape is bright enough to see, also in grayscale


@settings(max_examples=30, deadline=None)
@given(index=st.integers(0, 10_000), seed=st.integers(0, 1000), image_size=st.sampled_from([8, 16, 32, 64]))
def test_the_shape_stays_inside_the_frame(index, seed, image_size):
    data = SyntheticShapes(image_size=image_size, num_classes=4, seed=seed, num_videos=10_001)
    video = data.frames(index, range(32))
    border = torch.cat([video[..., 0, :], video[..., -1, :], video[..., :, 0], video[..., :, -1]], -1)
    assert (border == -1).all()
    if image_size >= 32:  # the whole shape is in every frame: its area does not change
        area = (video + 1).sum((0, 2, 3))  # (tiny shapes alias too much for this check)
        assert (area - area.mean()).abs().max() <= 0.05 * area.mean(), area


def test_motion_depends_on_the_class():
    data = SyntheticShapes(num_classes=4, num_videos=40)
    for index in range(40):
        xy = centroids(data.frames(index, range(32)))
        spread = xy.std(0)  # (x, y)
        label = data.label(index)
        assert label == index % 4
        if label == 0:  # horizontal: x moves, y does not
            assert spread[0] > 3 and spread[1] < 0.05, spread
        elif label == 1:  # vertical
            assert spread[1] > 3 and spread[0] < 0.05, spread
        elif label == 2:  # diagonal: x and y move together (or against each other)
            assert spread.min() > 2
            assert abs(np.corrcoef(xy[:, 0], xy[:, 1])[0, 1]) > 0.99
        else:  # circular: a constant distance from a fixed centre
            assert spread.min() > 2
            radius = np.linalg.norm(xy - xy.mean(0), axis=1)
            assert abs(np.corrcoef(xy[:, 0], xy[:, 1])[0, 1]) < 0.9
            assert radius.std() < 0.25 * radius.mean()


def test_motion_is_smooth_and_periodic():
    data = SyntheticShapes(num_classes=2, num_videos=20)
    for index in range(20):
        xy = centroids(data.frames(index, range(32)))
        axis = xy[:, data.label(index)]  # x for class 0, y for class 1
        step = np.diff(axis)
        assert np.abs(step).max() < 0.12 * 64  # no jumps
        assert (np.diff(np.sign(step[np.abs(step) > 1e-3])) != 0).any()  # turns back within 32 frames


def test_labels_are_balanced_and_in_range():
    data = SyntheticShapes(num_classes=3, num_videos=30)
    labels = [data.label(i) for i in range(30)]
    assert sorted(set(labels)) == [0, 1, 2]
    assert [labels.count(k) for k in range(3)] == [10, 10, 10]


def test_too_few_frames_names_the_key_to_raise():
    with pytest.raises(VidganError, match=r"data\.options\.num_frames.*at least 31"):
        SyntheticShapes(num_frames=16, min_frames=31)
    SyntheticShapes(num_frames=31, min_frames=31)  # exactly enough is fine


@pytest.mark.parametrize("kwargs, key", [
    ({"channels": 2}, "data.channels"),
    ({"image_size": 4}, "data.image_size"),
    ({"num_classes": 5}, "data.options.num_classes"),
    ({"num_classes": 0}, "data.options.num_classes"),
    ({"num_videos": 0}, "data.options.num_videos"),
])
def test_bad_options_name_their_key(kwargs, key):
    with pytest.raises(VidganError, match=key.replace(".", r"\.")):
        SyntheticShapes(**kwargs)


def test_out_of_range_indices():
    data = SyntheticShapes(num_videos=3)
    with pytest.raises(IndexError):
        data.frames(3, [0])
    with pytest.raises(IndexError):
        data.frames(0, [32])
