"""diffaugment: one transform per clip, a different one per sample, gradients to the generator."""

import pytest
import torch
from cli_runner import vidgan

from vidgan.errors import VidganError
from vidgan.registry import AUGMENTATIONS, DISCRIMINATORS, GENERATORS


@pytest.fixture(autouse=True)
def seeded():
    torch.manual_seed(0)


def test_every_frame_of_a_clip_gets_the_same_transform():
    augment = AUGMENTATIONS.build("diffaugment")
    frame = torch.rand(4, 3, 1, 16, 16) * 2 - 1
    out = augment(frame.expand(-1, -1, 6, -1, -1))  # still clips: any per-frame difference is the augmentation's
    assert out.shape == (4, 3, 6, 16, 16)
    torch.testing.assert_close(out, out[:, :, :1].expand_as(out))
    assert not torch.allclose(out[0], out[1])  # but each clip draws its own


@pytest.mark.parametrize("policy", ["color", "translation", "cutout"])
def test_each_transform_changes_the_clip_and_keeps_it_consistent(policy):
    augment = AUGMENTATIONS.build("diffaugment", policy=policy)
    frame = torch.rand(3, 3, 1, 16, 16) * 2 - 1
    clip = frame.expand(-1, -1, 5, -1, -1)
    out = augment(clip)
    assert not torch.allclose(out, clip)
    torch.testing.assert_close(out, out[:, :, :1].expand_as(out))


def test_frames_and_grayscale_are_augmented_too():
    augment = AUGMENTATIONS.build("diffaugment")
    frames = torch.rand(5, 3, 16, 16) * 2 - 1
    out = augment(frames)
    assert out.shape == frames.shape and not torch.allclose(out, frames)
    assert augment(torch.rand(2, 1, 4, 16, 16)).shape == (2, 1, 4, 16, 16)


def test_gradients_flow_through_to_the_generator():
    generator = GENERATORS.build("mocogan", channels=3, image_size=32, video_length=13, ngf=8)
    critic = DISCRIMINATORS.build("video", channels=3, image_size=32, ndf=8)
    augment = AUGMENTATIONS.build("diffaugment")
    videos, _ = generator.sample_videos(2)
    logits, _ = critic(augment(videos))
    logits.mean().backward()
    grads = [p.grad for p in generator.parameters()]
    assert all(g is not None for g in grads)
    assert sum(g.abs().sum() for g in grads) > 0


def test_a_bad_policy_is_a_clear_error():
    with pytest.raises(VidganError, match="policy must name some of color, translation, cutout"):
        AUGMENTATIONS.build("diffaugment", policy="colour")


def test_a_recipe_turns_it_on_per_critic(tmp_path, tiny):
    run_dir = tmp_path / "run"
    code = vidgan("run", "recipe=mocogan", "train.steps=1", f"run_dir={run_dir}", *tiny,
                     "discriminators.image.augment=diffaugment", "discriminators.video.augment=diffaugment")
    assert code == 0 and (run_dir / "checkpoints" / "step-0000001.pt").is_file()
    assert "augment: diffaugment" in (run_dir / "config.yaml").read_text()


def test_an_unknown_augmentation_is_refused_with_a_suggestion(tmp_path, tiny, capsys):
    code = vidgan("run", "recipe=mocogan", "train.steps=1", f"run_dir={tmp_path / 'r'}", *tiny,
                     "discriminators.video.augment=diffaugmnt")
    assert code == 2 and "did you mean 'diffaugment'" in capsys.readouterr().err


def test_a_recipe_sets_the_policy_by_mapping(tmp_path, tiny):
    from vidgan.config import load_config
    from vidgan.training.trainer import Trainer

    cfg = load_config(["recipe=mocogan", f"run_dir={tmp_path}", *tiny,
                       "discriminators.video.augment={name: diffaugment, policy: translation}",
                       "discriminators.image.augment.name=diffaugment", "discriminators.image.augment.policy=cutout"])
    augment = {c.name: c.augment for c in Trainer(cfg).critics}
    assert augment["video"].policy == ["translation"] and augment["image"].policy == ["cutout"]


@pytest.mark.parametrize("spec, message", [
    ("{name: diffaugment, polcy: cutout}", "unknown config key discriminators.video.augment.polcy; "
                                          "did you mean discriminators.video.augment.policy?"),
    ("{policy: cutout}", "discriminators.video.augment needs a name"),
    ("3", "discriminators.video.augment must be a name or a {name: NAME, key: value} mapping, got 3"),
])
def test_bad_augmentation_specs_are_one_line_errors(tmp_path, tiny, capsys, spec, message):
    code = vidgan("run", "recipe=mocogan", "train.steps=1", f"run_dir={tmp_path / 'r'}", *tiny,
                  f"discriminators.video.augment={spec}")
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()
