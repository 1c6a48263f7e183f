"""An opt-in check of FID and FVD with the real networks: run it with the weights files named by
``VIDGAN_INCEPTION_WEIGHTS`` (torch-fidelity's InceptionV3) and ``VIDGAN_I3D_WEIGHTS`` (the
I3D TorchScript); without them each test is skipped with a one-line reason.

    VIDGAN_INCEPTION_WEIGHTS=~/weights-inception-2015-12-05-6726825d.pth \\
    VIDGAN_I3D_WEIGHTS=~/i3d_torchscript.pt pytest -m real_weights tests/metrics

On real synthetic-shapes clips: FID and FVD of a set against itself are 0; shuffling the
frames of each clip leaves FID as it is (it sees frames, not their order) and raises FVD
clearly above its value for two draws of real clips; and FID is torch-fidelity's own
result on the same frames written as PNG files.
"""

from __future__ import annotations

import os

import pytest
import torch
import torch_fidelity
from einops import rearrange
from PIL import Image

from vidgan.data import SyntheticShapes, sample_clips
from vidgan.metrics.base import EvalContext
from vidgan.metrics.fidelity import FID
from vidgan.metrics.fvd import FVD

pytestmark = pytest.mark.real_weights
EXTRACTOR = "inception-v3-compat"  # torch-fidelity's port of the InceptionV3 that FID was defined with


def weights(variable: str) -> str:
    path = os.environ.get(variable)
    if not path:
        pytest.skip(f"set {variable} to the real weights file to run this check")
    return path


class RealClips(torch.nn.Module):
    """A 'generator' of real clips (drawn as the trainer draws them), each clip's frames
    shuffled when ``shuffle``: the same frames, in an order no real motion has."""

    dim_z_category = 0

    def __init__(self, data, shuffle=False):
        super().__init__()
        self.data, self.shuffle = data, shuffle
        self.orders = torch.Generator().manual_seed(5)  # its own draws: the clips are those of shuffle=False

    def sample_videos(self, n, video_length=None, generator=None, labels=None):
        clips, _ = sample_clips(self.data, n, video_length, 1, generator)
        if self.shuffle:
            order = torch.stack([torch.randperm(video_length, generator=self.orders) for _ in range(n)])
            clips = torch.stack([clip[:, o] for clip, o in zip(clips, order)])
        return clips, torch.zeros(n, dtype=torch.int64)


@pytest.fixture(scope="module")
def data():
    return SyntheticShapes(image_size=64, num_videos=200, num_frames=32, min_frames=16)


def context(data, shuffle=False, tmp_path=None):
    """The generated side draws real clips with seed 0 (shuffled or not), the real side with seed 1."""
    return EvalContext(RealClips(data, shuffle), lambda: data, num_videos=32, video_length=16, every_nth=1,
                       seed=0, batch_size=8, device=torch.device("cpu"), out_dir=tmp_path, requested=["fid"])


def itself(ctx):
    ctx.generated = ctx.real  # the same clips on both sides
    return ctx


def test_fvd_is_zero_for_the_same_clips_and_clearly_larger_for_shuffled_frames(data):
    fvd = FVD(weights("VIDGAN_I3D_WEIGHTS"))
    assert fvd(itself(context(data)))["value"] == pytest.approx(0, abs=1e-3)
    two_draws = fvd(context(data))["value"]
    shuffled = fvd(context(data, shuffle=True))["value"]  # the same clips as two_draws', frames shuffled
    assert shuffled > 2 * two_draws, (shuffled, two_draws)


def test_fid_is_zero_for_the_same_frames_and_blind_to_their_order(data):
    fid = FID(EXTRACTOR, weights("VIDGAN_INCEPTION_WEIGHTS"))
    assert fid(itself(context(data)))["value"] == pytest.approx(0, abs=1e-2)
    two_draws = fid(context(data))["value"]
    assert two_draws > 0.1  # two draws of 512 frames differ
    assert fid(context(data, shuffle=True))["value"] == pytest.approx(two_draws, rel=1e-3)


def write_frames(videos: torch.Tensor, folder) -> str:
    """Every frame of uint8 videos ``b 3 t h w`` as a PNG file in ``folder``."""
    folder.mkdir()
    for i, frame in enumerate(rearrange(videos, "b c t h w -> (b t) h w c").numpy()):
        Image.fromarray(frame).save(folder / f"{i:05d}.png")
    return str(folder)


def test_fid_is_torch_fidelitys_own_result_on_the_same_frames_as_png_files(data, tmp_path):
    path = weights("VIDGAN_INCEPTION_WEIGHTS")
    ctx = context(data, tmp_path=tmp_path)
    ours = FID(EXTRACTOR, path)(ctx)["value"]
    theirs = torch_fidelity.calculate_metrics(
        input1=write_frames(ctx.generated()[0], tmp_path / "generated"),
        input2=write_frames(ctx.real()[0], tmp_path / "real"), fid=True, feature_extractor=EXTRACTOR,
        feature_extractor_weights_path=path, batch_size=ctx.batch_size, cuda=False, cache=False,
        verbose=False)["frechet_inception_distance"]
    assert ours == pytest.approx(theirs, rel=1e-6)  # the same frames in the same batches
