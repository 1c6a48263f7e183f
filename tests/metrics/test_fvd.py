"""FVD: the Fréchet distance against scipy, and the pipeline with a stand-in I3D in TorchScript."""

from pathlib import Path

import numpy as np
import pytest
import torch
from metric_helpers import RealVideos, scipy_frechet, stand_in_features

from vidgan.data import SyntheticShapes
from vidgan.errors import VidganError
from vidgan.metrics.base import EvalContext, sha256
from vidgan.metrics.fvd import FVD, frechet_distance, gaussian


@pytest.mark.parametrize("seed", range(5))
def test_frechet_distance_matches_scipy_on_small_gaussians(seed):
    rng = np.random.default_rng(seed)
    d = int(rng.integers(2, 7))
    mix = rng.normal(size=(d, d))
    a = rng.normal(size=(200, d)) @ mix
    b = rng.normal(size=(150, d)) @ (mix + 0.3 * rng.normal(size=(d, d))) + rng.normal(size=d)
    ours = frechet_distance(*gaussian(torch.from_numpy(a)), *gaussian(torch.from_numpy(b)))
    assert ours == pytest.approx(scipy_frechet(a, b), rel=1e-6, abs=1e-8)


def test_gaussian_is_numpys_mean_and_unbiased_covariance():
    features = torch.randn(30, 4, generator=torch.Generator().manual_seed(0))
    mu, sigma = gaussian(features)
    assert mu.dtype == torch.float64
    np.testing.assert_allclose(mu.numpy(), features.double().numpy().mean(0), rtol=1e-12)
    np.testing.assert_allclose(sigma.numpy(), np.cov(features.double().numpy(), rowvar=False), rtol=1e-12)
    with pytest.raises(VidganError, match="at least 2 samples"):
        gaussian(features[:1])


def test_frechet_distance_of_a_distribution_to_itself_is_zero_also_when_singular():
    features = torch.randn(5, 8, generator=torch.Generator().manual_seed(1))  # 5 samples in 8-d: rank 4
    assert frechet_distance(*gaussian(features), *gaussian(features)) == pytest.approx(0, abs=1e-9)
    shifted = features + 2.0
    assert frechet_distance(*gaussian(features), *gaussian(shifted)) == pytest.approx(4 * 8, rel=1e-6)


def context(generator, data, tmp_path: Path, num_videos: int = 24) -> EvalContext:
    return EvalContext(generator, lambda: data, num_videos=num_videos, video_length=8, every_nth=1,
                       seed=0, batch_size=8, device=torch.device("cpu"), out_dir=tmp_path)


def test_fvd_pipeline_with_a_stand_in_network(tmp_path, i3d_file):
    data = SyntheticShapes(image_size=16, num_videos=64, num_frames=8, min_frames=8)
    metric = FVD(str(i3d_file))
    ctx = context(RealVideos(data), data, tmp_path)
    real_like = metric(ctx)
    fake, real = stand_in_features(ctx.generated()[0]), stand_in_features(ctx.real()[0])
    assert real_like["value"] == pytest.approx(scipy_frechet(fake, real), rel=1e-4)
    gray = RealVideos(data)
    gray.sample_videos = lambda n, video_length, generator, labels: (
        torch.zeros(n, 3, video_length, 16, 16), torch.zeros(n))
    gray_ctx = context(gray, data, tmp_path)
    bad = metric(gray_ctx)
    # every grey clip has the same features (no spread, no change): a Gaussian of zero covariance at
    # that point, so the distance is the squared distance of the means plus the real covariance's trace
    point = stand_in_features(gray_ctx.generated()[0])
    assert (point == point[0]).all() and (point[0, 3:] == 0).all()
    expected = ((real.mean(0) - point[0]) ** 2).sum() + np.trace(np.cov(real, rowvar=False))
    assert bad["value"] == pytest.approx(expected, rel=1e-5)
    assert real_like["value"] < 0.05 * bad["value"]
    protocol = bad["protocol"]
    assert protocol["weights_sha256"] == sha256(i3d_file) and protocol["weights"] == str(i3d_file)
    assert protocol["num_videos"] == 24 and protocol["frames_per_video"] == 8 and protocol["features"] == 9


def test_fvd_of_identical_samples_is_zero(tmp_path, i3d_file):
    data = SyntheticShapes(image_size=16, num_videos=8, num_frames=8, min_frames=8)
    ctx = context(RealVideos(data), data, tmp_path, num_videos=6)
    ctx.generated = ctx.real  # the same clips on both sides
    assert FVD(str(i3d_file))(ctx)["value"] == pytest.approx(0, abs=1e-6)


def test_missing_weights_name_the_file_and_how_to_give_it(tmp_path):
    with pytest.raises(VidganError, match=r"i3d_torchscript\.pt.*i3d_weights=PATH.*VIDGAN_I3D_WEIGHTS"):
        FVD()
    with pytest.raises(VidganError, match=r"i3d_weights=.*nowhere\.pt: no such file.*i3d_torchscript\.pt"):
        FVD(str(tmp_path / "nowhere.pt"))


def test_weights_from_the_environment(monkeypatch, i3d_file):
    monkeypatch.setenv("VIDGAN_I3D_WEIGHTS", str(i3d_file))
    assert FVD().path == i3d_file


def test_a_state_dict_is_not_taken_for_torchscript(tmp_path):
    path = tmp_path / "i3d.pt"
    torch.save({"weight": torch.zeros(3)}, path)
    data = SyntheticShapes(image_size=16, num_videos=8, num_frames=8, min_frames=8)
    with pytest.raises(VidganError, match=r"is not a TorchScript archive.*i3d_torchscript\.pt"):
        FVD(str(path))(context(RealVideos(data), data, tmp_path, num_videos=4))
