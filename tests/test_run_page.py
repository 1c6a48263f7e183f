"""The run report: what it shows, built from the run folder alone, and that a browser renders it."""

from __future__ import annotations

import base64
import io
import json
import re
import shutil

import pytest
from browser import chromium
from cli_runner import vidgan
from omegaconf import OmegaConf
from PIL import Image

from vidgan.config import load_config
from vidgan.run_page import MAX_SAMPLES, _spread, render, scalar_groups, segments
from vidgan.training import checkpoint
from vidgan.build import build_generator

CELL = 32 + 2


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A 3-step run of the categorical recipe with a sample GIF at every step."""
    from tiny import TINY

    run_dir = tmp_path_factory.mktemp("report") / "run"
    assert vidgan("run", "recipe=mocogan-categorical", "train.steps=3", "train.sample_every=1",
                  f"run_dir={run_dir}", *TINY) == 0
    return run_dir


@pytest.fixture
def run_dir(trained, tmp_path):
    """A copy of the trained run with extra scalars, a resumed segment and an eval.json."""
    run_dir = tmp_path / "run"
    shutil.copytree(trained, run_dir)
    rows = [{"step": s, "time": t, "d_image": 1.0, "d_video": 2.0, "g": 3.0 + s,
             "acc_image": 0.5, "acc_video": 0.25 * s, "gradnorm": 10.0 * s}
            for s, t in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 0.5), (5, 1.0)]]  # resumed at step 4
    rows[2]["g"] = float("nan")  # a skipped step's loss is left out of the plot
    (run_dir / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows) + '{"step": 6, "ti')
    record = {"checkpoint": "run/checkpoints/step-0000003.pt", "step": 3, "generator_weights": "generator",
              "num_videos": 64, "seed": 0, "data": {"every_nth": 1},
              "metrics": {"acd": {"value": 0.12345, "reference": 0.5,
                                  "protocol": {"resolution": [32, 32], "frames_per_video": 13}}}}
    (run_dir / "eval.json").write_text(json.dumps(record))
    return run_dir


def images(page: str) -> list[Image.Image]:
    return [Image.open(io.BytesIO(base64.b64decode(data)))
            for data in re.findall(r'<img src="data:image/gif;base64,([^"]+)"', page)]


def test_vidgan_run_writes_the_report_and_the_machine(trained):
    page = (trained / "report.html").read_text()
    assert "<h1>vidgan run run</h1>" in page and "mocogan-categorical" in page
    (machine,) = [json.loads(line) for line in (trained / "machine.jsonl").read_text().splitlines()]
    assert machine["step"] == 3 and machine["device"] == "cpu" and machine["torch"] in page


def test_vidgan_eval_rewrites_the_page_of_the_run_it_writes_eval_json_into(trained, tmp_path):
    run_dir = shutil.copytree(trained, tmp_path / "run")
    assert "no eval.json" in (run_dir / "report.html").read_text()
    args = ["metrics=[acd]", "num_videos=4", "batch_size=4"]
    assert vidgan("eval", run_dir, *args, f"out={tmp_path / 'elsewhere'}") == 0
    assert "no eval.json" in (run_dir / "report.html").read_text()  # eval.json went elsewhere
    assert vidgan("eval", run_dir, *args) == 0
    acd = json.loads((run_dir / "eval.json").read_text())["metrics"]["acd"]
    page = (run_dir / "report.html").read_text()
    assert "no eval.json" not in page
    assert f"<td>acd</td><td>{acd['value']:.4g}</td><td>{acd['reference']:.4g}</td>" in page


def test_a_report_that_cannot_be_written_is_a_warning_and_the_run_is_kept(tmp_path, tiny, caplog):
    run_dir = tmp_path / "run"
    (run_dir / "report.html").mkdir(parents=True)  # the page cannot be written over a folder
    assert vidgan("run", "recipe=mocogan-categorical", "train.steps=2", f"run_dir={run_dir}", *tiny) == 0
    assert "could not write the run's report: VidganError: cannot write" in caplog.text
    assert checkpoint.load(run_dir)["step"] == 2 and (run_dir / "machine.jsonl").is_file()


def test_the_report_shows_the_run(run_dir):
    assert vidgan("report", run_dir) == 0
    page = (run_dir / "report.html").read_text()
    # every numeric key but step and time, grouped: the losses, acc_*, gradnorm
    svgs = re.findall(r'<svg class="plot".*?</svg>', page, re.S)
    keys = [re.findall(r'data-key="([^"]+)"', svg) for svg in svgs]
    assert keys == [["d_image", "d_video", "g"], ["acc_image", "acc_video"], ["gradnorm"]]
    assert "<h2>Losses</h2>" in page and "<h2>acc: acc_image, acc_video</h2>" in page
    g_points = re.search(r'data-key="g"><polyline[^>]*points="([^"]+)"', svgs[0]).group(1).split()
    assert len(g_points) == 4  # 5 steps, one NaN left out
    # speed from the times: 3 steps in 4 s, then 2 steps in 1 s
    assert re.search(r"iterations per second</td><td>1</td>", page)
    assert "3 steps at 0.75 it/s; 2 steps at 2 it/s" in page
    # the sample GIFs, the grid, the eval table, the config
    gifs = images(page)
    assert [g.size for g in gifs[:3]] == [(2 * CELL + 2, 2 * CELL + 2)] * 3  # 4 samples each
    assert [c for c in re.findall(r"<figcaption>step (\d+)</figcaption>", page)] == ["1", "2", "3"]
    assert gifs[3].size == (4 * CELL + 2, 4 * CELL + 2) and gifs[3].n_frames == 13  # 4 contents × 4 motions
    assert all(g.n_frames == 13 for g in gifs)
    assert re.search(r"<td>acd</td><td>0.1235</td><td>0.5</td>", page)
    assert "dim_z_category: 6" in page and "<h2>Config</h2>" in page
    # self-contained: nothing to fetch, no script
    assert not re.search(r'(src|href)="(?!data:)', page) and "<script" not in page and "url(" not in page


def test_without_checkpoints_samples_or_eval_the_page_says_so(run_dir):
    for name in ("checkpoints", "samples"):
        shutil.rmtree(run_dir / name)
    for name in ("eval.json", "metrics.jsonl", "machine.jsonl"):
        (run_dir / name).unlink()
    page = render(run_dir)
    assert "no grid: " in page and "has no checkpoints" in page
    assert "samples/ holds no step-*.gif" in page and "no eval.json" in page
    assert "metrics.jsonl is missing or empty" in page and "machine.jsonl is missing" in page
    assert "<img" not in page and "<svg" not in page


def test_a_generator_without_latent_parts_gets_no_grid(tmp_path):
    pytest.importorskip("vidgan_tgan", reason="vidgan-tgan is not installed: pip install -e ./plugins/vidgan-tgan")
    cfg = load_config(["recipe=tgan", f"run_dir={tmp_path}", "data.image_size=32", "data.video_length=8",
                       "generator.ngf=8", "generator.ntf=16", "generator.dim_z=16", "device=cpu"])
    OmegaConf.save(cfg, tmp_path / "config.yaml")
    checkpoint.save({"step": 0, "config": OmegaConf.to_container(cfg), "generator": build_generator(cfg).state_dict()},
                    checkpoint.checkpoint_path(tmp_path, 0))
    page = " ".join(render(tmp_path).split())
    assert "no grid: --grid content-motion needs a generator with the latent parts content, motion; tgan " \
           "declares no latent parts" in page


def test_report_errors(tmp_path, capsys):
    assert vidgan("report", tmp_path / "missing") == 2
    assert "does not exist" in capsys.readouterr().err
    assert vidgan("report", tmp_path) == 2
    assert "no config.yaml; point vidgan report at a run folder" in capsys.readouterr().err


def test_helpers():
    assert segments([{"step": 1, "time": 1.0}, {"step": 2, "time": 0.5}, {"step": 3}]) == [(1, 1.0), (1, 0.5)]
    groups = scalar_groups([{"step": 1, "time": 0, "g": 1, "d_frames": 1, "d_x_acc": 1, "lr": 1, "ok": True}],
                           critics=["frames"])
    assert groups == {"losses": ["d_frames", "g"], "d": ["d_x_acc"], "lr": ["lr"]}
    assert _spread(list(range(30)), MAX_SAMPLES)[::11] == [0, 29]
    assert len(_spread(list(range(30)), MAX_SAMPLES)) == MAX_SAMPLES


CHECK = """<script>
addEventListener("load", () => {
  document.body.dataset.widths = [...document.images].map(image => image.naturalWidth).join(",");
  document.body.dataset.plots = document.querySelectorAll("svg.plot polyline").length;
});
</script>"""


def test_the_page_renders_in_chromium(run_dir, tmp_path):
    assert vidgan("report", run_dir) == 0
    page = (run_dir / "report.html").read_text()
    checked = tmp_path / "checked.html"  # the report with a script that reports what the browser decoded
    checked.write_text(page.replace("</body>", CHECK + "</body>"))
    result = chromium(checked.as_uri(), tmp_path, "--enable-logging=stderr", "--v=0")
    widths = re.search(r'data-widths="([^"]*)"', result.stdout).group(1).split(",")
    assert len(widths) == page.count("<img") == 4 and all(int(w) > 0 for w in widths)
    assert int(re.search(r'data-plots="(\d+)"', result.stdout).group(1)) == 2 * 6  # faint and smoothed per key
    assert "CONSOLE" not in result.stderr, [line for line in result.stderr.splitlines() if "CONSOLE" in line]


def test_the_report_shows_the_data_time(tmp_path):
    from vidgan.run_page import plots_section, run_section

    rows = [{"step": s, "time": t, "data_time": wait, "g": 1.0, "d_video": 1.0}  # 5 steps in 2.5 s, 2 s of it data
            for s, t, wait in zip(range(1, 6), [0.1, 0.2, 0.3, 0.4, 2.5], [0.01, 0.02, 0.01, 0.02, 1.94])]
    assert re.search(r"data time per iteration</td><td>mean 400 ms \(80% of the iteration\), median 20 ms</td>",
                     run_section(tmp_path, {"recipe": "r"}, rows))
    assert "<h2>data: data_time</h2>" in plots_section(rows, ["video"])
    assert "data time" not in run_section(tmp_path, {}, [{k: v for k, v in r.items() if k != "data_time"}
                                                         for r in rows])
