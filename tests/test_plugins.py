"""Third-party plugins installed with pip: listed with their origin, trainable, and isolated when broken.

The example plugins in ``plugins/`` are pip-installed (from a copy, so the source tree
stays clean) into a throwaway folder, and a deliberately broken distribution is written
beside them. Each check runs ``python -m vidgan`` in a fresh process with that folder
first on ``PYTHONPATH``, so vidgan finds the plugins through their entry points exactly
as it finds distributions in site-packages, whether or not the plugins are also
installed in the test environment. The minimal plugin of the plugin author's guide
(``docs/plugins.md``) is installed and tested the same way, from the page itself.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = ["vidgan-vgan", "vidgan-tgan"]
BROKEN = {  # entry points of the broken distribution: one import error, one clash with a built-in
    "vidgan.generators": "broken-generator = vidgan_broken:Generator",
    "vidgan.discriminators": "video = vidgan_broken:Video",
}
IMPORT_ERROR = "vidgan-broken needs libcheese, which is not installed"
SMALL = ["data.image_size=32", "data.video_length=8", "data.every_nth=1", "data.options.num_videos=8",
         "generator.ngf=8", "generator.dim_z=16", "discriminators.video.ndf=8",
         "discriminators.video.batch=2", "train.num_samples=2", "device=cpu"]


def pip_install(target: Path, *sources: Path) -> None:
    """``pip install`` source folders into ``target`` (offline, with this environment's setuptools)."""
    result = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                             "--no-index", "--target", str(target), *map(str, sources)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """A folder holding the pip-installed example plugins and a broken distribution."""
    work = tmp_path_factory.mktemp("plugins")
    target = work / "site"
    pip_install(target, *[shutil.copytree(ROOT / "plugins" / name, work / name,
                                          ignore=shutil.ignore_patterns("*.egg-info", "__pycache__", "build"))
                          for name in PLUGINS])
    info = target / "vidgan_broken-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: vidgan-broken\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("".join(f"[{group}]\n{line}\n" for group, line in BROKEN.items()))
    (target / "vidgan_broken.py").write_text(f"raise ImportError({IMPORT_ERROR!r})\n")
    return target


def run(site: Path, *args: str, disable: bool = False, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "VIDGAN_DISABLE_PLUGINS"}
    env["PYTHONPATH"] = os.pathsep.join([str(site), *filter(None, [env.get("PYTHONPATH")])])
    env["COLUMNS"] = "200"
    if disable:
        env["VIDGAN_DISABLE_PLUGINS"] = "1"
    return subprocess.run([sys.executable, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300)


def table(stdout: str) -> set[tuple[str, ...]]:
    """The (kind, name, origin) rows of `vidgan list`'s table."""
    rows = [tuple(cell.strip() for cell in line.strip("│ ").split("│")) for line in stdout.splitlines()]
    return {row for row in rows if len(row) == 3}


def test_the_plugins_come_from_the_throwaway_folder(site):
    result = run(site, "-c", "import vidgan_vgan, vidgan_tgan; print(vidgan_vgan.__file__, vidgan_tgan.__file__)")
    assert all(Path(f).is_relative_to(site) for f in result.stdout.split()), result.stdout


def test_pip_installed_plugins_are_listed_and_a_broken_one_reported(site):
    result = run(site, "-m", "vidgan", "list")
    assert result.returncode == 0, result.stderr
    rows = table(result.stdout)
    assert {("generators", "vgan", "vidgan-vgan 0.1.0"), ("discriminators", "vgan", "vidgan-vgan 0.1.0"),
            ("recipes", "vgan", "vidgan-vgan 0.1.0"), ("generators", "tgan", "vidgan-tgan 0.1.0"),
            ("losses", "wgan-gp", "vidgan-tgan 0.1.0"), ("recipes", "tgan", "vidgan-tgan 0.1.0"),
            ("generators", "mocogan", "built-in"), ("discriminators", "video", "built-in")} <= rows
    assert not any(name == "broken-generator" for _, name, _ in rows)
    failures = [line for line in result.stderr.splitlines() if line.startswith("failed")]
    assert sorted(failures) == sorted([
        f"failed generators 'broken-generator': vidgan-broken 0.1: ImportError: {IMPORT_ERROR}",
        "failed discriminators 'video': vidgan-broken 0.1: discriminator 'video' is registered twice "
        "(built-in and vidgan-broken 0.1)",
    ])


def test_plugin_recipe_trains_beside_a_broken_plugin(site, tmp_path):
    run_dir = tmp_path / "run"
    result = run(site, "-m", "vidgan", "run", "recipe=vgan", "train.steps=2", f"run_dir={run_dir}", *SMALL)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2] and {"d_video", "g"} <= rows[0].keys()
    assert "name: vgan" in (run_dir / "config.yaml").read_text()
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir())[-1].startswith("step-0000002")


def test_using_the_broken_plugin_is_a_one_line_error(site, tmp_path):
    result = run(site, "-m", "vidgan", "run", "recipe=mocogan", "generator.name=broken-generator",
                 f"run_dir={tmp_path / 'run'}")
    assert result.returncode == 2
    assert result.stderr.strip() == (f"error: generator 'broken-generator' failed to load: "
                                     f"vidgan-broken 0.1: ImportError: {IMPORT_ERROR}")
    assert not (tmp_path / "run").exists()


def test_disabling_plugins_hides_them_all(site, tmp_path):
    listed = run(site, "-m", "vidgan", "list", disable=True)
    assert listed.returncode == 0 and "failed" not in listed.stderr
    names = {name for _, name, _ in table(listed.stdout)}
    assert "mocogan" in names and not names & {"vgan", "tgan", "wgan-gp", "broken-generator"}
    result = run(site, "-m", "vidgan", "run", "recipe=vgan", f"run_dir={tmp_path / 'run'}", disable=True)
    assert result.returncode == 2 and "unknown recipe 'vgan'" in result.stderr


def test_the_guides_minimal_plugin_works(tmp_path):
    guide = (ROOT / "docs" / "plugins.md").read_text()
    files = dict(re.findall(r'^```\w+ title="([^"]+)"\n(.*?)^```$', guide, re.M | re.S))
    assert set(files) == {"pyproject.toml", "src/vidgan_motion/__init__.py", "src/vidgan_motion/discriminator.py",
                          "src/vidgan_motion/mocogan-motion.yaml", "tests/test_motion.py"}
    plugin = tmp_path / "vidgan-motion"
    for path, body in files.items():
        (plugin / path).parent.mkdir(parents=True, exist_ok=True)
        (plugin / path).write_text(body)
    pip_install(tmp_path / "site", plugin)

    tests = run(tmp_path / "site", "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests", cwd=plugin)
    assert tests.returncode == 0 and "2 passed" in tests.stdout, tests.stdout + tests.stderr

    run_dir = tmp_path / "run"
    small = ["data.image_size=32", "data.video_length=13", "data.every_nth=1", "data.options.num_videos=8",
             "generator.ngf=8", "train.num_samples=2", "device=cpu"] + [
        f"discriminators.{critic}.{key}" for critic in ("image", "video", "motion") for key in ("ndf=4", "batch=2")]
    result = run(tmp_path / "site", "-m", "vidgan", "run", "recipe=mocogan-motion", "train.steps=1",
                 f"run_dir={run_dir}", *small)
    assert result.returncode == 0, result.stderr
    [row] = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert {"d_image", "d_video", "d_motion", "g"} <= row.keys()
