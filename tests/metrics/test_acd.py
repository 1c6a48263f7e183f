"""ACD and its registered per-frame features."""

import pytest
import torch
from metric_helpers import acd_by_definition

from vidgan.errors import VidganError
from vidgan.metrics.acd import ACD, video_acd
from vidgan.metrics.base import EvalContext, to_uint8
from vidgan.registry import FEATURES, METRICS, Registry, RegistryError


def frame_with_square(colour, size=8, noise=0.0) -> torch.Tensor:
    """``3 h w`` in [-1, 1]: a ``colour`` (0..255) square on black, plus dim background noise."""
    frame = torch.full((3, size, size), -1.0) + noise
    frame[:, 2:6, 2:6] = torch.tensor(colour, dtype=torch.float32)[:, None, None] / 127.5 - 1
    return frame


def test_shape_colour_is_the_mean_colour_of_the_bright_pixels():
    feature = FEATURES.build("shape-colour")
    frames = torch.stack([frame_with_square((200, 40, 0)), frame_with_square((10, 90, 250), noise=0.3)])
    torch.testing.assert_close(feature(frames), torch.tensor([[200.0, 40.0, 0.0], [10.0, 90.0, 250.0]]),
                               atol=0.01, rtol=0)
    empty = torch.full((1, 3, 8, 8), -1.0)
    assert feature(empty).tolist() == [[0.0, 0.0, 0.0]]
    assert FEATURES.build("shape-colour")(torch.full((1, 1, 4, 4), 1.0)).tolist() == [[255.0]]  # grayscale


def test_shape_colour_threshold_is_checked():
    with pytest.raises(VidganError, match="threshold must lie in"):
        FEATURES.build("shape-colour", threshold=1.5)


def test_video_acd_is_the_mean_over_all_frame_pairs():
    a, b = frame_with_square((200, 0, 0)), frame_with_square((200, 30, 40))
    video = torch.stack([a, b, a, b], dim=1)[None]  # 1 3 4 h w
    # pairs (0,1) (0,3) (1,2) (2,3) differ by |(0, 30, 40)| = 50, pairs (0,2) (1,3) by 0
    assert video_acd(to_uint8(video), FEATURES.build("shape-colour")).tolist() == pytest.approx([4 * 50 / 6], abs=1e-4)
    still = torch.stack([a] * 5, dim=1)[None]
    assert video_acd(to_uint8(still), FEATURES.build("shape-colour")).tolist() == [0.0]
    with pytest.raises(VidganError, match="at least 2"):
        video_acd(to_uint8(still[:, :, :1]), FEATURES.build("shape-colour"))


class FixedVideos(torch.nn.Module):
    dim_z_category = 0

    def __init__(self, videos):
        super().__init__()
        self.videos = videos

    def sample_videos(self, n, video_length=None, generator=None, labels=None):
        return self.videos[:n], torch.zeros(n, dtype=torch.int64)


def test_acd_metric_scores_generated_videos_and_the_real_reference(tmp_path):
    from vidgan.data import SyntheticShapes

    a, b = frame_with_square((200, 0, 0)), frame_with_square((200, 30, 40))
    flicker = torch.stack([a, b] * 4, dim=1)[None].expand(4, -1, -1, -1, -1)
    data = SyntheticShapes(image_size=64, num_videos=8, min_frames=8)
    ctx = EvalContext(FixedVideos(flicker), lambda: data, num_videos=4, video_length=8, every_nth=1,
                      seed=0, batch_size=4, device=torch.device("cpu"), out_dir=tmp_path)
    result = METRICS.build("acd")(ctx)
    assert result["value"] == pytest.approx(50 * 16 / 28, abs=1e-4)  # 16 of the 28 pairs differ by 50
    # a shape keeps its colour, but its antialiased edge pixels change from frame to frame
    assert result["reference"] == pytest.approx(acd_by_definition(ctx.real()[0]), rel=1e-5)
    assert result["reference"] > 0.1
    assert result["protocol"]["feature"] == "shape-colour" and result["protocol"]["real_clips"] == 4
    no_reference = ACD(reference=False)(ctx)
    assert "reference" not in no_reference and "real_clips" not in no_reference["protocol"]


def test_a_feature_registered_by_name_is_used(monkeypatch):
    features = Registry("features", "feature")  # a throwaway registry: nothing leaks into the real one
    features.register("test-mean-red", lambda: lambda frames: frames[:, :1].mean((2, 3)) * 100)
    monkeypatch.setattr("vidgan.metrics.acd.FEATURES", features)
    frames = torch.stack([frame_with_square((255, 0, 0))] * 2 + [frame_with_square((0, 0, 0))] * 2, dim=1)[None]
    # mean red of a red square on black: (16 · 1 + 48 · -1) / 64 · 100 = -50; of a black frame -100;
    # 4 of the 6 frame pairs differ by 50
    assert float(video_acd(to_uint8(frames), ACD(feature="test-mean-red").feature)) == pytest.approx(200 / 6, abs=1e-4)


def test_an_unknown_feature_suggests_the_closest():
    with pytest.raises(RegistryError, match="did you mean 'shape-colour'"):
        ACD(feature="shape-color")
