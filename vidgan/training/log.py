"""What a run reports while it trains: a progress bar, ``metrics.jsonl`` and TensorBoard.

Each step's values (losses, accuracies, gradient norms) go to one line of the run
folder's ``metrics.jsonl`` with the step, the seconds since the run (or its resumed
part) started and the step's wait for its real batches (``data_time``); to TensorBoard
with ``train.tensorboard``; and the losses to the progress bar on stderr. Only the first
process of a distributed run reports.

Example:
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> with RunLog(folder, "mocogan", steps=2, step=0, tensorboard=False, enabled=True) as log:
    ...     log.record(1, {"g": 0.5}, data_time=0.01)
    >>> line = json.loads((folder / "metrics.jsonl").read_text())
    >>> line["g"], line["data_time"]
    (0.5, 0.01)
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from vidgan.errors import VidganError


class RunLog:
    """Reports the steps of one ``vidgan run`` (a context manager: the file, the writer and
    the bar are closed when the block ends).

    ``step`` is the step the run starts from (after a resume, the checkpoint's);
    ``enabled`` is False on all but the first process, which then report nothing.
    """

    def __init__(self, run_dir: Path, title: str, steps: int, step: int, tensorboard: bool, enabled: bool):
        self.run_dir, self.first_step = Path(run_dir), step
        self.progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[speed]} it/s"), TimeRemainingColumn(),
                                 TextColumn("{task.fields[losses]}"), console=Console(stderr=True),
                                 disable=not enabled)
        self.writer = tensorboard_writer(self.run_dir) if tensorboard and enabled else None
        self.start = time.perf_counter()
        self.metrics = open(self.run_dir / "metrics.jsonl", "a") if enabled else None
        self.task = self.progress.add_task(title, total=steps, completed=step, speed="-", losses="")

    def __enter__(self) -> RunLog:
        self.progress.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.progress.stop()
        if self.metrics:
            self.metrics.close()
        if self.writer:
            self.writer.close()

    def record(self, step: int, values: dict[str, float], data_time: float) -> None:
        """Report the values of ``step``, just finished, and its ``data_time``: the seconds
        it waited for its real batches."""
        elapsed = time.perf_counter() - self.start
        if self.metrics:
            self.metrics.write(json.dumps({"step": step, "time": round(elapsed, 3),
                                           "data_time": round(data_time, 4), **values}) + "\n")
            self.metrics.flush()
        if self.writer:
            for key, value in values.items():
                self.writer.add_scalar(f"loss/{key}", value, step)
        self.progress.update(self.task, completed=step, speed=f"{(step - self.first_step) / elapsed:.2f}",
                             losses=" ".join(f"{k} {v:.3f}" for k, v in values.items()
                                             if k == "g" or k.startswith("d_")))


def tensorboard_writer(run_dir: Path) -> Any:
    """A TensorBoard ``SummaryWriter`` into ``RUN/tensorboard``."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise VidganError("train.tensorboard=true needs the tensorboard package: "
                          "pip install tensorboard") from None
    return SummaryWriter(run_dir / "tensorboard")


def truncate_metrics(run_dir: Path, step: int) -> None:
    """Drop the lines of ``metrics.jsonl`` of steps after ``step`` (a resumed run's
    checkpoint): they will be run again. A line cut short by a crash goes too."""
    path = Path(run_dir) / "metrics.jsonl"
    if path.is_file():
        lines = []
        for line in path.read_text().splitlines():
            try:
                if json.loads(line)["step"] <= step:
                    lines.append(line)
            except (ValueError, KeyError):
                continue
        path.write_text("".join(line + "\n" for line in lines))
