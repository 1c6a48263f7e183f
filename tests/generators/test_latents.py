"""The latent-part helpers: shapes, joining, spherical and linear interpolation."""

import math

import pytest
import torch

from vidgan.generators.latents import LatentPart, check_latents, interpolate, join, slerp

CONTENT = LatentPart("content", 4, False, "gaussian")
MOTION = LatentPart("motion", 2, True)


def test_shapes_and_join():
    assert CONTENT.shape(3, 5) == (3, 4) and MOTION.shape(3, 5) == (3, 5, 2)
    content, motion = torch.randn(3, 4), torch.randn(3, 5, 2)
    z = join({"content": CONTENT, "motion": MOTION}, {"content": content, "motion": motion}, 5)
    assert z.shape == (3, 5, 6)
    assert torch.equal(z[:, 2, :4], content) and torch.equal(z[..., 4:], motion)
    check_latents({"content": CONTENT, "motion": MOTION}, {"motion": motion}, 3, 5)  # no error


def test_slerp_endpoints_exact_and_stays_on_the_sphere():
    torch.manual_seed(0)
    a, b = torch.randn(2, 50), torch.randn(2, 50)
    b = b / b.norm(dim=-1, keepdim=True) * a.norm(dim=-1, keepdim=True)  # equal norms
    path = slerp(a, b, torch.linspace(0, 1, 7))
    assert path.shape == (7, 2, 50)
    assert torch.equal(path[0], a) and torch.equal(path[-1], b)
    assert torch.allclose(path.norm(dim=-1), a.norm(dim=-1).expand(7, 2), rtol=1e-5)
    angles = [torch.arccos(torch.nn.functional.cosine_similarity(path[i], path[i + 1], dim=-1)) for i in range(6)]
    assert torch.allclose(torch.stack(angles), angles[0].expand(6, 2), atol=1e-4)  # even steps in angle


def test_slerp_of_parallel_vectors_is_linear():
    a = torch.tensor([1.0, 2.0])
    assert torch.allclose(slerp(a, 3 * a, torch.tensor([0.5]))[0], 2 * a)


def test_interpolate_gaussian_spherically_others_linearly():
    a, b = torch.tensor([1.0, 0.0, 0.0, 0.0]), torch.tensor([0.0, 1.0, 0.0, 0.0])
    middle = interpolate(CONTENT, a, b, 3)[1]
    assert torch.allclose(middle, torch.tensor([math.sqrt(0.5), math.sqrt(0.5), 0, 0]))
    path = interpolate(MOTION, torch.zeros(5, 2), torch.full((5, 2), 4.0), 5)
    assert path.shape == (5, 5, 2) and path[:, 0, 0].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    with pytest.raises(ValueError, match="at least 2 steps"):
        interpolate(MOTION, a, b, 1)
