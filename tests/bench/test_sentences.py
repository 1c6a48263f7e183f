"""The sentences put their verdicts' numbers into words (the words themselves are free to change)."""

import pytest

from vidgan.bench import sentences
from vidgan.bench.verdicts import BF16_FLAGS


def test_the_targets_carry_the_numbers_of_the_run(recorded):
    results = recorded(["avx", "avx2", "fma"], False)
    summary = results["devices"]["cpu"]
    line = sentences.speedup_line(summary, "cpu")
    for number in ("2.400 s", "2.000 s", "1.20x", "NOT met"):  # reference, fast, speed-up, against 3x
        assert number in line
    text = "\n".join(sentences.targets("cpu", summary, results))
    for number in ("1.20x", "1.50x", "0.9 GFLOP/s", "116.0", "avx avx2 fma", "14% removed"):  # 189 of 220 GFLOP
        assert number in text
    assert sentences.holds_back("cpu", summary, results, None, summary["rows"][1]) in text  # the target is missed


@pytest.mark.parametrize("flags", [["avx", "avx2", "fma"], ["avx512_bf16", "avx2"], ["amx_bf16", "avx512_bf16"]])
def test_the_bf16_flags_are_named_as_recorded(flags):
    text = sentences.bf16_flags_text({"cpu_flags": flags})
    assert all(flag in text for flag in [f for f in BF16_FLAGS if f in flags] or flags + list(BF16_FLAGS))
    assert sentences.bf16_flags_text({"cpu_flags": []}) != text
