"""FID, KID and IS through torch-fidelity, with a tiny feature extractor registered in conftest."""

import pytest
import torch
from einops import rearrange
from metric_helpers import (TINY_EXTRACTOR, RealVideos, TinyExtractor, inception_score, kernel_inception_distance,
                            scipy_frechet)

from vidgan.data import SyntheticShapes
from vidgan.errors import VidganError
from vidgan.metrics.base import EvalContext
from vidgan.metrics.fidelity import FID, INCEPTION, IS, KID


class Flat(torch.nn.Module):
    """A 'generator' of flat frames: each of a random colour, or all of one (``still``)."""

    dim_z_category = 0

    def __init__(self, still=False):
        super().__init__()
        self.still = still

    def sample_videos(self, n, video_length=None, generator=None, labels=None):
        colours = torch.full((n, 3, video_length, 1, 1), 0.4) if self.still else \
            torch.rand(n, 3, video_length, 1, 1, generator=generator) * 2 - 1
        return colours.expand(-1, -1, -1, 16, 16), torch.zeros(n, dtype=torch.int64)


def context(tmp_path, generator, data, requested=()):
    return EvalContext(generator, lambda: data, num_videos=10, video_length=6, every_nth=1, seed=0,
                       batch_size=8, device=torch.device("cpu"), out_dir=tmp_path, requested=list(requested))


@pytest.fixture
def data():
    return SyntheticShapes(image_size=16, num_videos=20, num_frames=6, min_frames=6)


def features(videos, layer="features"):
    """The tiny extractor's features of every frame of uint8 videos, computed here."""
    with torch.no_grad():
        return TinyExtractor(TINY_EXTRACTOR, [layer])(rearrange(videos, "b c t h w -> (b t) c h w"))[0]


def test_fid_is_torch_fidelitys_frechet_distance_of_all_frames(tmp_path, data):
    ctx = context(tmp_path, RealVideos(data, offset=0.3), data, ["fid"])
    result = FID(feature_extractor=TINY_EXTRACTOR)(ctx)
    fake, real = features(ctx.generated()[0]), features(ctx.real()[0])
    assert result["value"] == pytest.approx(scipy_frechet(fake.double().numpy(), real.double().numpy()), rel=1e-4)
    protocol = result["protocol"]
    assert protocol["frames"] == 60 and protocol["feature_extractor"] == TINY_EXTRACTOR
    assert protocol["weights"] is None and protocol["library"].startswith("torch-fidelity")


def test_identical_frames_give_zero_fid_and_kid(tmp_path, data):
    ctx = context(tmp_path, RealVideos(data), data, ["fid", "kid"])
    ctx.generated = ctx.real
    assert FID(TINY_EXTRACTOR)(ctx)["value"] == pytest.approx(0, abs=1e-6)
    # KID's unbiased estimator is not exactly 0 on identical sets: its cross term keeps the diagonal
    kid = KID(TINY_EXTRACTOR)(ctx)["value"]
    real = features(ctx.real()[0]).numpy()
    assert kid == pytest.approx(kernel_inception_distance(real, real, 100, 60, seed=0)[0], rel=1e-3)
    assert kid == pytest.approx(0, abs=1e-3)


def test_fid_kid_and_is_share_one_feature_pass_and_equal_their_definitions(tmp_path, data):
    ctx = context(tmp_path, RealVideos(data, offset=0.2), data, ["fid", "kid", "is"])
    before = TinyExtractor.builds
    fid, kid, inception = (metric(TINY_EXTRACTOR)(ctx) for metric in (FID, KID, IS))
    assert TinyExtractor.builds == before + 1
    fake, real = features(ctx.generated()[0]), features(ctx.real()[0])
    assert fid["value"] == pytest.approx(scipy_frechet(fake.double().numpy(), real.double().numpy()), rel=1e-4)
    # subsets of all 60 frames: every subset is the whole set, so the std is only rounding
    mean, std = kernel_inception_distance(fake.numpy(), real.numpy(), 100, 60, seed=0)
    assert kid["value"] == pytest.approx(mean, rel=1e-4) and kid["std"] == pytest.approx(std, abs=1e-4 * mean)
    assert kid["value"] > 0.01  # far from 0: the comparison is not one of two zeros
    mean, std = inception_score(features(ctx.generated()[0], "logits_unbiased").numpy(), 10, seed=0)
    assert inception["value"] == pytest.approx(mean, rel=1e-6) and inception["std"] == pytest.approx(std, rel=1e-4)
    assert inception["protocol"]["isc_splits"] == 10
    assert kid["protocol"]["kid_subset_size"] == 60 and kid["protocol"]["kid_subsets"] == 100
    assert "real_clips" not in inception["protocol"]


def test_kid_subsets_and_their_std_are_torch_fidelitys_draws(tmp_path, data, monkeypatch):
    monkeypatch.setattr("vidgan.metrics.fidelity.KID_SUBSET_SIZE", 20)  # 20 of the 60 frames: subsets differ
    ctx = context(tmp_path, RealVideos(data, offset=0.2), data, ["kid"])
    kid = KID(TINY_EXTRACTOR)(ctx)
    mean, std = kernel_inception_distance(features(ctx.generated()[0]).numpy(), features(ctx.real()[0]).numpy(),
                                          100, 20, seed=0)
    assert kid["value"] == pytest.approx(mean, rel=1e-4) and kid["std"] == pytest.approx(std, rel=1e-3)
    assert kid["std"] > 0.01 * kid["value"] and kid["protocol"]["kid_subset_size"] == 20


def test_is_alone_reads_no_real_data(tmp_path, data):
    def no_data():
        raise AssertionError("real data read")

    ctx = EvalContext(Flat(), no_data, num_videos=10, video_length=6, every_nth=1, seed=3,
                      batch_size=8, device=torch.device("cpu"), out_dir=tmp_path, requested=["is"])
    result = IS(TINY_EXTRACTOR)(ctx)
    mean, std = inception_score(features(ctx.generated()[0], "logits_unbiased").numpy(), 10, seed=3)
    assert result["value"] == pytest.approx(mean, rel=1e-6) and result["std"] == pytest.approx(std, rel=1e-4)
    assert result["value"] > 1.05  # random colours: the frames' predictions differ


def test_is_of_frames_with_one_prediction_is_one(tmp_path, data):
    ctx = context(tmp_path, Flat(still=True), data, ["is"])
    result = IS(TINY_EXTRACTOR)(ctx)
    assert result["value"] == pytest.approx(1, abs=1e-9) and result["std"] == pytest.approx(0, abs=1e-9)


def test_inception_weights_are_never_downloaded(monkeypatch, tmp_path):
    def download(*args, **kwargs):
        raise AssertionError("tried to download")

    monkeypatch.setattr("torch.hub.load_state_dict_from_url", download)
    with pytest.raises(VidganError, match=rf"{INCEPTION}.*inception_weights=PATH.*VIDGAN_INCEPTION_WEIGHTS"):
        FID()
    wrong = tmp_path / INCEPTION
    wrong.write_bytes(b"not the weights")
    with pytest.raises(VidganError, match=r"has SHA-256 .*not that of the InceptionV3 weights.*6726825d"):
        FID(inception_weights=str(wrong))
    monkeypatch.setenv("VIDGAN_INCEPTION_WEIGHTS", str(wrong))
    with pytest.raises(VidganError, match="6726825d"):
        KID()


def test_an_unknown_extractor_lists_the_registered_ones():
    with pytest.raises(VidganError, match=rf"no feature extractor 'nope'; registered: .*{TINY_EXTRACTOR}"):
        FID(feature_extractor="nope")
