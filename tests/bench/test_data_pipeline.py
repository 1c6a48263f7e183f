"""vidgan bench --data: every layout timed on the same videos, the report names the machine."""

import json

import pytest
from cli_runner import vidgan

from video_maker import moving_frames, write_video

pytest.importorskip("av")


def test_the_data_pipeline_case_times_every_layout(tmp_path, capsys):
    for i in range(2):
        write_video(tmp_path / "videos" / f"c{i}" / "v.mp4", moving_frames(40, 48, 80, seed=i), "libx264", gop=10)
    out = tmp_path / "report"
    assert vidgan("bench", "--data", "--data-root", tmp_path / "videos", "--min-time", "0.01", "--out", out) == 0
    results = json.loads((out / "data-pipeline.json").read_text())
    assert [r["layout"] for r in results["rows"]] == [
        "video files, no cache", "video files, warm cache", "prepared (.npy, memory-mapped)",
        "frame folders (JPEG)", "frame strips (PNG)"]
    assert all(r["clips_per_second"] > 0 and r["clips"] >= 4 for r in results["rows"])
    prepared = results["rows"][2]
    assert 64 * 64 * 3 < prepared["bytes_per_frame"] < 1.01 * 64 * 64 * 3  # the frames, headers and summary
    assert results["frames"] == 80 and results["machine"]["cores"] >= 1
    page = (out / "data-pipeline.md").read_text()
    assert results["machine"]["cpu"] in page and "| prepared (.npy, memory-mapped) |" in page
    assert "data pipeline:" in capsys.readouterr().err
