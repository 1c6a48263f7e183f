"""The quality benchmark's pipeline on a tiny budget: train, evaluate, write the table and samples."""

import json

import numpy as np
import pytest
from PIL import Image
from tiny import TINY

from benchmarks import quality
from vidgan.config import load_config
from vidgan.errors import VidganError

TINY_BENCH = [*TINY, "train.steps=2", "train.checkpoint_every=1", "train.sample_every=1",
              "eval.options.mcs.steps=2", "eval.options.mcs.heldout_clips=4", "eval.options.c2st.steps=2"]


def test_a_tiny_benchmark_trains_evaluates_and_writes_its_report(tmp_path):
    out, runs = tmp_path / "report", tmp_path / "runs"
    report = quality.main(["mocogan-plus-small", "original", *TINY_BENCH, "--num-videos", "8", "--curve",
                           "--out", str(out), "--runs", str(runs)])
    rows = {r["variant"]: r for r in report["results"]}
    assert list(rows) == ["mocogan-plus-small", "original"]
    for name, row in rows.items():
        assert [c["step"] for c in row["curve"]] == [1, 2]  # every checkpoint evaluated
        assert 0 <= row["curve"][0]["train_seconds"] <= row["curve"][1]["train_seconds"] > 0
        # the row carries the numbers of its last checkpoint's eval.json
        metrics = json.loads((runs / name / "eval" / "step-0000002" / "eval.json").read_text())["metrics"]
        assert (row["acd"], row["acd_real"]) == (metrics["acd"]["value"], metrics["acd"]["reference"])
        assert (row["mcs"], row["mcs_real"]) == (metrics["mcs"]["value"], metrics["mcs"]["classifier_accuracy"])
        # MCS is a share of the 8 videos, whose asked-for categories cycle evenly: the mean of
        # its per-category shares
        shares = metrics["mcs"]["per_category"].values()
        assert row["mcs"] * 8 == round(row["mcs"] * 8) and row["mcs"] == pytest.approx(sum(shares) / len(shares))
        met = row["acd"] <= 1.5 * row["acd_real"] and row["mcs"] >= 0.9  # the shapes suite's targets
        assert row["meets_targets"] == met
        assert (out / "samples" / f"{name}.gif").is_file() and (out / "samples" / f"{name}.png").is_file()
    saved = json.loads((out / "report.json").read_text())
    assert saved["results"][0]["acd"] == rows["mocogan-plus-small"]["acd"]
    assert saved["machine"]["cpu"] and "native_bf16_cpu" in saved["machine"]
    table = (out / "report.md").read_text()
    assert "| `mocogan-plus-small` |" in table and "| `original` |" in table
    assert f"{rows['original']['acd']:.2f} ({rows['original']['acd_real']:.2f})" in table
    # the two variants were evaluated with one MCS classifier
    assert len(list(runs.glob("mcs-classifier-*.pt"))) == 1


def test_trained_variants_are_not_trained_or_evaluated_again(tmp_path):
    args = ["original", *TINY_BENCH, "train.steps=1", "--num-videos", "4", "--out", str(tmp_path / "r"),
            "--runs", str(tmp_path / "runs")]
    first = quality.main(args)
    run = tmp_path / "runs" / "original"
    stamp, evaluated = (run / "metrics.jsonl").read_text(), (run / "eval" / "step-0000001" / "eval.json").stat()
    second = quality.main([*args, "--note", "two runs at a time"])
    assert (run / "metrics.jsonl").read_text() == stamp
    assert (run / "eval" / "step-0000001" / "eval.json").stat().st_mtime_ns == evaluated.st_mtime_ns
    assert second["results"][0]["acd"] == first["results"][0]["acd"]
    assert "\ntwo runs at a time\n" in (tmp_path / "r" / "report.md").read_text()
    third = quality.main([*args, "--note=one run"])
    assert "--note" not in second["command"] and "--note" not in third["command"]  # the note has its own line
    assert third["note"] == "one run"


def test_an_unknown_variant_is_a_one_line_error(tmp_path):
    with pytest.raises(VidganError, match="unknown variant 'quikstart'; the shapes suite's variants are "
                                          "mocogan-plus-small, original, gru-motion, no-projection"):
        quality.main(["quikstart", "--out", str(tmp_path)])


def test_the_actions_suite_needs_its_data_folder(tmp_path):
    with pytest.raises(VidganError, match=f"the actions suite's data folder {tmp_path / 'none'} does not "
                                          "exist: pass --data-root FOLDER"):
        quality.main(["--suite", "actions", "--data-root", str(tmp_path / "none"), "--out", str(tmp_path)])


@pytest.mark.parametrize(("row", "met"), [
    ({"acd": 3.0, "acd_real": 2.0, "mcs": 0.8, "c2st": 0.75}, True),
    ({"acd": 3.1, "acd_real": 2.0, "mcs": 0.8, "c2st": 0.75}, False),
    ({"acd": 3.0, "acd_real": 2.0, "mcs": 0.79, "c2st": 0.75}, False),
    ({"acd": 3.0, "acd_real": 2.0, "mcs": 0.8, "c2st": 0.76}, False),
])
def test_the_actions_targets_bound_acd_mcs_and_c2st(row, met):
    assert quality.SUITES["actions"].targets.met(row) is met
    assert quality.SUITES["shapes"].targets.met({**row, "mcs": 0.9}) is (row["acd"] <= 3.0)  # no c2st bound


def test_the_actions_suite_reports_the_real_control_and_memorisation(tmp_path):
    """A folder of frame strips in two class folders stands in for the human actions."""
    root, rng = tmp_path / "clips", np.random.default_rng(0)
    for k in range(8):
        (root / str(k % 2)).mkdir(parents=True, exist_ok=True)
        frames = rng.integers(0, 256, (32, 32 * 13, 3), dtype=np.uint8)
        Image.fromarray(frames).save(root / str(k % 2) / f"clip{k}.png")
    out = tmp_path / "report"
    tiny = [item for item in TINY_BENCH if not item.startswith("data.options")]  # the synthetic set's option
    report = quality.main(["--suite", "actions", "--data-root", str(root), "motion-gate", *tiny, "train.steps=1",
                           "generator.dim_z_category=2", "discriminators.video.frames=[0,1,4,9,12]",
                           "--num-videos", "8", "--out", str(out), "--runs", str(tmp_path / "runs")])
    row = report["results"][0]
    record = json.loads((tmp_path / "runs" / "motion-gate" / "eval" / "step-0000001" / "eval.json").read_text())
    metrics = record["metrics"]
    assert row["variant"] == "motion-gate" and row["c2st_real"] == metrics["c2st"]["reference"]
    assert (row["memorisation"], row["copied"]) == (metrics["memorisation"]["value"],
                                                    metrics["memorisation"]["copied"])
    assert f"root: {root}" in (tmp_path / "runs" / "motion-gate" / "config.yaml").read_text()
    table = (out / "report.md").read_text()
    assert f"{row['c2st']:.3f} ({row['c2st_real']:.3f})" in table
    assert (row["nn_c2st"], row["nn_c2st_real"]) == (metrics["nn-c2st"]["value"], metrics["nn-c2st"]["reference"])
    assert f"{row['nn_c2st']:.3f} ({row['nn_c2st_real']:.3f}) | {row['memorisation']:.2f} ({row['copied']:.0%})" in table


@pytest.mark.parametrize("suite", list(quality.SUITES))
def test_every_variant_of_every_suite_is_a_valid_config(suite):
    for variant in quality.SUITES[suite].variants.values():
        load_config([f"recipe={variant.recipe}", *variant.overrides])  # a bad key or value raises


def test_the_critics_suite_gives_mocogan_plus_small_layereds_critics():
    variants = quality.SUITES["shapes-critics"].variants
    quickstart = load_config([f"recipe={variants['mocogan-plus-small'].recipe}"])
    critics = load_config([f"recipe={variants['sparse-critics'].recipe}", *variants["sparse-critics"].overrides])
    layered = load_config(["recipe=layered"])
    assert critics.generator == quickstart.generator
    assert critics.discriminators == layered.discriminators


def test_the_quick_start_is_the_real_video_recipe_at_32x32():
    small = load_config(["recipe=layered-small"])
    layered = load_config(["recipe=layered", "data.image_size=32", "data.options={num_classes: 4}"])
    assert small.generator == layered.generator and small.discriminators == layered.discriminators
    assert small.generator.shift and small.generator.motion_gate and small.data == layered.data
    assert quality.SUITES["quickstart"].variants["layered-small"].recipe == "layered-small"


def test_the_rows_measured_before_the_gate_pin_the_ungated_generator():
    """Rows trained when layered had no gate must still build that generator."""
    for suite, name in [("actions", "ungated"), ("actions", "reference-mode"), ("shapes-generators", "ramp-sine")]:
        variant = quality.SUITES[suite].variants[name]
        cfg = load_config([f"recipe={variant.recipe}", *variant.overrides])
        assert not cfg.generator.shift and not cfg.generator.motion_gate
