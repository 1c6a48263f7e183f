"""Generator EMA: the average the docs promise, saved, resumed and used for sampling."""

import torch

from vidgan.config import load_config
from vidgan.generate import load_generator
from vidgan.training import checkpoint
from vidgan.training.trainer import Trainer


def test_ema_tracks_an_exponential_average(tmp_path, tiny):
    trainer = Trainer(load_config(["recipe=mocogan", "train.ema_decay=0.9", f"run_dir={tmp_path}", *tiny]))
    expected = None
    for _ in range(3):
        trainer.train_step()
        current = {k: v.detach().clone() for k, v in trainer.generator.named_parameters()}
        expected = current if expected is None else {k: 0.9 * expected[k] + 0.1 * v for k, v in current.items()}
    ema = dict(trainer.ema.module.named_parameters())
    for key, value in expected.items():
        torch.testing.assert_close(ema[key], value, rtol=1e-5, atol=1e-6)
    assert not torch.equal(ema["decoder.net.0.conv.weight"], current["decoder.net.0.conv.weight"])
    assert trainer.sampler is trainer.ema.module


def test_ema_is_checkpointed_resumed_exactly_and_used_for_sampling(tmp_path, tiny):
    args = ["recipe=mocogan", "train.ema_decay=0.5", *tiny]
    straight, split = tmp_path / "straight", tmp_path / "split"
    Trainer(load_config([*args, "train.steps=3", f"run_dir={straight}"])).fit()
    Trainer(load_config([*args, "train.steps=2", f"run_dir={split}"])).fit()
    Trainer(load_config([f"train.resume={split}", "train.steps=3"])).fit(resume=True)
    a, b = checkpoint.load(straight), checkpoint.load(split)
    assert int(a["ema_count"]) == 3
    for key, value in a["ema_generator"].items():
        assert torch.equal(value, b["ema_generator"][key]), key

    ema, _ = load_generator(straight)
    raw, _ = load_generator(straight, ema=False)
    assert not ema.training
    for key, value in ema.state_dict().items():
        assert torch.equal(value, a["ema_generator"][key]), key
    assert not torch.equal(ema.state_dict()["decoder.net.0.conv.weight"],
                           raw.state_dict()["decoder.net.0.conv.weight"])
