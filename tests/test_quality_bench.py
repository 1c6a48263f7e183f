"""The quality benchmark's pipeline on a tiny budget: train, evaluate, write the table and samples."""

import json

import pytest
from tiny import TINY

from benchmarks import quality
from vidgan.errors import VidganError

TINY_BENCH = [*TINY, "train.steps=2", "train.checkpoint_every=1", "train.sample_every=1",
              "eval.options.mcs.steps=2", "eval.options.mcs.heldout_clips=4"]


def test_a_tiny_benchmark_trains_evaluates_and_writes_its_report(tmp_path):
    out, runs = tmp_path / "report", tmp_path / "runs"
    report = quality.main(["quickstart", "original", *TINY_BENCH, "--num-videos", "8", "--curve",
                           "--out", str(out), "--runs", str(runs)])
    rows = {r["variant"]: r for r in report["results"]}
    assert list(rows) == ["quickstart", "original"]
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
        met = row["acd"] <= quality.ACD_RATIO * row["acd_real"] and row["mcs"] >= quality.MCS_MIN
        assert row["meets_targets"] == met
        assert (out / "samples" / f"{name}.gif").is_file() and (out / "samples" / f"{name}.png").is_file()
    saved = json.loads((out / "report.json").read_text())
    assert saved["results"][0]["acd"] == rows["quickstart"]["acd"]
    assert saved["machine"]["cpu"] and "native_bf16_cpu" in saved["machine"]
    table = (out / "report.md").read_text()
    assert "| `quickstart` |" in table and "| `original` |" in table
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
    with pytest.raises(VidganError, match="unknown variant 'quikstart'; the variants are quickstart, original, gru-motion, no-projection, spectral-hinge"):
        quality.main(["quikstart", "--out", str(tmp_path)])
