"""The report files: report.json as recorded, report.md rendered from it alone (here once, from
a fixture, and from the committed reports), iterations.png."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from vidgan.bench import sentences, tables
from vidgan.bench.verdicts import HEADLINE

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture
def full(recorded, profiled):
    """A recorded run with a peak, iterations with their roofline, a conv stack and a profile."""
    results = recorded(["amx_bf16", "avx512_bf16"], True)
    summary = results["devices"]["cpu"]
    summary["peak_sizes"], summary["sustained_peaks_gflops"] = {"bf16": "matmul 1024×1024"}, {"bf16": 380.0}
    summary["rows"] += [
        {"group": "peak", "name": "matmul 1024×1024", "config": "bf16", "direction": "gemm", "dtype": "bf16",
         "median": 0.006, "best": 0.005, "best_gflops_per_s": 400.0, "gives_peak": True, "runs": 3},
        {"group": "layer", "name": "video D Conv3d: categorical-video ×3 clips of 16", "direction": "fwd+bwd",
         "config": "bf16 · eager", "dtype": "bf16", "levers": {"precision": "bf16"}, "median": 0.1, "iqr": 0.01,
         "runs": 3, "speedup": 2.5, "gflop": 15.0, "gflops_per_s": 150.0, "peak_fraction": 0.375, "note": "",
         "baseline": False}]
    categories = [("convolutions", 500.0), ("other", 100.0)]
    results["profiles"] = [profiled(
        gflop=189.0, convolution_gflop=150.0, top=[{"op": "aten::conv3d", "self_ms": 321.0, "calls": 12, "share": 0.5}],
        categories=[{"category": c, "ms": ms, "share": ms / 600} for c, ms in categories])]
    return results


def test_a_full_report_renders_its_key_numbers(full):
    text = tables.markdown(full)
    assert sentences.speedup_line(full["devices"]["cpu"], "cpu") in text and "bf16 380.0 GFLOP/s" in text
    for row in ("| cpu | bf16 | matmul 1024×1024 | 6.0 ms | 5.0 ms | 400.0 | **peak** |",  # the GEMM peaks
                f"| cpu | {HEADLINE} | fast | 2.000 s | – | ±0% | 1.20x (1.20x–1.20x over 2 rounds) | 189 |",
                f"| cpu | {HEADLINE} | fast | 189 | – | – | 1.50x | 1.20x | 80% |",  # the roofline
                "| 100.0 ms | ±10% | 2.50x | 15 | 150.0 | 38% of bf16 |",  # the conv stack
                "| convolutions | 500.0 ms | 83% |",  # where the profile's time goes
                "| Conv3d 4→6 | 2×4×7×8×8 | 2 | 1.00 ms (60%) | 2.00 ms (60%) | weight | 2.40 ms (75%) |",
                "| `aten::conv3d` | 321.0 ms | 12 | 50% |"):
        assert row in text, row
    assert text.endswith("Raw numbers: [report.json](report.json).\n")


def test_write_records_the_results_and_renders_them(tmp_path, full):
    tables.write(full, tmp_path / "report")
    assert json.loads((tmp_path / "report" / "report.json").read_text()) == full
    assert (tmp_path / "report" / "report.md").read_text() == tables.markdown(full)
    with Image.open(tmp_path / "report" / "iterations.png") as chart:
        assert chart.width > 680 and chart.height == 40 + 26 * 2 + 20  # a bar per timed iteration


@pytest.mark.parametrize("folder", ["report", "report-xeon-amx"])
def test_the_committed_reports_render_again(folder):
    results = json.loads((BENCHMARKS / folder / "report.json").read_text())
    text = tables.markdown(results)
    for device, summary in results["devices"].items():
        assert sentences.speedup_line(summary, device) in text
    assert all(f"({p['file']})" in text for p in results["profiles"]) and len(results["profiles"]) == 6


def test_the_report_reads_data_only():
    """Rendering a report imports neither torch nor the runner."""
    code = ("import sys, vidgan.bench.tables; "
            "assert not {'torch', 'vidgan.bench.run', 'vidgan.bench.timing'} & set(sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
