"""Original MoCoGAN weights convert into vidgan components that compute the same thing.

The reference models below rebuild the original's module layout (``main`` as an
``nn.Sequential`` with the same indices, ``nn.Identity`` in the noise slots,
``recurrent`` as a GRU cell) from the published layer description, so their
state_dicts have exactly the original's key names.
"""

from __future__ import annotations

import pytest
import torch
from einops import rearrange
from torch import nn

from vidgan.convert import (
    convert_discriminator,
    convert_generator,
    infer_discriminator_kwargs,
    infer_generator_kwargs,
    load_original,
)
from vidgan.errors import VidganError
from vidgan.generators.mocogan import MoCoGANGenerator
from vidgan.registry import DISCRIMINATORS

BN_KEYS = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


# the original's layouts ---------------------------------------------------------------
class Holder(nn.Module):
    """An nn.Module with the given children, like the original's model classes."""

    def __init__(self, **children: nn.Module):
        super().__init__()
        for name, child in children.items():
            self.add_module(name, child)


def _lrelu() -> nn.Module:
    return nn.LeakyReLU(0.2)


def original_discriminator(name: str, channels: int = 3, ndf: int = 64, dim_categorical: int = 6) -> Holder:
    three_d = "video" in name
    conv = nn.Conv3d if three_d else nn.Conv2d
    norm = nn.BatchNorm3d if three_d else nn.BatchNorm2d
    stride, padding = ((1, 2, 2), (0, 1, 1)) if three_d else (2, 1)

    def down(c_in: int, c_out: int) -> nn.Module:
        return conv(c_in, c_out, 4, stride=stride, padding=padding, bias=False)

    layers = [nn.Identity(), down(channels, ndf), _lrelu(),
              nn.Identity(), down(ndf, ndf * 2), norm(ndf * 2), _lrelu(),
              nn.Identity(), down(ndf * 2, ndf * 4), norm(ndf * 4), _lrelu()]
    if name == "patch-image":
        layers += [nn.Identity(), down(ndf * 4, 1)]
    elif name == "patch-video":
        layers += [down(ndf * 4, 1)]
    else:
        outputs = 1 + dim_categorical if name == "categorical-video" else 1
        layers += [nn.Identity(), down(ndf * 4, ndf * 8), norm(ndf * 8), _lrelu(),
                   conv(ndf * 8, outputs, 4, 1, 0, bias=False)]
    return Holder(main=nn.Sequential(*layers))


def original_generator(channels: int = 3, dim_z_content: int = 50, dim_z_category: int = 6,
                       dim_z_motion: int = 10, ngf: int = 64) -> Holder:
    dim_z = dim_z_content + dim_z_category + dim_z_motion
    widths = [ngf * 8, ngf * 4, ngf * 2, ngf]
    layers: list[nn.Module] = [nn.ConvTranspose2d(dim_z, widths[0], 4, 1, 0, bias=False),
                               nn.BatchNorm2d(widths[0]), nn.ReLU()]
    for c_in, c_out in zip(widths, widths[1:]):
        layers += [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]
    layers += [nn.ConvTranspose2d(ngf, channels, 4, 2, 1, bias=False), nn.Tanh()]
    return Holder(recurrent=nn.GRUCell(dim_z_motion, dim_z_motion), main=nn.Sequential(*layers))


def randomise(model: nn.Module, seed: int = 0) -> nn.Module:
    """Random weights and batch-norm statistics, so a mix-up of layers cannot go unnoticed."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.weight.copy_(1 + 0.3 * torch.randn(module.weight.shape, generator=g))
                module.bias.copy_(0.3 * torch.randn(module.bias.shape, generator=g))
                module.running_mean.copy_(0.2 * torch.randn(module.running_mean.shape, generator=g))
                module.running_var.copy_(0.5 + torch.rand(module.running_var.shape, generator=g))
                module.num_batches_tracked.fill_(int(torch.randint(1, 1000, (), generator=g)))
            else:
                for p in module.parameters(recurse=False):
                    fan_in = p[0].numel() if p.ndim > 1 else p.numel()
                    p.copy_(torch.randn(p.shape, generator=g) / fan_in ** 0.5)
    return model.eval()


def main_keys(*convs: int, bns: tuple[int, ...] = ()) -> set[str]:
    return {f"main.{i}.weight" for i in convs} | {f"main.{i}.{k}" for i in bns for k in BN_KEYS}


ORIGINAL_KEYS = {
    "image": main_keys(1, 4, 8, 12, 15, bns=(5, 9, 13)),
    "video": main_keys(1, 4, 8, 12, 15, bns=(5, 9, 13)),
    "categorical-video": main_keys(1, 4, 8, 12, 15, bns=(5, 9, 13)),
    "patch-image": main_keys(1, 4, 8, 12, bns=(5, 9)),
    "patch-video": main_keys(1, 4, 8, 11, bns=(5, 9)),
}
NAMES = sorted(ORIGINAL_KEYS)


def load_converted_discriminator(name: str, original: nn.Module) -> nn.Module:
    sd = original.state_dict()
    kwargs = infer_discriminator_kwargs(sd, name)
    d = DISCRIMINATORS.build(name, **kwargs)
    d.load_state_dict(convert_discriminator(sd, name), strict=True)
    return d.eval()


# discriminators ---------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_reference_layout_is_the_originals(name):
    assert set(original_discriminator(name, ndf=8).state_dict()) == ORIGINAL_KEYS[name]


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("name", NAMES)
def test_converted_discriminator_computes_the_same(name, channels):
    original = randomise(original_discriminator(name, channels=channels, ndf=8, dim_categorical=4))
    vidgan_d = load_converted_discriminator(name, original)
    assert vidgan_d.channels == channels and vidgan_d.image_size == 64
    g = torch.Generator().manual_seed(1)
    clip = name.endswith("video")
    x = torch.randn((2, channels, 17, 64, 64) if clip else (2, channels, 64, 64), generator=g)
    with torch.no_grad():
        expected = original.main(x)
        logits, class_logits = vidgan_d(x)
    if name == "categorical-video":  # (b, 1 + k, t', 1, 1): logit, then k class logits
        torch.testing.assert_close(logits, expected[:, 0, :, 0, 0])
        torch.testing.assert_close(class_logits, expected[:, 1:, :, 0, 0].mean(dim=2))
        assert class_logits.shape == (2, 4)
    else:
        assert class_logits is None
        assert logits.numel() == expected.numel()
        torch.testing.assert_close(logits.flatten(), expected.flatten())


@pytest.mark.parametrize("name", NAMES)
def test_full_size_original_converts_strictly(name):
    # the original's defaults: ndf=64, 3 channels, 64×64, 6 categories (shapes only: on meta)
    with torch.device("meta"):
        sd = original_discriminator(name).state_dict()
    kwargs = infer_discriminator_kwargs(sd, name)
    expected = {"channels": 3, "image_size": 64, "ndf": 64}
    if name == "categorical-video":
        expected["dim_categorical"] = 6
    assert kwargs == expected
    converted = convert_discriminator(sd, name)
    with torch.device("meta"):
        d = DISCRIMINATORS.build(name, **kwargs)
    d.load_state_dict(converted, strict=True)
    assert len(converted) == len(sd)  # every original tensor is used, none is invented


def test_old_checkpoint_without_num_batches_tracked():
    original = randomise(original_discriminator("video", ndf=4))
    sd = {k: v for k, v in original.state_dict().items() if not k.endswith("num_batches_tracked")}
    converted = convert_discriminator(sd, "video")
    assert converted["net.1.norm.num_batches_tracked"].dtype == torch.long
    assert converted["net.1.norm.num_batches_tracked"].item() == 0
    d = DISCRIMINATORS.build("video", ndf=4)
    d.load_state_dict(converted, strict=True)


def test_data_parallel_prefix_is_accepted():
    original = randomise(original_discriminator("image", ndf=4))
    sd = {f"module.{k}": v for k, v in original.state_dict().items()}
    d = DISCRIMINATORS.build("image", ndf=4)
    d.load_state_dict(convert_discriminator(sd, "image"), strict=True)


# generator -----------------------------------------------------------------------------
@pytest.mark.parametrize("dim_z_category", [0, 6])
def test_converted_generator_computes_the_same(dim_z_category):
    original = randomise(original_generator(channels=3, dim_z_content=20, dim_z_category=dim_z_category,
                                            dim_z_motion=5, ngf=4), seed=dim_z_category)
    assert {k for k in original.state_dict() if k.startswith("recurrent")} == {
        "recurrent.weight_ih", "recurrent.weight_hh", "recurrent.bias_ih", "recurrent.bias_hh"}
    assert {k.split(".")[1] for k in original.state_dict() if k.startswith("main")} == {
        "0", "1", "3", "4", "6", "7", "9", "10", "12"}
    sd = original.state_dict()
    kwargs = infer_generator_kwargs(sd, dim_z_category)
    assert kwargs == {"channels": 3, "image_size": 64, "dim_z_content": 20,
                      "dim_z_category": dim_z_category, "dim_z_motion": 5, "ngf": 4}
    g = MoCoGANGenerator(**kwargs)
    g.load_state_dict(convert_generator(sd), strict=True)
    g.eval()

    rng = torch.Generator().manual_seed(3)
    with torch.no_grad():
        # the frame decoder on the same latent vectors
        z = torch.randn(5, 20 + dim_z_category + 5, generator=rng)
        torch.testing.assert_close(g.decoder(z), original.main(rearrange(z, "b d -> b d 1 1")))
        # the motion GRU cell on the same noise and state
        eps, h = torch.randn(2, 3, 5, generator=rng)
        torch.testing.assert_close(g.motion.gru(eps, h), original.recurrent(eps, h))
        # whole videos: vidgan's latents [content, category, motion] decoded frame by frame
        latents, _ = g.sample_latents(2, 4, generator=rng)
        expected = original.main(rearrange(latents, "b t d -> (b t) d 1 1"))
        torch.testing.assert_close(g(latents), rearrange(expected, "(b t) c h w -> b c t h w", b=2))


def test_full_size_generator_converts_strictly():
    with torch.device("meta"):
        sd = original_generator().state_dict()  # the original's defaults: 50 + 6 + 10, ngf=64
    kwargs = infer_generator_kwargs(sd, dim_z_category=6)
    assert kwargs == {"channels": 3, "image_size": 64, "dim_z_content": 50,
                      "dim_z_category": 6, "dim_z_motion": 10, "ngf": 64}
    with torch.device("meta"):
        g = MoCoGANGenerator(**kwargs)
    g.load_state_dict(convert_generator(sd), strict=True)


def test_generator_category_too_large():
    sd = original_generator(dim_z_content=2, dim_z_category=0, dim_z_motion=3, ngf=2).state_dict()
    with pytest.raises(VidganError, match="dim_z_category=4"):
        infer_generator_kwargs(sd, dim_z_category=4)


def test_generator_missing_recurrent():
    sd = {k: v for k, v in original_generator(ngf=2).state_dict().items() if not k.startswith("recurrent")}
    with pytest.raises(VidganError, match="recurrent.weight_hh"):
        convert_generator(sd)


# errors ------------------------------------------------------------------------------
def _one_line(err: pytest.ExceptionInfo) -> str:
    message = str(err.value)
    assert "\n" not in message
    return message


def test_wrong_shape_names_key_and_shapes():
    sd = original_discriminator("video", ndf=4).state_dict()
    sd["main.8.weight"] = torch.zeros(16, 8, 4, 4, 3)
    with pytest.raises(VidganError) as err:
        convert_discriminator(sd, "video")
    message = _one_line(err)
    assert "main.8.weight" in message
    assert "(16, 8, 4, 4, 4)" in message and "(16, 8, 4, 4, 3)" in message


def test_wrong_batch_norm_shape():
    sd = original_generator(ngf=2).state_dict()
    sd["main.4.running_var"] = torch.ones(5)
    with pytest.raises(VidganError, match=r"main\.4\.running_var: expected shape \(8,\).*got \(5,\)"):
        convert_generator(sd)


def test_image_weights_given_as_video_discriminator():
    sd = original_discriminator("image", ndf=4).state_dict()
    with pytest.raises(VidganError, match=r"main\.1\.weight.*5-d"):
        convert_discriminator(sd, "video")


def test_plain_video_weights_given_as_categorical():
    sd = original_discriminator("video", ndf=4).state_dict()
    with pytest.raises(VidganError, match=r"main\.15\.weight.*1 \+ k"):
        convert_discriminator(sd, "categorical-video")


def test_categorical_weights_given_as_plain_video():
    sd = original_discriminator("categorical-video", ndf=4).state_dict()
    with pytest.raises(VidganError, match=r"main\.15\.weight: expected shape \(1, 32, 4, 4, 4\).*got \(7, 32, 4, 4, 4\)"):
        convert_discriminator(sd, "video")


@pytest.mark.parametrize("key", ["decoder.weight", "main.1.bias", "main"])
def test_unexpected_key(key):
    sd = original_discriminator("patch-image", ndf=4).state_dict()
    sd[key] = torch.zeros(4)
    with pytest.raises(VidganError) as err:
        convert_discriminator(sd, "patch-image")
    assert f"unexpected key {key!r}" in _one_line(err)


def test_extra_layer_is_an_unexpected_key():
    sd = original_discriminator("patch-video", ndf=4).state_dict()
    sd["main.14.weight"] = torch.zeros(1, 1, 4, 4, 4)
    with pytest.raises(VidganError) as err:
        convert_discriminator(sd, "patch-video")
    assert "unexpected key 'main.14.weight'" in _one_line(err)


def test_missing_key():
    sd = original_discriminator("image", ndf=4).state_dict()
    del sd["main.9.running_mean"]
    with pytest.raises(VidganError) as err:
        convert_discriminator(sd, "image")
    assert "missing key 'main.9.running_mean'" in _one_line(err)


def test_missing_layer():
    sd = original_discriminator("patch-image", ndf=4).state_dict()
    for k in [k for k in sd if k.startswith("main.9.")]:
        del sd[k]
    with pytest.raises(VidganError) as err:
        convert_discriminator(sd, "patch-image")
    assert "main.12" in _one_line(err)


def test_unknown_discriminator_name():
    with pytest.raises(VidganError, match="patch-video"):
        convert_discriminator(original_discriminator("image", ndf=4).state_dict(), "videoo")


def test_empty_state_dict():
    with pytest.raises(VidganError, match="main"):
        convert_discriminator({}, "image")


# loading files ------------------------------------------------------------------------------
def test_load_original_state_dict_and_wrapped(tmp_path):
    sd = original_discriminator("image", ndf=4).state_dict()
    torch.save(sd, tmp_path / "bare.pth")
    torch.save({"state_dict": sd, "batch": 100000}, tmp_path / "wrapped.pth")
    for file in ("bare.pth", "wrapped.pth"):
        loaded = load_original(tmp_path / file)
        assert loaded.keys() == sd.keys()
        assert all(torch.equal(loaded[k], sd[k]) for k in sd)


def test_load_original_legacy_format(tmp_path):
    sd = original_generator(ngf=2).state_dict()
    torch.save(sd, tmp_path / "old.pth", _use_new_zipfile_serialization=False)
    assert load_original(tmp_path / "old.pth").keys() == sd.keys()


def test_load_original_refuses_pickled_module(tmp_path):
    torch.save(original_discriminator("image", ndf=4), tmp_path / "model.pytorch")
    with pytest.raises(VidganError) as err:
        load_original(tmp_path / "model.pytorch")
    message = _one_line(err)
    assert "state_dict()" in message and "original" in message


def test_load_original_bad_files(tmp_path):
    with pytest.raises(VidganError, match="no such"):
        load_original(tmp_path / "missing.pth")
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(VidganError, match="cannot read"):
        load_original(tmp_path / "junk.pth")
    torch.save([torch.zeros(1)], tmp_path / "list.pth")
    with pytest.raises(VidganError, match="not a state_dict"):
        load_original(tmp_path / "list.pth")


# the `vidgan convert` command ------------------------------------------------------------
def test_vidgan_convert_writes_a_checkpoint_that_generates(tmp_path):
    from vidgan.cli import main
    from vidgan.generate import load_generator

    generator = randomise(original_generator(ngf=8), seed=1)
    video_d = randomise(original_discriminator("categorical-video", ndf=8), seed=2)
    torch.save(generator.state_dict(), tmp_path / "G.pth")
    torch.save(video_d.state_dict(), tmp_path / "D.pth")
    out = tmp_path / "original.pt"
    main(["convert", "recipe=mocogan-categorical", "generator.ngf=8", "discriminators.video.ndf=8",
          "--generator", str(tmp_path / "G.pth"), "--discriminator", f"video={tmp_path / 'D.pth'}",
          "--out", str(out)])
    ours, _ = load_generator(out)
    z = torch.randn(4, 66)
    with torch.no_grad():
        torch.testing.assert_close(ours.decoder(z), generator.eval().main(z[:, :, None, None]))
    main(["generate", str(out), "--num-videos", "2", "--out", str(tmp_path / "gen")])
    assert (tmp_path / "gen" / "grid.png").is_file()


def test_vidgan_convert_rejects_a_mismatched_recipe(tmp_path, capsys):
    from vidgan.cli import main

    torch.save(randomise(original_generator(ngf=8), seed=1).state_dict(), tmp_path / "G.pth")
    with pytest.raises(SystemExit):
        main(["convert", "recipe=mocogan", "generator.ngf=8", "--generator", str(tmp_path / "G.pth"),
              "--out", str(tmp_path / "x.pt")])
    assert "does not fit this config" in capsys.readouterr().err
    assert not (tmp_path / "x.pt").exists()
