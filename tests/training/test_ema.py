"""Generator EMA: the average the docs promise, saved, resumed and used for sampling."""

import numpy as np
import torch
from cli_runner import vidgan
from PIL import Image

from vidgan.config import load_config
from vidgan.generate import load_generator
from vidgan.training import checkpoint
from vidgan.training.trainer import Trainer


def test_ema_tracks_an_exponential_average_with_warm_up(tmp_path, tiny):
    """Decay min(0.2, (1 + n) / (10 + n)) after n updates: 2/11, 3/12, then 0.2 from n = 2."""
    trainer = Trainer(load_config(["recipe=mocogan", "train.ema_decay=0.2", f"run_dir={tmp_path}", *tiny]))
    expected = None
    for decay in [None, 2 / 11, 0.2, 0.2]:
        trainer.train_step()
        current = {k: v.detach().clone() for k, v in trainer.generator.state_dict().items()}
        expected = current if decay is None else {
            k: decay * expected[k] + (1 - decay) * v if v.is_floating_point() else v for k, v in current.items()}
    ema = trainer.ema.module.state_dict()
    for key, value in expected.items():  # weights and batch-norm statistics
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


def test_generate_uses_the_ema_unless_told_not_to(tmp_path, tiny):
    run_dir = tmp_path / "run"
    assert vidgan("run", "recipe=mocogan", "train.ema_decay=0.5", "train.steps=2", f"run_dir={run_dir}", *tiny) == 0
    grids = {}
    for name, flags in [("ema", []), ("ema-again", []), ("live", ["--no-ema"])]:
        assert vidgan("generate", run_dir, "--num-videos", 2, "--out", tmp_path / name, *flags) == 0
        with Image.open(tmp_path / name / "grid.png") as grid:
            grids[name] = np.asarray(grid.convert("RGB"))
    assert np.array_equal(grids["ema"], grids["ema-again"])  # same seed, same weights: same videos
    assert grids["ema"].shape == grids["live"].shape and not np.array_equal(grids["ema"], grids["live"])
