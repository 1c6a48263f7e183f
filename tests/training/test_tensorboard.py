"""The optional TensorBoard log: written when the package is there, a clear error when not."""

import importlib.util

import pytest

from vidgan.config import load_config
from vidgan.errors import VidganError
from vidgan.training.trainer import Trainer


def test_tensorboard_option(tmp_path, tiny):
    trainer = Trainer(load_config(["recipe=mocogan", "train.steps=1", "train.tensorboard=true",
                                   f"run_dir={tmp_path}", *tiny]))
    if importlib.util.find_spec("tensorboard") is None:
        with pytest.raises(VidganError, match="pip install tensorboard"):
            trainer.fit()
    else:
        trainer.fit()
        assert list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))
