"""``vidgan report RUN``: one self-contained HTML page that shows a run.

The page is built from the run folder alone (``config.yaml``, ``metrics.jsonl``,
``samples/step-*.gif``, ``eval.json``, ``machine.jsonl``, the newest checkpoint), so
the report of any run can be rebuilt at any time. It needs no network: plots are
inline SVG, images are embedded as base64 ``data:`` URIs, styles are inline, and there
is no script. It shows:

- the run: recipe, steps, training time and iterations per second from
  ``metrics.jsonl``'s times (each ``vidgan run`` of a resumed run is one segment), the
  data time (``data_time``: an iteration's wait for its real batches; its mean, share of
  the iteration and median), and the machines that ran it (``machine.jsonl``, written
  by ``vidgan run``);
- the losses (``g`` and ``d_<critic>``) in one plot, and every other numeric key of
  ``metrics.jsonl`` but ``step`` and ``time`` in plots grouped by the name's first
  word (``acc_image`` and ``acc_video`` share one);
- up to :data:`MAX_SAMPLES` sample GIFs spread over training, first and last included;
- a content/motion grid (:func:`vidgan.generate.content_motion_grid`) decoded from the
  newest checkpoint, when its generator declares those latent parts;
- the metrics of ``eval.json``, and the resolved ``config.yaml``.

``vidgan run`` writes ``RUN/report.html`` when training ends, and ``vidgan eval RUN``
rewrites it beside the ``eval.json`` it writes.

Example:
    >>> write_report("runs/shapes")  # doctest: +SKIP
    PosixPath('runs/shapes/report.html')
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import os
import platform
import re
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable

import torch
import yaml
from PIL import Image

from vidgan.errors import VidganError
from vidgan.plots import line_chart

MAX_SAMPLES = 12
GRID = (4, 4)  # contents × motions of the report's grid


# reading the run folder ---------------------------------------------------------------------
def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The records of a JSON-lines file; lines cut short (a crash mid-write) are skipped."""
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text().splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows


def segments(rows: list[dict[str, Any]]) -> list[tuple[int, float]]:
    """``(steps, seconds)`` of each ``vidgan run`` in the log: its ``time`` restarts at each resume.

    Example:
        >>> segments([{"step": 1, "time": 2.0}, {"step": 2, "time": 3.0}, {"step": 3, "time": 1.5}])
        [(2, 3.0), (1, 1.5)]
    """
    found: list[tuple[int, float]] = []
    last = math.inf
    for row in rows:
        if not isinstance(row.get("time"), (int, float)):
            continue
        if row["time"] < last:
            found.append((0, 0.0))
        found[-1] = (found[-1][0] + 1, float(row["time"]))
        last = row["time"]
    return found


def scalar_groups(rows: list[dict[str, Any]], critics: Iterable[str]) -> dict[str, list[str]]:
    """Plot titles and the keys each plot shows: the losses first, then groups by first word.

    Example:
        >>> scalar_groups([{"step": 1, "time": 0.1, "g": 1.0, "d_video": 0.5, "acc_video": 0.9}], ["video"])
        {'losses': ['d_video', 'g'], 'acc': ['acc_video']}
    """
    losses = {"g", *(f"d_{c}" for c in critics)}
    keys = sorted({k for row in rows for k, v in row.items()
                   if k not in ("step", "time") and isinstance(v, (int, float)) and not isinstance(v, bool)})
    groups: dict[str, list[str]] = {"losses": [k for k in keys if k in losses]}
    for key in keys:
        if key not in losses:
            groups.setdefault(re.split(r"[_/.]", key)[0], []).append(key)
    return {title: keys for title, keys in groups.items() if keys}


def _points(rows: list[dict[str, Any]], key: str) -> list[tuple[float, float]]:
    return [(row["step"], float(row[key])) for row in rows
            if isinstance(row.get(key), (int, float)) and math.isfinite(row[key]) and "step" in row]


# pieces of the page --------------------------------------------------------------------------------------
def _data_uri(data: bytes, kind: str) -> str:
    return f"data:image/{kind};base64,{base64.b64encode(data).decode()}"


def _figure(data: bytes, caption: str) -> str:
    """A GIF with its caption; small ones shown at twice their size."""
    with Image.open(io.BytesIO(data)) as image:
        width = image.width * (2 if image.width < 400 else 1)
    return (f'<figure><img src="{_data_uri(data, "gif")}" width="{width}" alt="{html.escape(caption)}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def _table(header: Iterable[str] | None, rows: Iterable[Iterable[Any]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header or [])
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table>{f'<thead><tr>{head}</tr></thead>' if head else ''}<tbody>{body}</tbody></table>"


def _note(text: str) -> str:
    return f'<p class="note">{html.escape(text)}</p>'


def _spread(items: list[Any], count: int) -> list[Any]:
    """``count`` items evenly spread over ``items``, the first and last included."""
    if len(items) <= count:
        return items
    return [items[round(i * (len(items) - 1) / (count - 1))] for i in range(count)]


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {secs:02d} s" if minutes else f"{seconds:.1f} s"


def run_section(run_dir: Path, cfg: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    """The run at a glance: recipe, steps, time, speed, machines."""
    runs = segments(rows)
    steps, seconds = sum(n for n, _ in runs), sum(t for _, t in runs)
    facts = [("recipe", cfg.get("recipe", "?")), ("steps logged", f"{rows[-1]['step']}" if rows else "none"),
             ("training time", _duration(seconds) if runs else "not logged")]
    if seconds > 0:
        facts.append(("iterations per second", f"{steps / seconds:.3g}"))
    waits = sorted(r["data_time"] for r in rows if isinstance(r.get("data_time"), (int, float)))
    if waits and seconds > 0:  # each iteration's wait for its real batches
        wait, when = sum(waits) / len(waits), lambda s: f"{1000 * s:.3g} ms" if s < 1 else f"{s:.3g} s"
        facts.append(("data time per iteration", f"mean {when(wait)} ({100 * wait * steps / seconds:.2g}% of the "
                                                 f"iteration), median {when(waits[len(waits) // 2])}"))
    if len(runs) > 1:
        facts.append(("runs (resumed)", "; ".join(f"{n} steps at {n / t:.3g} it/s" if t else f"{n} steps"
                                                  for n, t in runs)))
    machines = read_jsonl(run_dir / "machine.jsonl")
    out = ["<h2>Run</h2>", _table(None, facts)]
    if machines:
        keys = list(machines[0])
        out += ["<h3>Machines</h3>", _table(keys, [[m.get(k, "") for k in keys] for m in machines])]
    else:
        out.append(_note("machine.jsonl is missing: the machine was not recorded (vidgan run writes it)."))
    return "\n".join(out)


def plots_section(rows: list[dict[str, Any]], critics: Iterable[str]) -> str:
    """A plot for the losses and for each group of other scalars in metrics.jsonl."""
    if not rows:
        return "<h2>Losses</h2>" + _note("metrics.jsonl is missing or empty: no step was logged.")
    out = []
    for title, keys in scalar_groups(rows, critics).items():
        heading = "Losses" if title == "losses" else f"{title}: {', '.join(keys)}"
        out += [f'<h2>{html.escape(heading)}</h2>', line_chart({k: _points(rows, k) for k in keys})]
    return "\n".join(out)


def samples_section(run_dir: Path) -> str:
    """Sample GIFs over training, at most :data:`MAX_SAMPLES` of them."""
    gifs = sorted((run_dir / "samples").glob("step-*.gif"))
    out = ["<h2>Samples over training</h2>"]
    if not gifs:
        return out[0] + _note("samples/ holds no step-*.gif.")
    shown = _spread(gifs, MAX_SAMPLES)
    if len(shown) < len(gifs):
        out.append(_note(f"{len(shown)} of {len(gifs)} sample GIFs, spread over training."))
    figures = [_figure(p.read_bytes(), f"step {int(p.stem.split('-')[1])}") for p in shown]
    return "\n".join(out + ['<div class="figures">', *figures, "</div>"])


def grid_section(run_dir: Path) -> str:
    """A content/motion grid decoded from the newest checkpoint, when the generator can make one."""
    from vidgan.generate import content_motion_grid, latent_parts, load_generator
    from vidgan.training.samples import gif_bytes

    rows, cols = GRID
    title = "<h2>Content and motion (newest checkpoint)</h2>"
    try:
        generator, cfg = load_generator(run_dir)
        latent_parts(generator, ["content", "motion"], "--grid content-motion", cfg.generator.name)
    except VidganError as err:
        return title + _note(f"no grid: {err}")
    videos = content_motion_grid(generator, rows, cols, seed=0)
    caption = (f"{rows} content codes (rows) × {cols} motions (columns), seed 0: "
               f"vidgan generate {run_dir.name} --grid content-motion {rows} {cols}")
    return title + _figure(gif_bytes(videos, columns=cols), caption)


def eval_section(run_dir: Path) -> str:
    """The metrics of eval.json, when the run was evaluated."""
    from vidgan.metrics.evaluate import COLUMNS, protocol, table_rows

    path = run_dir / "eval.json"
    if not path.is_file():
        return "<h2>Evaluation</h2>" + _note(f"no eval.json: vidgan eval {run_dir.name} metrics=[acd,mcs] writes one.")
    try:
        record = json.loads(path.read_text())
        return "<h2>Evaluation</h2>" + _table(COLUMNS, table_rows(record)) + _note(protocol(record))
    except (ValueError, KeyError, TypeError, StopIteration) as err:
        return "<h2>Evaluation</h2>" + _note(f"eval.json cannot be read ({type(err).__name__}: {err}).")


STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1000px; color: #222; padding: 0 16px; }
h1 { font-size: 22px; } h2 { font-size: 17px; margin-top: 28px; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; } td, th { border: 1px solid #ddd; padding: 3px 8px; text-align: left; }
.note { color: #666; } svg.plot { font: 11px sans-serif; fill: #444; display: block; }
.figures { display: flex; flex-wrap: wrap; gap: 12px; } figure { margin: 0; }
img { image-rendering: pixelated; } pre { background: #f6f6f6; padding: 10px; overflow: auto; }
"""


def render(run_dir: str | Path) -> str:
    """The report page of a run folder, as HTML text."""
    run_dir = Path(run_dir)
    config_file = run_dir / "config.yaml"
    if not config_file.is_file():
        raise VidganError(f"{run_dir} has no config.yaml; point vidgan report at a run folder")
    config_text = config_file.read_text()
    cfg = yaml.safe_load(config_text) or {}
    rows = read_jsonl(run_dir / "metrics.jsonl")
    name = html.escape(run_dir.resolve().name)
    body = [f"<h1>vidgan run {name}</h1>",
            _note(f"report of {run_dir.resolve()} written {datetime.now():%Y-%m-%d %H:%M}"),
            run_section(run_dir, cfg, rows), plots_section(rows, (cfg.get("discriminators") or {}).keys()),
            samples_section(run_dir), grid_section(run_dir), eval_section(run_dir),
            "<h2>Config</h2>", f"<pre>{html.escape(config_text)}</pre>"]
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>vidgan report: {name}</title>'
            f"<style>{STYLE}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")


def write_report(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Write the report of a run folder to ``out`` (default ``RUN/report.html``); return its path."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise VidganError(f"run folder {run_dir} does not exist")
    path = Path(out) if out else run_dir / "report.html"
    page = render(run_dir)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(page)
    except OSError as err:
        raise VidganError(f"cannot write {path}: {err.strerror or err}; choose another --out") from None
    return path


def record_machine(run_dir: Path, step: int, device: torch.device) -> None:
    """Append the machine a ``vidgan run`` used to ``RUN/machine.jsonl`` (the report shows it)."""
    accelerator = (torch.cuda.get_device_name(device) if device.type == "cuda"
                   else f"{os.cpu_count()} CPUs, {platform.processor() or platform.machine()}")
    record = {"finished": f"{datetime.now():%Y-%m-%d %H:%M}", "step": step, "host": platform.node(),
              "device": str(device), "hardware": accelerator, "os": platform.platform(terse=True),
              "python": platform.python_version(), "torch": torch.__version__}
    with open(run_dir / "machine.jsonl", "a") as file:
        file.write(json.dumps(record) + "\n")
