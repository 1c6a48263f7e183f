"""The optional TensorBoard log: the same numbers as metrics.jsonl, and a clear error without the package."""

import json
import sys

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from vidgan.config import load_config
from vidgan.errors import VidganError
from vidgan.training.trainer import Trainer


def test_tensorboard_logs_every_value_of_metrics_jsonl(tmp_path, tiny):
    Trainer(load_config(["recipe=mocogan", "train.steps=2", "train.tensorboard=true",
                         f"run_dir={tmp_path}", *tiny])).fit()
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    events = EventAccumulator(str(tmp_path / "tensorboard"))
    events.Reload()
    keys = [k for k in rows[0] if k not in ("step", "time", "data_time")]
    assert sorted(events.Tags()["scalars"]) == sorted(f"loss/{k}" for k in keys)
    for key in keys:
        logged = [(e.step, e.value) for e in events.Scalars(f"loss/{key}")]
        assert logged == [(r["step"], pytest.approx(r[key], rel=1e-6)) for r in rows]


def test_tensorboard_without_the_package_is_a_clear_error(tmp_path, tiny, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import fails as if not installed
    trainer = Trainer(load_config(["recipe=mocogan", "train.steps=1", "train.tensorboard=true",
                                   f"run_dir={tmp_path}", *tiny]))
    with pytest.raises(VidganError, match="pip install tensorboard"):
        trainer.fit()
