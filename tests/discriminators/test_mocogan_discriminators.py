"""Shapes, input checks and original layer layout of MoCoGAN's five discriminators."""

from __future__ import annotations

import math
import re

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from vidgan.discriminators.mocogan import (
    CategoricalVideoDiscriminator,
    ImageDiscriminator,
    PatchImageDiscriminator,
    PatchVideoDiscriminator,
    VideoDiscriminator,
)
from vidgan.errors import VidganError

FAST = settings(max_examples=10, deadline=None)
batches = st.integers(1, 3)
channels = st.sampled_from([1, 3])
sizes = st.sampled_from([16, 32, 64])
extra_frames = st.integers(0, 4)

CLASSES = {
    "image": ImageDiscriminator,
    "patch-image": PatchImageDiscriminator,
    "video": VideoDiscriminator,
    "categorical-video": CategoricalVideoDiscriminator,
    "patch-video": PatchVideoDiscriminator,
}


def strided_layers(size: int) -> int:
    return int(math.log2(size)) - 2  # down to 4×4


def run(d: nn.Module, shape: tuple[int, ...]):
    with torch.no_grad():
        return d(torch.randn(shape))


# documented shapes --------------------------------------------------------------------
@FAST
@given(b=batches, c=channels, size=sizes)
def test_image_one_logit_per_frame(b, c, size):
    logits, classes = run(ImageDiscriminator(c, size, ndf=4), (b, c, size, size))
    assert logits.shape == (b,) and classes is None


@FAST
@given(b=batches, c=channels, size=sizes)
def test_patch_image_logit_map(b, c, size):
    logits, classes = run(PatchImageDiscriminator(c, size, ndf=4), (b, c, size, size))
    assert logits.shape == (b, size // 16, size // 16) and classes is None


@FAST
@given(b=batches, c=channels, size=sizes, extra=extra_frames)
def test_video_logits_over_time(b, c, size, extra):
    d = VideoDiscriminator(c, size, ndf=4)
    n = strided_layers(size)
    assert d.min_frames == 3 * n + 4
    t = d.min_frames + extra
    logits, classes = run(d, (b, c, t, size, size))
    assert logits.shape == (b, t - 3 * n - 3) and classes is None


@FAST
@given(b=batches, c=channels, size=sizes, extra=extra_frames, k=st.integers(1, 7))
def test_categorical_video_logits_and_class_logits(b, c, size, extra, k):
    d = CategoricalVideoDiscriminator(c, size, ndf=4, dim_categorical=k)
    t = d.min_frames + extra
    logits, classes = run(d, (b, c, t, size, size))
    assert logits.shape == (b, t - 3 * strided_layers(size) - 3)
    assert classes.shape == (b, k)


@FAST
@given(b=batches, c=channels, size=sizes, extra=extra_frames)
def test_patch_video_logit_map(b, c, size, extra):
    d = PatchVideoDiscriminator(c, size, ndf=4)
    assert d.min_frames == 13
    t = 13 + extra
    logits, classes = run(d, (b, c, t, size, size))
    assert logits.shape == (b, t - 12, size // 16, size // 16) and classes is None


def test_categorical_class_logits_are_averaged_over_time():
    torch.manual_seed(0)
    d = CategoricalVideoDiscriminator(1, 16, ndf=2, dim_categorical=3).eval()
    x = torch.randn(2, 1, 12, 16, 16)
    with torch.no_grad():
        raw = d.net(x)[:, :, :, 0, 0]  # b, 1 + k, t'
        logits, classes = d(x)
    assert raw.shape == (2, 4, 3)  # 12 frames at 16×16: t' = 12 - 9
    torch.testing.assert_close(logits, raw[:, 0])
    torch.testing.assert_close(classes, raw[:, 1:].mean(dim=2))


def test_views():
    assert ImageDiscriminator.view == PatchImageDiscriminator.view == "frames"
    assert VideoDiscriminator.view == PatchVideoDiscriminator.view == CategoricalVideoDiscriminator.view == "clips"


# errors ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(CLASSES))
@pytest.mark.parametrize("size", [8, 48, 12])
def test_unsupported_image_size(name, size):
    who = "video" if name == "categorical-video" else name  # it checks as the video D it extends
    with pytest.raises(VidganError, match=f"{who} supports image sizes that are powers of two >= 16.*got {size}"):
        CLASSES[name](image_size=size, ndf=4)


@FAST
@given(size=sizes, c=channels, short=st.integers(1, 5))
def test_too_short_clips(size, c, short):
    for d in (VideoDiscriminator(c, size, ndf=2), CategoricalVideoDiscriminator(c, size, ndf=2),
              PatchVideoDiscriminator(c, size, ndf=2)):
        t = max(d.min_frames - short, 1)
        with pytest.raises(ValueError, match=f"t >= {d.min_frames}; got"):
            d(torch.randn(1, c, t, size, size))


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_wrong_channels_size_or_layout(name):
    d = CLASSES[name](channels=3, image_size=16, ndf=2)
    frames = d.view == "frames"
    good = (2, 3, 16, 16) if frames else (2, 3, d.min_frames, 16, 16)
    run(d, good)
    wrong_channels = (2, 1, *good[2:])
    wrong_size = (*good[:-2], 32, 32)
    wrong_layout = (2, 3, d.min_frames, 16, 16) if frames else (2, 3, 16, 16)
    for shape in (wrong_channels, wrong_size, wrong_layout, (3, 16, 16)):
        with pytest.raises(ValueError, match=r"expects b c .*c=3, h=w=16.*got " + re.escape(str(shape))):
            d(torch.randn(shape))


def test_categorical_needs_a_category():
    with pytest.raises(ValueError, match="dim_categorical >= 1"):
        CategoricalVideoDiscriminator(dim_categorical=0)


# instance noise ------------------------------------------------------------------------------
def test_instance_noise_only_while_training():
    torch.manual_seed(0)
    quiet = ImageDiscriminator(1, 16, ndf=2)
    noisy = ImageDiscriminator(1, 16, ndf=2, noise_sigma=0.5)
    noisy.load_state_dict(quiet.state_dict())
    x = torch.randn(2, 1, 16, 16)
    quiet.eval(), noisy.eval()
    torch.testing.assert_close(noisy(x)[0], quiet(x)[0])
    quiet.train(), noisy.train()
    assert not torch.allclose(noisy(x)[0], quiet(x)[0])


# the original's layers at 64×64 -------------------------------------------------------------
def conv_layout(d: nn.Module) -> list[tuple]:
    convs = [m for m in d.modules() if isinstance(m, (nn.Conv2d, nn.Conv3d))]
    assert all(m.bias is None for m in convs)
    return [tuple(m.weight.shape) for m in convs]


def conv_strides(d: nn.Module) -> list[tuple]:
    return [(m.stride, m.padding) for m in d.modules() if isinstance(m, (nn.Conv2d, nn.Conv3d))]


def norms(d: nn.Module) -> list[int]:
    return [m.num_features for m in d.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


K2, K3 = (4, 4), (4, 4, 4)
S2, S2_HEAD = ((2, 2), (1, 1)), ((1, 1), (0, 0))
S3, S3_HEAD = ((1, 2, 2), (0, 1, 1)), ((1, 1, 1), (0, 0, 0))
ORIGINAL = {  # ndf=64, 3 channels: conv weight shapes, (stride, padding), batch-norm widths, output
    "image": ([(64, 3, *K2), (128, 64, *K2), (256, 128, *K2), (512, 256, *K2), (1, 512, *K2)],
              [S2] * 4 + [S2_HEAD], [128, 256, 512], (2,)),
    "patch-image": ([(64, 3, *K2), (128, 64, *K2), (256, 128, *K2), (1, 256, *K2)],
                    [S2] * 4, [128, 256], (2, 4, 4)),
    "video": ([(64, 3, *K3), (128, 64, *K3), (256, 128, *K3), (512, 256, *K3), (1, 512, *K3)],
              [S3] * 4 + [S3_HEAD], [128, 256, 512], (2, 1)),
    "categorical-video": ([(64, 3, *K3), (128, 64, *K3), (256, 128, *K3), (512, 256, *K3), (7, 512, *K3)],
                          [S3] * 4 + [S3_HEAD], [128, 256, 512], (2, 1)),
    "patch-video": ([(64, 3, *K3), (128, 64, *K3), (256, 128, *K3), (1, 256, *K3)],
                    [S3] * 4, [128, 256], (2, 4, 4, 4)),
}


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_default_layers_match_the_original(name):
    weights, strides, widths, output = ORIGINAL[name]
    with torch.device("meta"):  # shapes only: no weights allocated
        d = CLASSES[name]()
    # the output shape does not depend on the widths: run a narrow twin
    shape = (2, 3, 16, 64, 64) if d.view == "clips" else (2, 3, 64, 64)
    logits, _ = run(CLASSES[name](ndf=1), shape)
    assert conv_layout(d) == weights
    assert conv_strides(d) == strides
    assert norms(d) == widths  # after every convolution but the first and the last
    slopes = {m.negative_slope for m in d.modules() if isinstance(m, nn.LeakyReLU)}
    assert slopes == {0.2} and sum(isinstance(m, nn.LeakyReLU) for m in d.modules()) == len(weights) - 1
    assert tuple(logits.shape) == output


# norm option -----------------------------------------------------------------------------
def _inputs(name: str, size: int = 32) -> torch.Tensor:
    return torch.randn(2, 3, 16, size, size) if CLASSES[name].view == "clips" else torch.randn(2, 3, size, size)


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_spectral_norm_replaces_batch_norm_and_bounds_every_weight(name):
    torch.manual_seed(0)
    d = CLASSES[name](image_size=32, ndf=8, norm="spectral")
    assert not [m for m in d.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    convs = [m for m in d.modules() if isinstance(m, (nn.Conv2d, nn.Conv3d))]
    assert convs and all(hasattr(m, "parametrizations") for m in convs)  # head included
    d.train()
    for _ in range(30):  # power iterations converge while training
        d(_inputs(name))
    for m in convs:  # the weight in use has largest singular value ~1
        sigma = torch.linalg.matrix_norm(m.weight.detach().flatten(1), ord=2)
        assert sigma == pytest.approx(1.0, abs=0.05)
    reference = CLASSES[name](image_size=32, ndf=8)
    assert [o.shape for o in d(_inputs(name)) if o is not None] == \
        [o.shape for o in reference(_inputs(name)) if o is not None]


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_norm_none_has_no_batch_norm_and_plain_weights(name):
    d = CLASSES[name](image_size=32, ndf=8, norm="none")
    assert not [m for m in d.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    assert not [m for m in d.modules() if hasattr(m, "parametrizations")]


def test_unknown_norm_is_a_one_line_error():
    with pytest.raises(VidganError, match="norm must be one of batch, spectral, none, got 'layer'"):
        VideoDiscriminator(image_size=32, ndf=8, norm="layer")
