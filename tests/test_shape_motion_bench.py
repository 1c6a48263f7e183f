"""The shape-motion benchmark's motion table on clips whose motion is known."""

import torch

from benchmarks.shape_motion.motion import centroids, motion_rows


def square_clip(path: list[tuple[int, int]], size: int = 32) -> torch.Tensor:
    """A 4×4 white square on black at the (row, col) of each frame: ``c t h w`` in [-1, 1]."""
    clip = -torch.ones(3, len(path), size, size)
    for t, (r, c) in enumerate(path):
        clip[:, t, r:r + 4, c:c + 4] = 1
    return clip


def test_centroids_follow_the_square():
    y, x = centroids(square_clip([(10, 3), (8, 5)])[None])
    torch.testing.assert_close(y, torch.tensor([[11.5, 9.5]]))
    torch.testing.assert_close(x, torch.tensor([[4.5, 6.5]]))


def test_extents_and_monotone_share_per_class():
    up = [square_clip([(20 - 2 * t, 5) for t in range(8)]) for _ in range(3)]
    up_and_back = square_clip([(20 - 2 * t, 5) for t in range(4)] + [(14 + 2 * t, 5) for t in range(4)])
    left = square_clip([(12, 24 - 3 * t + t % 2) for t in range(8)])  # 2 or 4 px left per frame
    rows = motion_rows(torch.stack([*up, up_and_back, left]), torch.tensor([0, 0, 0, 0, 1]))
    assert rows[0] == {"extent_y": 14.0, "extent_x": 0.0, "monotone": 0.75}
    assert rows[1] == {"extent_y": 0.0, "extent_x": 20.0, "monotone": 1.0}
