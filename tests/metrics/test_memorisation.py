"""Memorisation: generated copies of the training clips score as copying, fresh draws do not."""

import pytest
import torch
from torch import nn

from vidgan.data import SyntheticShapes
from vidgan.errors import VidganError
from vidgan.metrics.base import EvalContext, to_uint8
from vidgan.metrics.memorisation import Memorisation, bank_of, nearest, pooled
from vidgan.registry import METRICS

LENGTH, EVERY = 4, 2


class Clips(nn.Module):
    """A 'generator' that shows random clips of a data set, as the trainer draws them."""

    dim_z_category = 0

    def __init__(self, data):
        super().__init__()
        self.data = data

    def sample_videos(self, n, video_length=None, generator=None, labels=None):
        clips = []
        for _ in range(n):
            i = int(torch.randint(len(self.data), (1,), generator=generator))
            start = int(torch.randint(self.data.num_frames(i) - (video_length - 1) * EVERY, (1,), generator=generator))
            clips.append(self.data.frames(i, list(range(start, start + video_length * EVERY, EVERY))))
        return torch.stack(clips), torch.zeros(n, dtype=torch.int64)


def shapes(seed, num_videos=40):
    return SyntheticShapes(image_size=16, num_videos=num_videos, num_frames=12, min_frames=8, seed=seed)


def score(tmp_path, generator, data, **options):
    ctx = EvalContext(generator, lambda: data, num_videos=64, video_length=LENGTH, every_nth=EVERY, seed=0,
                      batch_size=16, device=torch.device("cpu"), out_dir=tmp_path)
    return Memorisation(size=8, **options)(ctx)


def test_copies_of_the_training_clips_score_as_copying(tmp_path):
    data = shapes(seed=0)
    result = score(tmp_path, Clips(data), data, stride=1)
    # every generated clip is a clip of the bank: distance 0, below every held-out distance
    assert result["generated_distance"] == 0.0 and result["value"] == 0.0
    assert result["copied"] == 1.0
    assert result["heldout_distance"] > 0.05


def test_fresh_draws_from_the_same_distribution_do_not(tmp_path):
    training, fresh = shapes(seed=0), shapes(seed=1)
    result = score(tmp_path, Clips(fresh), training)
    # videos the bank never saw, drawn like its own: about as far as held-out real clips
    assert 0.8 < result["value"] < 1.25
    assert result["copied"] < 0.2


def test_bank_holds_every_clip_start_and_its_video():
    data = shapes(seed=0, num_videos=3)
    bank, owners = bank_of(data, LENGTH, EVERY, stride=1, limit=1000, size=8, rng=torch.Generator())
    starts = data.num_frames(0) - (LENGTH - 1) * EVERY  # 12 frames, clips span 7: 6 starts each
    assert owners.tolist() == [0] * starts + [1] * starts + [2] * starts
    second = data.frames(1, list(range(1, 1 + LENGTH * EVERY, EVERY)))  # video 1, start 1
    assert torch.equal(bank[starts + 1], pooled(to_uint8(second[None]), 8)[0])
    limited, _ = bank_of(data, LENGTH, EVERY, stride=1, limit=5, size=8, rng=torch.Generator().manual_seed(0))
    assert limited.shape == (5, bank.shape[1])


def test_nearest_skips_the_query_s_own_video():
    bank = torch.tensor([[0.0, 0.0], [3.0, 4.0]])
    query = torch.tensor([[0.0, 0.0]])
    assert nearest(query, bank).item() == 0.0
    # own video (0) excluded: the other row is 5 away, RMS over 2 values: 5 / sqrt(2)
    got = nearest(query, bank, exclude=torch.tensor([0]), owners=torch.tensor([0, 1]))
    assert got.item() == pytest.approx(5 / 2 ** 0.5)


def test_bad_options_and_too_little_data_are_one_line_errors(tmp_path):
    with pytest.raises(VidganError, match="quantile"):
        Memorisation(quantile=1.5)
    with pytest.raises(VidganError, match="at least 1"):
        Memorisation(stride=0)
    data = shapes(seed=0, num_videos=1)
    with pytest.raises(VidganError, match="at least 2 real videos"):
        score(tmp_path, Clips(data), data)


def test_registered():
    assert METRICS.get("memorisation") is Memorisation
