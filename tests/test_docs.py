"""The documentation site builds strictly and renders in a real browser.

The site is built with ``mkdocs build --strict`` into a temporary folder, served on
localhost from a thread, and pages are loaded in headless Chromium (Debian's
``chromium``), whose ``--dump-dom`` prints the page after its scripts ran. The browser
tests are skipped only where Chromium is not installed; the build needs the ``docs``
extra (``pip install -e '.[docs]'``).
"""

from __future__ import annotations

import functools
import importlib.util
import html
import os
import re
import subprocess
import sys
import threading
import urllib.request
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from browser import chromium

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    pytest.importorskip("mkdocs", reason="the docs extra is not installed: pip install -e '.[docs]'")
    pytest.importorskip("mkdocstrings", reason="the docs extra is not installed: pip install -e '.[docs]'")
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
                            cwd=ROOT, capture_output=True, text=True, timeout=600,
                            env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert result.returncode == 0, result.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def url(site):
    handler = functools.partial(QuietHandler, directory=str(site))
    with ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield f"http://127.0.0.1:{server.server_address[1]}/"
        server.shutdown()
        thread.join()


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def browse(url: str, tmp_path: Path) -> str:
    """The DOM of a page after headless Chromium loaded it and ran its scripts."""
    return chromium(url, tmp_path).stdout


def text(dom: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", dom))


def nav(dom: str) -> set[str]:
    """The texts of the navigation links."""
    links = re.findall(r'<a[^>]*class="md-nav__link[^"]*"[^>]*>(.*?)</a>', dom, re.S)
    return {" ".join(text(link).split()) for link in links}


def title(dom: str) -> str:
    return html.unescape(re.search(r"<title>(.*?)</title>", dom, re.S).group(1)).strip()


def test_front_page_renders(url, tmp_path):
    dom = browse(url, tmp_path)
    assert title(dom) == "vidgan"
    assert {"Quick start", "Concepts", "Components", "Controlling content and motion", "Writing a plugin",
            "CLI reference", "Registry"} <= nav(dom)
    code = [text(c) for c in re.findall(r"<code[^>]*>.*?</code>", dom, re.S)]
    assert any("vidgan run recipe=mocogan train.steps=500" in c for c in code)
    assert 'title="Copy to clipboard"' in dom  # the button the theme's script adds to code blocks
    for image in re.findall(r'<img[^>]+src="([^"]+)"', dom):
        with urllib.request.urlopen(url + image) as response:
            assert response.status == 200 and len(response.read()) > 1000, image


def test_api_page_renders(url, tmp_path):
    dom = browse(url + "api/testing/", tmp_path)
    assert title(dom) == "Testing plugins - vidgan"
    assert {"Home", "Registry", "Testing plugins"} <= nav(dom)
    assert re.search(r'class="md-nav__link md-nav__link--active"[^>]*>\s*<span[^>]*>\s*Testing plugins', dom)
    headings = text(" ".join(re.findall(r'<h\d[^>]*class="doc doc-heading".*?</h\d>', dom, re.S)))
    assert "check_component" in headings and "sweep" in headings
    code = [text(c) for c in re.findall(r"<code[^>]*>.*?</code>", dom, re.S)]
    assert any('check_component("losses", "hinge")' in c for c in code)


def builtins() -> list[tuple[str, str]]:
    """(kind, name) of every built-in, as `vidgan list` prints them in a fresh process."""
    env = {**os.environ, "VIDGAN_DISABLE_PLUGINS": "1", "COLUMNS": "200"}
    listed = subprocess.run([sys.executable, "-m", "vidgan", "list"], env=env, capture_output=True, text=True,
                            timeout=300, check=True).stdout
    rows = [[cell.strip() for cell in line.strip("│ ").split("│")] for line in listed.splitlines()]
    return [(kind, name) for kind, name, origin in (r for r in rows if len(r) == 3) if origin == "built-in"]


def test_every_builtin_is_documented(site):
    pages = {page: (site / page / "index.html").read_text() for page in ("components", "recipes", "cli")}
    listed = builtins()
    assert ("discriminators", "patch-video") in listed and ("recipes", "mocogan") in listed
    for kind, name in listed:
        if kind == "recipes":
            assert f"<code>{name}</code>" in pages["recipes"], f"recipe {name}"
        else:
            assert f'id="{kind}-{name}"' in pages["components"], f"{kind}/{name}"
    for command in ["run", "show", "list", "generate"]:
        assert f"$ vidgan {command} --help" in text(pages["cli"])


def test_sample_script_writes_the_assets(tmp_path):
    from PIL import Image

    spec = importlib.util.spec_from_file_location("make_samples", ROOT / "docs" / "scripts" / "make_samples.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    script.main(["--steps", "2", "--device", "cpu", "--out", str(tmp_path)])
    with Image.open(tmp_path / "samples" / "real-vs-generated.gif") as gif:  # two grids of 8 videos, twice as large
        grid = 2 * (3 * 34 + 2)
        assert gif.n_frames == 16 and gif.size == (2 * grid + script.GAP, grid + script.LABEL)
    for name, (columns, rows) in [("content-motion", (4, 4)), ("interpolate-content", (8, 2))]:
        with Image.open(tmp_path / "samples" / f"{name}.gif") as gif:
            assert gif.n_frames == 16 and gif.size == (columns * 34 + 2, rows * 34 + 2)
    if script.CHROMIUM:
        with Image.open(tmp_path / "report.png") as shot:
            assert shot.size == script.SCREEN


def test_sample_script_takes_the_benchmarks_run(tmp_path):
    """``--benchmark VARIANT``: real clips beside the committed sample GIF of that variant."""
    from PIL import Image, ImageSequence

    spec = importlib.util.spec_from_file_location("make_samples", ROOT / "docs" / "scripts" / "make_samples.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    script.main(["--benchmark", "layered-small", "--out", str(tmp_path)])
    committed = ROOT / "benchmarks" / "quality" / "quickstart" / "samples" / "layered-small.gif"
    with Image.open(tmp_path / "samples" / "real-vs-generated.gif") as made, Image.open(committed) as sample:
        right = (sample.width * 2 + script.GAP, script.LABEL, sample.width * 4 + script.GAP, script.LABEL + 2 * sample.height)
        for ours, theirs in zip(ImageSequence.Iterator(made), ImageSequence.Iterator(sample)):
            half = ours.convert("RGB").crop(right).resize(sample.size, Image.NEAREST)
            errors = [abs(a - b) for a, b in zip(half.tobytes(), theirs.convert("RGB").tobytes())]
            close = sum(e <= 8 for e in errors) / len(errors)
            assert close > 0.99 and sum(errors) / len(errors) < 1, close  # the benchmark's videos, up to the palette
    with pytest.raises(SystemExit, match="no variant 'nope'"):
        script.main(["--benchmark", "nope", "--out", str(tmp_path)])
