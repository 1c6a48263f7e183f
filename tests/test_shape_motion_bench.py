"""The shape-motion benchmark's motion table on clips whose motion is known."""

import torch

from benchmarks.shape_motion.c2st_probe import along, blur, constant_speed, path, speeds
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


def test_the_probe_redraws_a_clip_on_its_own_path_and_at_constant_speed():
    clip = square_clip([(20, 5), (18, 5), (17, 5), (16, 5), (12, 5)])[None]  # fast, slow, fast
    moves = path(clip)
    torch.testing.assert_close(moves[0, :, 0], torch.tensor([0.0, -2, -3, -4, -8]))
    assert torch.equal(along(clip, moves), clip)  # redrawn on its own path: the same clip
    even = constant_speed(clip)
    torch.testing.assert_close(centroids(even)[0][0], torch.tensor([21.5, 19.5, 17.5, 15.5, 13.5]))
    assert torch.equal(even[:, :, -1], clip[:, :, -1])  # the same start and end


def test_the_probe_blur_spreads_a_dot_and_keeps_the_black_background():
    clip = square_clip([(10, 10)])[None]
    blurred = blur(clip)
    assert blurred.shape == clip.shape
    assert blurred[0, 0, 0, 9, 9] > -1 and blurred[0, 0, 0, 0, 0] == -1
    torch.testing.assert_close((blurred + 1).sum(), (clip + 1).sum())  # the light is only spread


def test_speeds_follow_the_main_axis_whichever_way_it_goes():
    up = square_clip([(20, 5), (18, 5), (17, 6), (12, 5)])
    left = square_clip([(5, 20), (5, 17), (6, 16), (5, 15)])
    torch.testing.assert_close(speeds(torch.stack([up, left])), torch.tensor([[2.0, 1, 5], [3, 1, 1]]))
