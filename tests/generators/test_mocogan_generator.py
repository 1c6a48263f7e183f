"""Shapes and laws of the DCGAN frame decoder and the MoCoGAN video generator."""

from __future__ import annotations

import pytest
import torch
from einops import rearrange
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.nn import functional as F

from vidgan.errors import VidganError
from vidgan.generators.dcgan import DCGANFrameDecoder, ModulatedFrameDecoder, ResizeConvFrameDecoder
from vidgan.generators.mocogan import MoCoGANGenerator, MoCoGANWarpGenerator
from vidgan.registry import GENERATORS

FAST = settings(max_examples=10, deadline=None)
batches = st.integers(1, 3)
lengths = st.integers(1, 12)
channels = st.sampled_from([1, 3])
sizes = st.sampled_from([16, 32, 64])
categories = st.sampled_from([0, 1, 4])
seeds = st.integers(0, 2**31 - 1)


def seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def tiny_generator(**kwargs) -> MoCoGANGenerator:
    defaults = dict(image_size=16, ngf=4, dim_z_content=6, dim_z_motion=3, video_length=5)
    torch.manual_seed(0)
    return MoCoGANGenerator(**{**defaults, **kwargs})


# frame decoder ------------------------------------------------------------------------------
@FAST
@given(b=batches, c=channels, size=sizes, dim_z=st.integers(1, 20))
def test_decoder_frames_b_c_h_w_are_tanh_of_the_last_transposed_convolution(b, c, size, dim_z):
    decoder = DCGANFrameDecoder(dim_z=dim_z, channels=c, image_size=size, ngf=4)
    z = torch.randn(b, dim_z)
    frames = decoder(z)
    assert frames.shape == (b, c, size, size)
    hidden = decoder.net[:-1](rearrange(z, "b d -> b d 1 1"))
    last = F.conv_transpose2d(hidden, decoder.net[-1].conv.weight, stride=2, padding=1)
    torch.testing.assert_close(frames, torch.tanh(last))


@pytest.mark.parametrize("size", [0, 8, 12, 48, 100])
def test_decoder_unsupported_image_size(size):
    with pytest.raises(VidganError, match=f"dcgan-frames supports image sizes .* got {size}"):
        DCGANFrameDecoder(image_size=size, ngf=4)


@pytest.mark.parametrize("shape", [(2, 7), (2, 8, 1), (8,)])
def test_decoder_wrong_latent_shape(shape):
    with pytest.raises(ValueError, match=r"expects latents b 8"):
        DCGANFrameDecoder(dim_z=8, ngf=4, image_size=16)(torch.randn(shape))


def test_decoder_layers_match_the_original_at_64():
    decoder = DCGANFrameDecoder(dim_z=50 + 6 + 10, channels=3, image_size=64, ngf=64)
    convs = [m for m in decoder.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert [tuple(m.weight.shape) for m in convs] == [
        (66, 512, 4, 4), (512, 256, 4, 4), (256, 128, 4, 4), (128, 64, 4, 4), (64, 3, 4, 4)]
    assert [(m.stride, m.padding) for m in convs] == [((1, 1), (0, 0))] + [((2, 2), (1, 1))] * 4
    assert all(m.bias is None for m in convs)
    norms = [m.num_features for m in decoder.modules() if isinstance(m, nn.BatchNorm2d)]
    assert norms == [512, 256, 128, 64]
    assert sum(isinstance(m, nn.ReLU) for m in decoder.modules()) == 4
    assert isinstance(decoder.net[-1].act, nn.Tanh)


@FAST
@given(b=batches, c=channels, size=sizes, dim_z=st.integers(1, 20))
def test_resize_conv_decoder_frames_b_c_h_w_are_tanh_of_the_last_resize_and_convolution(b, c, size, dim_z):
    decoder = ResizeConvFrameDecoder(dim_z=dim_z, channels=c, image_size=size, ngf=4)
    z = torch.randn(b, dim_z)
    frames = decoder(z)
    assert frames.shape == (b, c, size, size)
    hidden = F.interpolate(decoder.net[:-1](rearrange(z, "b d -> b d 1 1")), scale_factor=2, mode="nearest")
    last = F.conv2d(hidden, decoder.net[-1].conv[1].weight, padding=1)
    torch.testing.assert_close(frames, torch.tanh(last))


def test_resize_conv_decoder_resizes_then_convolves():
    decoder = ResizeConvFrameDecoder(dim_z=66, image_size=64, ngf=64)
    assert isinstance(decoder.net[0].conv, nn.ConvTranspose2d)  # 1×1 -> 4×4 as in dcgan-frames
    ups = [block.conv for block in decoder.net[1:]]
    assert all(isinstance(u[0], nn.Upsample) and u[0].scale_factor == 2 and u[0].mode == "nearest" for u in ups)
    assert [(tuple(u[1].weight.shape), u[1].padding, u[1].bias) for u in ups] == [
        ((256, 512, 3, 3), (1, 1), None), ((128, 256, 3, 3), (1, 1), None),
        ((64, 128, 3, 3), (1, 1), None), ((3, 64, 3, 3), (1, 1), None)]
    with pytest.raises(VidganError, match="resize-conv-frames supports image sizes"):
        ResizeConvFrameDecoder(image_size=48)


def test_resize_conv_upsampling_draws_no_checkerboard():
    """A flat input stays flat through resize-conv; a transposed convolution's output
    alternates with the parity of the pixel (random weights, interior pixels)."""
    torch.manual_seed(0)
    flat = torch.ones(1, 8, 6, 6)
    resized = ResizeConvFrameDecoder(ngf=4, image_size=16).upsampling(8, 4)(flat)[..., 1:-1, 1:-1]
    transposed = DCGANFrameDecoder(ngf=4, image_size=16).upsampling(8, 4)(flat)[..., 1:-1, 1:-1]
    assert resized.shape == transposed.shape == (1, 4, 10, 10)
    torch.testing.assert_close(resized, resized[..., :1, :1].expand_as(resized))
    assert (transposed[..., 0::2, 0::2] - transposed[..., 1::2, 1::2]).abs().min() > 1e-4



def test_modulated_decoder_starts_as_dcgan_frames_and_its_content_code_sets_each_norm_s_scale_and_shift():
    torch.manual_seed(0)
    modulated = ModulatedFrameDecoder(dim_z=12, image_size=16, ngf=4, dim_style=5)
    torch.manual_seed(0)
    plain = DCGANFrameDecoder(dim_z=12, image_size=16, ngf=4)
    z = torch.randn(3, 12)
    torch.testing.assert_close(modulated(z), plain(z))  # the maps start at scale 1, shift 0
    with torch.no_grad():
        for style, block in zip(modulated.styles, [b for b in plain.net if isinstance(b.norm, nn.BatchNorm2d)]):
            style.weight.zero_()  # a constant style: scale 1 + a, shift b for every sample ...
            a, b = torch.randn(block.norm.num_features), torch.randn(block.norm.num_features)
            style.bias.copy_(torch.cat([a, b]))
            block.norm.weight.copy_(1 + a)  # ... is batch norm's own scale and shift
            block.norm.bias.copy_(b)
    torch.testing.assert_close(modulated(z), plain(z))
    with torch.no_grad():
        modulated.styles[-1].weight.normal_()
    moved = z.clone()
    moved[0, 5:] += 1.0  # the same content, another motion: the first layer sees it
    changed = z.clone()
    changed[0, :5] += 1.0  # another content
    assert not torch.allclose(modulated(moved)[0], modulated(z)[0])
    assert not torch.allclose(modulated(changed)[0], modulated(moved)[0])


@pytest.mark.parametrize("name", ["mocogan", "mocogan-warp", "layered", "flow"])
def test_video_generators_tell_a_modulated_decoder_the_content_code_s_size(name):
    g = GENERATORS.build(name, image_size=16, ngf=4, dim_z_content=7, dim_z_category=2, decoder="modulated-frames")
    decoders = [m for m in g.modules() if isinstance(m, ModulatedFrameDecoder)]
    assert decoders and all(d.dim_style == 7 and d.styles[0].in_features == 7 for d in decoders)
    assert g.sample_videos(2, 3)[0].shape == (2, 3, 3, 16, 16)


def test_modulated_decoder_needs_a_style_within_the_latent():
    with pytest.raises(ValueError, match="modulated-frames: dim_style must be from 1 to dim_z .12., got 20"):
        ModulatedFrameDecoder(dim_z=12, image_size=16, ngf=4, dim_style=20)

# video generator -------------------------------------------------------------------------------
@FAST
@given(b=batches, t=lengths, c=channels, size=sizes, k=categories)
def test_videos_b_c_t_h_w_any_length(b, t, c, size, k):
    g = tiny_generator(channels=c, image_size=size, dim_z_category=k).eval()
    videos, labels = g.sample_videos(b, t, seeded(0))
    assert videos.shape == (b, c, t, size, size)
    z, _ = g.sample_latents(b, t, seeded(0))  # the same draws: each frame is its latent decoded alone
    frames = torch.stack([g.decoder(z[:, i]) for i in range(t)], dim=2)
    torch.testing.assert_close(videos, frames)
    assert labels.shape == (b,) and labels.dtype == torch.int64
    assert 0 <= labels.min() and labels.max() < max(k, 1)


def test_default_video_length():
    g = tiny_generator(video_length=7)
    assert g.sample_videos(2)[0].shape == (2, 3, 7, 16, 16)


@FAST
@given(b=batches, t=lengths, k=categories, seed=seeds)
def test_latents_content_fixed_category_one_hot_motion_moving(b, t, k, seed):
    g = tiny_generator(dim_z_category=k)
    z, labels = g.sample_latents(b, t, seeded(seed))
    assert z.shape == (b, t, 6 + k + 3)
    content, category, motion = z[..., :6], z[..., 6:6 + k], z[..., 6 + k:]
    assert torch.equal(content, content[:, :1].expand_as(content))
    if k:
        assert torch.equal(category, nn.functional.one_hot(labels, k).float()[:, None].expand(b, t, k))
    if t > 1:
        assert not torch.equal(motion[:, 0], motion[:, 1])


def test_requested_labels_are_used():
    g = tiny_generator(dim_z_category=4)
    labels = torch.tensor([3, 0, 2])
    z, got = g.sample_latents(3, 2, labels=labels)
    assert torch.equal(got, labels)
    assert torch.equal(z[:, 0, 6:10].argmax(dim=1), labels)
    assert torch.equal(g.sample_videos(3, 2, labels=labels)[1], labels)


@FAST
@given(seed=seeds, t=lengths)
def test_seeded_sampling_is_reproducible(seed, t):
    g = tiny_generator(dim_z_category=2).eval()
    with torch.no_grad():
        a, la = g.sample_videos(2, t, seeded(seed))
        b, lb = g.sample_videos(2, t, generator=seeded(seed))
        c, _ = g.sample_videos(2, t, generator=seeded(seed + 1))
    assert torch.equal(a, b) and torch.equal(la, lb)
    assert not torch.equal(a, c)


def test_gru_motion_is_reproducible_and_seed_dependent():
    g = tiny_generator()
    m1 = g.motion(2, 6, seeded(5))
    assert torch.equal(m1, g.motion(2, 6, seeded(5)))
    assert not torch.allclose(m1, g.motion(2, 6, seeded(6)))


@FAST
@given(n=st.integers(1, 4), c=channels, size=sizes, k=categories, seed=seeds)
def test_sample_images_are_frames_of_generated_videos(n, c, size, k, seed):
    # eval mode: batch norm uses running statistics, so a frame does not depend on its batch
    g = tiny_generator(channels=c, image_size=size, dim_z_category=k).eval()
    with torch.no_grad():
        images, labels = g.sample_images(n, seeded(seed))
        videos, video_labels = g.sample_videos(n, g.video_length, seeded(seed))
    assert images.shape == (n, c, size, size)
    assert labels.shape == (n,) and labels.dtype == torch.int64
    # the same seed draws the same latent videos; each image is one frame of its own video
    assert torch.equal(labels, video_labels)
    for i in range(n):
        distances = (videos[i] - images[i][:, None]).abs().amax(dim=(0, 2, 3))  # one per frame
        assert distances.min() < 1e-5, f"image {i} is no frame of video {i}"


def test_sample_images_use_every_frame_position():
    g = tiny_generator(video_length=3).eval()
    with torch.no_grad():
        images, _ = g.sample_images(60, seeded(0))
        videos, _ = g.sample_videos(60, 3, seeded(0))
    positions = [(videos[i] - images[i][:, None]).abs().amax(dim=(0, 2, 3)).argmin().item() for i in range(60)]
    assert set(positions) == {0, 1, 2}


def test_generator_gradients_reach_motion_and_decoder():
    g = tiny_generator(dim_z_category=2)
    videos, _ = g.sample_videos(2, 3)
    images, _ = g.sample_images(2)
    (videos.sum() + images.sum()).backward()
    assert all(p.grad is not None for p in g.parameters())
    assert g.motion.gru.weight_hh.grad.abs().sum() > 0


@pytest.mark.parametrize("size", [8, 48])
def test_generator_unsupported_image_size(size):
    with pytest.raises(VidganError, match=f"got {size}"):
        MoCoGANGenerator(image_size=size, ngf=4)


def test_generator_layers_match_the_original_at_defaults():
    g = MoCoGANGenerator(dim_z_category=6)  # 50 + 6 + 10, ngf=64, 64×64
    assert (g.motion.gru.input_size, g.motion.gru.hidden_size) == (10, 10)
    convs = [m for m in g.decoder.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert [tuple(m.weight.shape) for m in convs] == [
        (66, 512, 4, 4), (512, 256, 4, 4), (256, 128, 4, 4), (128, 64, 4, 4), (64, 3, 4, 4)]
    assert sum(p.numel() for p in g.parameters()) == (
        3 * (10 * 10 * 2 + 2 * 10)  # GRU cell: three gates, input and hidden weights and biases
        + sum(m.weight.numel() for m in convs) + 2 * (512 + 256 + 128 + 64))


# mocogan-warp ------------------------------------------------------------------------------
def tiny_warp(**kwargs) -> MoCoGANWarpGenerator:
    defaults = dict(image_size=16, ngf=4, dim_z_content=6, dim_z_category=3, dim_z_motion=3, video_length=5)
    torch.manual_seed(0)
    return MoCoGANWarpGenerator(**{**defaults, **kwargs})


def test_warp_decoder_sees_the_content_only():
    g = tiny_warp()
    assert g.decoder.dim_z == 6
    assert tiny_generator(dim_z_category=3).decoder.dim_z == 6 + 3 + 3


def test_warp_without_shift_gives_still_videos_and_starts_moving():
    g = tiny_warp()
    videos, _ = g.sample_videos(2, 7, seeded(0))
    assert videos.shape == (2, 3, 7, 16, 16)
    assert not torch.equal(videos, videos[:, :, :1].expand_as(videos))  # random shifts from the start
    with torch.no_grad():
        g.shift[-1].weight.zero_()
    videos, _ = g.sample_videos(2, 7, seeded(0))
    assert torch.equal(videos, videos[:, :, :1].expand_as(videos))


def test_warp_translation_moves_the_image_by_whole_pixels():
    g = tiny_warp()
    with torch.no_grad():  # category 0's head: x shift of a quarter of the half-width (2 px) at motion [1, 0, 0]
        g.shift[0].weight.copy_(torch.eye(g.shift[0].out_features, 3))
        g.shift[0].bias.zero_()
        g.shift[2].weight.zero_()
        g.shift[2].weight[0, 0] = torch.atanh(torch.tensor(0.25))
    z, _ = g.sample_latents(1, 2, seeded(1))
    z[:, :, -6:-3] = torch.tensor([1.0, 0, 0])  # category 0
    z[:, :, -3:] = torch.tensor([[0.0, 0, 0], [1.0, 0, 0]])
    video = g(z)[0]
    still, moved = video[:, 0], video[:, 1]
    # sampling point x + 2 px: the content moves 2 px left, background (-1) enters on the right
    assert torch.allclose(moved[:, :, :-2], still[:, :, 2:], atol=1e-5)
    assert torch.equal(moved[:, :, -2:], torch.full_like(moved[:, :, -2:], -1))


def test_warp_frames_are_one_image_shifted():
    g = tiny_warp()
    with torch.no_grad():
        g.shift[-1].weight.normal_(0, 0.3)
    videos, _ = g.sample_videos(3, 6, seeded(2))
    image = g.decoder(g.sample_latents(3, 6, seeded(2))[0][:, 0, :6])
    # bilinear resampling mixes the image's values with the background: never beyond them
    lo = torch.minimum(image.amin((2, 3)), torch.tensor(-1.0))
    hi = image.amax((2, 3))
    assert (videos >= lo[:, :, None, None, None] - 1e-5).all() and (videos <= hi[:, :, None, None, None] + 1e-5).all()


def test_warp_single_frames_are_frames_of_videos_and_train_the_transform():
    g = tiny_warp()
    frames, labels = g.sample_images(4, seeded(3))
    assert frames.shape == (4, 3, 16, 16) and labels.shape == (4,)
    z, _ = g.sample_latents(2, 5, seeded(4))
    assert torch.allclose(g.decode_frames(z[:, 3]), g(z)[:, :, 3], atol=1e-6)
    g(z).sum().backward()
    assert g.shift[0].weight.grad.abs().sum() > 0 and g.motion.gru.weight_ih.grad.abs().sum() > 0


def test_warp_category_chooses_the_motion():
    g = tiny_warp()
    motion = g.sample_parts(1, 6, seeded(5))[0]["motion"].expand(2, -1, -1)
    category = torch.eye(3)[:2, None].expand(-1, 6, -1)  # categories 0 and 1, the same motion code
    shifts = g.shift(category, motion)
    assert not torch.allclose(shifts[0], shifts[1])
    heads = nn.Sequential(*g.shift)(motion[:1])[0].view(6, 3, 2)  # each category reads its own head
    torch.testing.assert_close(shifts, heads[:, :2].permute(1, 0, 2))


# latent parts --------------------------------------------------------------------------------
def test_latent_parts_name_sizes_and_time():
    g = tiny_generator(dim_z_category=4)
    assert [(p.name, p.dim, p.varies, p.prior) for p in g.latent_parts.values()] == [
        ("content", 6, False, "gaussian"), ("category", 4, False, "one-hot"), ("motion", 3, True, "learned")]
    assert list(tiny_generator().latent_parts) == ["content", "motion"]  # no category code, no part



@pytest.mark.parametrize("k", [0, 4])
def test_split_latent_gives_the_parts_sample_latents_joined(k):
    g = tiny_generator(dim_z_category=k)
    z, _ = g.sample_latents(3, 5)
    content, category, motion = g.split_latent(z)
    assert (content.shape, category.shape, motion.shape) == ((3, 5, 6), (3, 5, k), (3, 5, 3))
    torch.testing.assert_close(torch.cat([content, category, motion], dim=-1), z)
    assert (content == content[:, :1]).all() and (category == category[:, :1]).all()
    assert not torch.equal(motion[:, 0], motion[:, 1])
    flat = g.split_latent(z.flatten(0, 1))  # frame latents n d split the same way
    assert [p.shape for p in flat] == [(15, 6), (15, k), (15, 3)]

@FAST
@given(b=batches, t=lengths, k=categories, seed=seeds)
def test_without_latents_the_random_stream_is_the_original(b, t, k, seed):
    """Labels, content, category, motion drawn in that order from one generator, as before parts existed."""
    g = tiny_generator(dim_z_category=k)
    rng = seeded(seed)
    labels = g.category.labels(b, rng)
    want = torch.cat([g.content(b, t, rng), g.category(b, t, rng, labels=labels), g.motion(b, t, rng)], dim=2)
    z, got_labels = g.sample_latents(b, t, seeded(seed))
    assert torch.equal(z, want) and torch.equal(got_labels, labels)
    parts, _ = g.sample_parts(b, t, seeded(seed))
    assert torch.equal(parts["content"], want[:, 0, :6]) and torch.equal(parts["motion"], want[..., 6 + k:])


def test_given_parts_are_used_and_only_the_others_drawn():
    g = tiny_generator(dim_z_category=2)
    content = torch.randn(3, 6)
    z, labels = g.sample_latents(3, 4, seeded(1), latents={"content": content})
    assert torch.equal(z[..., :6], content[:, None].expand(3, 4, 6))
    rng = seeded(1)  # the content draw is skipped: labels, then motion
    assert torch.equal(labels, g.category.labels(3, rng))
    assert torch.equal(z[..., 8:], g.motion(3, 4, rng))
    motion = torch.randn(3, 4, 3)
    z, _ = g.sample_latents(3, None, seeded(1), latents={"motion": motion})  # the length comes from motion
    assert z.shape == (3, 4, 11) and torch.equal(z[..., 8:], motion)


def test_videos_are_the_decoded_explicit_latents():
    g = tiny_generator(dim_z_category=3).eval()
    content, motion = torch.randn(2, 6), torch.randn(2, 4, 3)
    category = nn.functional.one_hot(torch.tensor([2, 0]), 3).float()
    with torch.no_grad():
        videos, labels = g.sample_videos(2, 4, latents={"content": content, "category": category, "motion": motion})
        for k in range(4):
            frames = g.decoder(torch.cat([content, category, motion[:, k]], dim=1))
            assert torch.equal(videos[:, :, k], frames)
    assert labels.tolist() == [2, 0]


def test_category_as_labels_or_latents_not_both():
    g = tiny_generator(dim_z_category=3)
    parts, _ = g.sample_parts(2, 3, labels=torch.tensor([1, 2]))
    assert parts["category"].argmax(dim=1).tolist() == [1, 2]
    with pytest.raises(ValueError, match="not both"):
        g.sample_parts(2, 3, labels=torch.tensor([1, 2]), latents={"category": parts["category"]})


@pytest.mark.parametrize("latents, message", [
    ({"content": torch.zeros(2, 5)}, r"'content' must have shape \(2, 6\) \(b d\), got \(2, 5\)"),
    ({"content": torch.zeros(2, 3, 6)}, r"'content' must have shape \(2, 6\)"),
    ({"motion": torch.zeros(2, 4, 3)}, r"'motion' must have shape \(2, 3, 3\) \(b t d\)"),
    ({"category": torch.zeros(2, 2)}, "unknown latent part 'category'; this generator's parts: content, motion"),
])
def test_bad_latents(latents, message):
    with pytest.raises(ValueError, match=message):
        tiny_generator().sample_videos(2, 3, latents=latents)


def test_warp_with_sine_motion_moves_smoothly_and_motion_noise_is_gru_only(tmp_path):
    g = MoCoGANWarpGenerator(image_size=16, ngf=8, dim_z_category=2, motion="sine-motion")
    video, _ = g.sample_videos(2, 8, generator=torch.Generator().manual_seed(0))
    assert video.shape == (2, 3, 8, 16, 16) and not torch.equal(video[:, :, 0], video[:, :, 1])
    with pytest.raises(ValueError, match="motion_noise scales gru-motion's noise; the motion sampler 'sine-motion' has"):
        MoCoGANWarpGenerator(image_size=16, ngf=8, motion="sine-motion", motion_noise=0.5)
    from vidgan.config import load_config
    from vidgan.training.trainer import Trainer
    with pytest.raises(VidganError, match="^generator 'mocogan-warp': motion_noise scales gru-motion's noise"):
        Trainer(load_config(["recipe=mocogan-plus-small", "generator.motion=sine-motion", "generator.motion_noise=0.5",
                             f"run_dir={tmp_path}", "device=cpu"]))


def moved_copies(g, z, video):
    """Whether every frame of ``video`` is the image moved by its shift rounded to whole pixels."""
    image = g.decoder(z[:, 0, :g.dim_z_content])
    shift = torch.tanh(g.shift(*g.split_latent(z)[1:])) * 8  # pixels
    padded = torch.nn.functional.pad(image, (16, 16, 16, 16), value=-1.0)
    expected = torch.stack([torch.stack([padded[b, :, 16 + ky:32 + ky, 16 + kx:32 + kx]
                                         for kx, ky in shift[b].round().int().tolist()], dim=1)
                            for b in range(z.shape[0])])
    return torch.allclose(video, expected, atol=1e-5, rtol=0)


@pytest.mark.parametrize("mode", ["sampling", "always"])
def test_whole_pixels_when_asked(mode):
    torch.manual_seed(0)
    g = MoCoGANWarpGenerator(image_size=16, ngf=8, dim_z_category=2, whole_pixels=mode).eval()
    z, _ = g.sample_latents(3, 6)
    with torch.no_grad():
        assert moved_copies(g, z, g(z))
        g.train()
        assert moved_copies(g, z, g(z)) == (mode == "always")  # sampling: training sees fractions
        plain = MoCoGANWarpGenerator(image_size=16, ngf=8, dim_z_category=2)
        plain.load_state_dict(g.state_dict())
        assert not moved_copies(plain, z, plain.eval()(z))  # never: fractions of a pixel
    with pytest.raises(ValueError, match="whole_pixels must be one of never, sampling, always, got 'yes'"):
        MoCoGANWarpGenerator(image_size=16, ngf=8, whole_pixels="yes")


def test_whole_pixels_always_trains_through_the_rounding():
    torch.manual_seed(0)
    g = MoCoGANWarpGenerator(image_size=16, ngf=8, dim_z_category=2, whole_pixels="always")
    z, _ = g.sample_latents(3, 6)
    video = g(z)
    assert moved_copies(g, z, video)
    shift = torch.tanh(g.shift(*g.split_latent(z)[1:])) * 8
    assert len(set(map(tuple, shift.round().flatten(0, 1).tolist()))) > 3  # it moves
    video.sum().backward()  # straight through: the translation network gets a gradient
    assert g.shift[-1].weight.grad.abs().sum() > 0
