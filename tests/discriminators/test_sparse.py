"""sparse-video: a critic on a few frames of a clip, and the trainer's view for it."""

from __future__ import annotations

import pytest
import torch

from vidgan.config import load_config
from vidgan.data import sample_clips
from vidgan.errors import VidganError
from vidgan.discriminators.sparse import RULER, SparseVideoDiscriminator
from vidgan.generators.mocogan import MoCoGANGenerator
from vidgan.training.trainer import Trainer


@pytest.mark.parametrize("size,frames,classes", [(16, (0, 3), 0), (32, RULER, 4), (64, (0, 1, 2), 2)])
def test_one_logit_per_clip_and_class_logits_when_asked(size, frames, classes):
    d = SparseVideoDiscriminator(image_size=size, ndf=4, dim_categorical=classes, frames=frames)
    logits, class_logits = d(torch.randn(3, 3, len(frames), size, size))
    assert logits.shape == (3, 1)
    assert (class_logits is None) if classes == 0 else class_logits.shape == (3, classes)


def test_the_frames_are_stacked_as_the_first_layer_s_channels():
    d = SparseVideoDiscriminator(image_size=16, ndf=4, frames=(0, 5, 9))
    assert d.net[0].conv.in_channels == 3 * 3
    x = torch.randn(2, 3, 3, 16, 16)
    swapped = x[:, :, [1, 0, 2]]
    d.eval()  # frame order matters: swapping two frames changes the verdict
    assert not torch.allclose(d(x)[0], d(swapped)[0])


@pytest.mark.parametrize("frames,message", [((3,), "at least 2"), ((0, 4, 2), "increasing"), ((0, 0, 1), "increasing"),
                                            ((-1, 2), "from 0")])
def test_bad_frames_are_errors(frames, message):
    with pytest.raises(ValueError, match=message):
        SparseVideoDiscriminator(image_size=16, frames=frames)


def test_a_clip_with_other_frames_is_an_error():
    d = SparseVideoDiscriminator(image_size=16, ndf=4, frames=(0, 1, 4))
    with pytest.raises(ValueError, match="expects the 3 frames"):
        d(torch.randn(2, 3, 5, 16, 16))


def test_generator_decodes_only_the_asked_frames_of_the_same_videos():
    g = MoCoGANGenerator(image_size=16, ngf=4, dim_z_category=2).eval()
    whole, labels = g.sample_videos(3, 8, torch.Generator().manual_seed(1))
    some, some_labels = g.sample_videos(3, 8, torch.Generator().manual_seed(1), frames=(0, 2, 7))
    assert torch.equal(labels, some_labels)
    torch.testing.assert_close(some, whole[:, :, [0, 2, 7]])


def test_trainer_gives_the_critic_the_view_s_frames_of_real_and_generated_clips(tmp_path, tiny):
    frames = [0, 2, 5, 12]
    trainer = Trainer(load_config(["recipe=mocogan", f"run_dir={tmp_path}", *tiny, "discriminators.video.name=sparse-video",
                                   f"discriminators.video.frames={frames}"]))
    video = trainer.critics[1]
    seen, asked = [], []
    forward, sample = video.net.forward, trainer.generator.sample_videos

    def spy_forward(x):
        seen.append(x.shape)
        return forward(x)

    def spy_sample(*args, **kwargs):
        asked.append(kwargs.get("frames"))
        return sample(*args, **kwargs)

    video.net.forward, trainer.generator.sample_videos = spy_forward, spy_sample
    state = trainer.data_rng.get_state()
    real = trainer.real.for_critic(video)[0]
    trainer.data_rng.set_state(state)
    clips = sample_clips(trainer.dataset, video.batch, 13, 1, trainer.data_rng)[0]  # data.video_length=13
    assert torch.equal(real, clips[:, :, frames])
    trainer.train_step()
    assert set(asked) == {tuple(frames)}
    assert all(shape[2] == len(frames) for shape in seen) and len(seen) >= 3  # D: real and fake, G: fake


def test_frames_past_the_clip_are_a_one_line_error(tmp_path, tiny):
    with pytest.raises(VidganError, match=r"discriminators.video.frames reach frame 20 .* data.video_length is 13"):
        Trainer(load_config(["recipe=mocogan", f"run_dir={tmp_path}", *tiny, "discriminators.video.name=sparse-video",
                             "discriminators.video.frames=[0,3,20]"]))
