"""`vidgan eval` end to end on a tiny run folder: files, protocol, reproducibility, EMA, errors."""

import json
import re

import pytest
import torch
from cli_runner import vidgan
from einops import rearrange
from metric_helpers import (TINY_EXTRACTOR, TinyExtractor, acd_by_definition, inception_score,
                            kernel_inception_distance, save_run, scipy_frechet, stand_in_features)
from omegaconf import OmegaConf

from vidgan.config import Config, dataset_kwargs, dataset_name
from vidgan.data import sample_clips
from vidgan.metrics.base import sha256, to_float, to_uint8
from vidgan.metrics.mcs import ClipClassifier
from vidgan.registry import DATASETS
from vidgan.training import checkpoint
from vidgan.build import build_generator

FAST_MCS = ["options.mcs.steps=5", "options.mcs.batch=4", "options.mcs.heldout_clips=8"]


def evaluate(run_dir, *args):
    assert vidgan("eval", run_dir, "num_videos=6", "batch_size=4", *args) == 0
    return json.loads((run_dir / "eval.json").read_text())


def drawn_by_hand(run_dir, num_videos, batch_size, seed=0):
    """The samples the documented protocol draws from a run folder, drawn here: ``num_videos``
    generated videos (``batch_size`` per call, a generator seeded with ``seed``, categories
    0, 1, .., k-1 in turn) and their categories, and as many real clips drawn as the trainer
    draws them (seeded with ``seed + 1``); all as RGB uint8."""
    state = checkpoint.load(run_dir)
    cfg = OmegaConf.merge(OmegaConf.structured(Config), state["config"])
    generator = build_generator(cfg)
    generator.load_state_dict(state["generator"])
    data = DATASETS.build(dataset_name(cfg), **dataset_kwargs(cfg))
    k = min(generator.eval().dim_z_category, data.num_classes)
    fake_rng, real_rng = torch.Generator().manual_seed(seed), torch.Generator().manual_seed(seed + 1)
    fake, asked, real = [], [], []
    for start in range(0, num_videos, batch_size):
        n = min(batch_size, num_videos - start)
        asked.append(torch.arange(start, start + n) % k)
        with torch.no_grad():
            fake.append(to_uint8(generator.sample_videos(n, cfg.data.video_length, fake_rng, asked[-1])[0]))
        real.append(to_uint8(sample_clips(data, n, cfg.data.video_length, cfg.data.every_nth, real_rng)[0]))
    return torch.cat(fake), torch.cat(asked), torch.cat(real)


def test_eval_writes_json_and_table_and_prints_it(run_dir, i3d_file, capsys):
    fidelity = [f"options.{m}.feature_extractor={TINY_EXTRACTOR}" for m in ("fid", "kid", "is")]
    record = evaluate(run_dir, "metrics=[acd,mcs,fvd,fid,kid,is]", f"i3d_weights={i3d_file}",
                      *FAST_MCS, *fidelity)
    assert list(record["metrics"]) == ["acd", "mcs", "fvd", "fid", "kid", "is"]
    file = checkpoint.checkpoint_path(run_dir, 1)
    assert record["checkpoint"] == str(file) and record["checkpoint_sha256"] == sha256(file)
    assert record["step"] == 1 and record["generator_weights"] == "generator" and record["seed"] == 0
    assert record["data"]["image_size"] == 32 and record["data"]["video_length"] == 13
    for name, result in record["metrics"].items():
        assert isinstance(result["value"], float), name
        protocol = result["protocol"]
        assert protocol["num_videos"] == 6 and protocol["frames_per_video"] == 13, name
        assert protocol["resolution"] == [32, 32] and protocol["seed"] == 0, name
    assert record["metrics"]["fvd"]["protocol"]["weights_sha256"] == sha256(i3d_file)
    assert record["metrics"]["fid"]["protocol"]["frames"] == 6 * 13

    # every number is its metric's definition computed here on the samples of the protocol
    fake, asked, real = drawn_by_hand(run_dir, num_videos=6, batch_size=4)
    metrics = record["metrics"]
    assert metrics["acd"]["value"] == pytest.approx(acd_by_definition(fake), rel=1e-5)
    assert metrics["acd"]["reference"] == pytest.approx(acd_by_definition(real), rel=1e-5)
    saved = torch.load(run_dir / "mcs-classifier.pt")
    classifier = ClipClassifier(saved["num_classes"], saved["signature"]["size"])
    classifier.load_state_dict(saved["state_dict"])
    with torch.no_grad():
        right = classifier.eval()(to_float(fake)).argmax(1) == asked
    assert metrics["mcs"]["value"] == pytest.approx(right.float().mean().item(), abs=1e-9)
    assert metrics["mcs"]["classifier_accuracy"] == saved["heldout_accuracy"]
    assert metrics["fvd"]["value"] == pytest.approx(scipy_frechet(stand_in_features(fake), stand_in_features(real)),
                                                    rel=1e-4)
    with torch.no_grad():
        extractor = TinyExtractor(TINY_EXTRACTOR, ["features", "logits_unbiased"])
        (fake_features, logits), (real_features, _) = (
            extractor(rearrange(videos, "b c t h w -> (b t) c h w")) for videos in (fake, real))
    assert metrics["fid"]["value"] == pytest.approx(scipy_frechet(fake_features.numpy(), real_features.numpy()),
                                                    rel=1e-4)
    kid, _ = kernel_inception_distance(fake_features.numpy(), real_features.numpy(), 100, 6 * 13, seed=0)
    assert metrics["kid"]["value"] == pytest.approx(kid, rel=1e-4)
    assert metrics["is"]["value"] == pytest.approx(inception_score(logits.numpy(), 10, seed=0)[0], rel=1e-6)
    table = (run_dir / "eval.md").read_text()
    assert capsys.readouterr().out == table
    rows = [line for line in table.splitlines() if line.startswith("| ")]
    assert [r.split("|")[1].strip() for r in rows[1:]] == ["acd", "mcs", "fvd", "fid", "kid", "is"]
    assert "i3d_torchscript.pt (sha256 " in table and "6 generated videos × 13 frames at 32×32, seed 0" in table


def test_the_same_seed_gives_the_same_numbers(run_dir, tmp_path):
    first = evaluate(run_dir, "metrics=[acd,mcs]", *FAST_MCS)["metrics"]
    assert vidgan("eval", run_dir, "num_videos=6", "batch_size=4", "metrics=[acd,mcs]", *FAST_MCS,
                  f"out={tmp_path / 'again'}") == 0
    assert (tmp_path / "again" / "eval.md").is_file()  # written to `out`, not the run folder
    again = json.loads((tmp_path / "again" / "eval.json").read_text())["metrics"]

    def numbers(metrics):  # all but the timing and the classifier's path (another folder)
        return {name: {k: v for k, v in result.items() if k not in ("seconds", "protocol")}
                for name, result in metrics.items()}

    assert numbers(again) == numbers(first)
    assert again["acd"]["protocol"] == first["acd"]["protocol"]
    other = evaluate(run_dir, "metrics=[acd]", "seed=5")["metrics"]["acd"]
    assert other["value"] != first["acd"]["value"] and other["protocol"]["seed"] == 5


def test_the_ema_generator_is_used_when_there_is_one(tmp_path, tiny):
    run_dir = save_run(tmp_path / "ema-run", tiny, ema=True)
    ema = evaluate(run_dir, "metrics=[acd]", "options.acd.reference=false")
    assert ema["generator_weights"] == "ema_generator"
    raw = evaluate(run_dir, "metrics=[acd]", "options.acd.reference=false", "ema=false")
    assert raw["generator_weights"] == "generator"
    assert raw["metrics"]["acd"]["value"] != ema["metrics"]["acd"]["value"]


def test_data_overrides_reach_the_real_data(run_dir):
    record = evaluate(run_dir, "metrics=[acd]", "data.options.num_videos=40", "data.options.seed=3")
    assert record["data"]["options"] == {"num_videos": 40, "seed": 3}


@pytest.mark.parametrize("args, message", [
    ([], r"name the metrics, e\.g\. metrics=\[acd,mcs\]"),
    (["metrics=[acd,fvdd]"], r"unknown metric 'fvdd'; did you mean 'fvd'"),
    (["metrics=[acd]", "options.mcs.steps=3"], r"options\.mcs is set but 'mcs' is not in metrics"),
    (["metrics=[acd]", "options.acd.nope=1"], r"unknown config key options\.acd\.nope"),
    (["metrics=[fvd]"], r"i3d_torchscript\.pt .*; pass i3d_weights=PATH or set VIDGAN_I3D_WEIGHTS"),
    (["metrics=[fid]"], r"weights-inception-2015-12-05-6726825d\.pth"),
    (["metrics=[fvd]", "options.fvd.i3d_weights=x"], r"options\.fvd\.i3d_weights comes from i3d_weights"),
    (["metrics=[acd]", "num_videos=1"], r"num_videos must be at least 2"),
    (["metrics=[acd]", "data.nope=1"], r"unknown config key 'data\.nope'"),
    (["metrics=[acd]", "ema=true"], r"ema=true but the checkpoint has no EMA generator"),
])
def test_bad_input_is_a_one_line_error_before_any_work(run_dir, capsys, args, message):
    assert vidgan("eval", run_dir, *args) == 2
    err = " ".join(capsys.readouterr().err.split())  # rich wraps long lines for the terminal
    assert err.startswith("error: ") and re.search(message, err), err
    assert not (run_dir / "eval.json").exists()


def test_metrics_features_and_augmentations_are_listed(capsys):
    assert vidgan("list", "metrics") == 0
    listed = capsys.readouterr().out
    assert all(name in listed for name in ("acd", "c2st", "fid", "fvd", "is", "kid", "mcs"))
    assert vidgan("list", "features") == 0 and "shape-colour" in capsys.readouterr().out
    assert vidgan("list", "augmentations") == 0 and "diffaugment" in capsys.readouterr().out
