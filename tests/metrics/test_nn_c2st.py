"""nn-c2st: the 1-NN two-sample test against answers known by construction."""

import pytest
import torch
from test_memorisation import Clips, shapes

from vidgan.errors import VidganError
from vidgan.metrics.base import EvalContext
from vidgan.metrics.nn_c2st import NearestNeighbourC2ST, nn_accuracy
from vidgan.registry import METRICS


def test_nn_accuracy_by_hand():
    # two clusters far apart: every point's neighbour is of its own set
    a, b = torch.randn(10, 3), torch.randn(12, 3) + 100
    assert nn_accuracy(a, b) == 1.0
    # b a copy of a: every point's nearest other point is its copy, of the other set
    assert nn_accuracy(a, a.clone()) == 0.0
    # 1-D: 0 and 1 in a, 0.4 and 3 in b. 0 -> 0.4 (b, wrong), 1 -> 0.4 (b, wrong),
    # 0.4 -> 0 (a, wrong), 3 -> 1 (a, wrong)
    assert nn_accuracy(torch.tensor([[0.0], [1.0]]), torch.tensor([[0.4], [3.0]])) == 0.0
    # 0 and 0.1 in a, 1 and 1.2 in b, 5 in b: 5 -> 1.2 (b, right); all right
    assert nn_accuracy(torch.tensor([[0.0], [0.1]]), torch.tensor([[1.0], [1.2], [5.0]])) == 1.0


def test_iid_draws_score_about_one_half():
    g = torch.Generator().manual_seed(0)
    scores = [nn_accuracy(torch.randn(200, 8, generator=g), torch.randn(200, 8, generator=g)) for _ in range(5)]
    assert abs(sum(scores) / 5 - 0.5) < 0.05


def evaluate(tmp_path, generator, data, num_videos=48):
    ctx = EvalContext(generator, lambda: data, num_videos=num_videos, video_length=4, every_nth=2, seed=0,
                      batch_size=16, device=torch.device("cpu"), out_dir=tmp_path)
    return METRICS.build("nn-c2st", size=8)(ctx)


def test_clips_of_the_same_distribution_pass_and_the_control_is_about_one_half(tmp_path):
    # many videos, so that few real clips share a video (clips of one video are neighbours)
    result = evaluate(tmp_path, Clips(shapes(seed=1, num_videos=400)), shapes(seed=0, num_videos=400))
    assert 0.3 < result["value"] < 0.7 and 0.3 < result["reference"] < 0.7
    assert result["protocol"]["control_seed"] == 3


class Negative(Clips):
    """The clips in negative colours: real motion, colours no real clip has."""

    def sample_videos(self, n, video_length=None, generator=None, labels=None):
        videos, labels = super().sample_videos(n, video_length, generator, labels)
        return -videos, labels


def test_clips_of_another_distribution_are_told_apart(tmp_path):
    result = evaluate(tmp_path, Negative(shapes(seed=1)), shapes(seed=0))
    assert result["value"] == 1.0 and result["reference"] < 0.6


def test_bad_options_are_one_line_errors(tmp_path):
    with pytest.raises(VidganError, match="options.nn-c2st.size must be at least 1, got 0"):
        NearestNeighbourC2ST(size=0)
    with pytest.raises(VidganError, match="nn-c2st needs num_videos >= 2, got 1"):
        evaluate(tmp_path, Clips(shapes(seed=1)), shapes(seed=0), num_videos=1)
