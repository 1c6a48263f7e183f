"""C2ST: a real-vs-generated clip classifier's accuracy on held-out videos."""

import json

import pytest
import torch
from cli_runner import vidgan
from metric_helpers import RealVideos

from vidgan.data import SyntheticShapes
from vidgan.errors import VidganError
from vidgan.metrics.base import EvalContext
from vidgan.metrics.c2st import C2ST
from vidgan.registry import METRICS

FAST = {"steps": 60, "batch": 16, "size": 16, "width": 8}


class Changed(RealVideos):
    """Real videos of a data set passed through ``change`` (a function of ``b c t h w`` videos)."""

    def __init__(self, data, change):
        super().__init__(data)
        self.change = change

    def sample_videos(self, n, video_length=None, generator=None, labels=None):
        videos, labels = super().sample_videos(n, video_length, generator, labels)
        return self.change(videos), labels


@pytest.fixture(scope="module")
def data():
    # many distinct videos: independent draws of real and generated clips rarely share one
    return SyntheticShapes(image_size=16, num_videos=5000, num_frames=8, min_frames=8)


def context(tmp_path, generator, data, num_videos=48, seed=0):
    return EvalContext(generator, lambda: data, num_videos=num_videos, video_length=8, every_nth=1, seed=seed,
                       batch_size=16, device=torch.device("cpu"), out_dir=tmp_path)


def test_the_same_clips_as_real_and_generated_score_exactly_one_half(tmp_path, data):
    ctx = context(tmp_path, RealVideos(data), data)
    ctx.generated = ctx.real
    result = C2ST(**FAST)(ctx)
    # one permutation splits both sets: each clip is in the same half with both labels, and
    # the classifier, giving both copies the same answer, gets exactly one of them right
    assert result["value"] == 0.5 and result["train_accuracy"] == 0.5


def test_independent_draws_of_the_same_data_score_about_one_half(tmp_path, data):
    result = C2ST(**FAST)(context(tmp_path, RealVideos(data), data, num_videos=96))
    assert result["value"] == pytest.approx(0.5, abs=0.15)


def test_the_control_scores_real_against_other_real_clips(tmp_path, data):
    ctx = context(tmp_path, Changed(data, torch.zeros_like), data, num_videos=96)
    result = C2ST(**FAST)(ctx)
    other = C2ST.other_real(ctx)
    assert other.shape == ctx.real()[0].shape and not torch.equal(other, ctx.real()[0])
    assert result["reference"] == C2ST(**FAST).accuracies(ctx, ctx.real()[0], other)[0]
    assert result["reference"] == pytest.approx(0.5, abs=0.15) and result["value"] >= 0.95
    assert "reference" not in C2ST(**FAST, control=False)(ctx)


@pytest.mark.parametrize("change", [
    pytest.param(lambda videos: torch.zeros_like(videos), id="grey"),
    pytest.param(lambda videos: -videos, id="inverted"),
])
def test_clearly_different_videos_are_told_apart(tmp_path, data, change):
    result = C2ST(**FAST)(context(tmp_path, Changed(data, change), data))
    assert result["value"] >= 0.95 and result["train_accuracy"] >= 0.95


def test_the_same_seed_gives_the_same_number_and_the_protocol_is_recorded(tmp_path, data):
    blurred = Changed(data, lambda v: torch.nn.functional.avg_pool3d(v, (1, 3, 3), 1, (0, 1, 1)))
    first = METRICS.build("c2st", **FAST, lr=2e-3)(context(tmp_path, blurred, data, num_videos=21))
    again = METRICS.build("c2st", **FAST, lr=2e-3)(context(tmp_path, blurred, data, num_videos=21))
    assert first == again
    protocol = first["protocol"]
    assert {k: protocol[k] for k in ("steps", "batch", "lr", "size", "width")} == {**FAST, "lr": 2e-3}
    assert protocol["train_videos_per_class"] == 10 and protocol["test_videos_per_class"] == 11
    assert protocol["num_videos"] == 21 and protocol["real_clips"] == 21 and protocol["seed"] == 0
    assert protocol["labels"] == "real 1, generated 0" and protocol["classifier"] == "ClipClassifier"
    assert first["value"] * 22 == pytest.approx(round(first["value"] * 22))  # a fraction of the 22 test videos


def test_too_few_videos_or_bad_options_are_one_line_errors(tmp_path, data):
    with pytest.raises(VidganError, match=r"needs num_videos >= 4, got 3"):
        C2ST(**FAST)(context(tmp_path, RealVideos(data), data, num_videos=3))
    with pytest.raises(VidganError, match="steps, batch and width must be at least 1"):
        C2ST(steps=0)
    with pytest.raises(VidganError, match=r"options\.c2st\.lr must be positive"):
        C2ST(lr=0)


def test_vidgan_eval_writes_c2st(run_dir):
    options = [f"options.c2st.{k}={v}" for k, v in FAST.items()]
    assert vidgan("eval", run_dir, "metrics=[c2st]", "num_videos=8", "batch_size=4", *options) == 0
    result = json.loads((run_dir / "eval.json").read_text())["metrics"]["c2st"]
    # an untrained generator's noise against coloured shapes on black: told apart at once
    assert result["value"] == 1.0 and result["protocol"]["steps"] == 60
    assert result["protocol"]["train_videos_per_class"] == 4 and result["protocol"]["real_clips"] == 8
    control = result["reference"]  # real against real, in the real data column
    assert f"| c2st | 1 | {control:.4g} | classifier train accuracy 1 |" in (run_dir / "eval.md").read_text()
