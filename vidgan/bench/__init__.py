"""Benchmarks of the conv hot paths and of full training iterations across the speed levers.

``vidgan bench`` (or ``python -m benchmarks`` in a checkout) times, with
``torch.utils.benchmark``, the matmul peaks of the machine, each MoCoGAN conv stack in
isolation and one full training iteration of each recipe, in the reference mode (the
original's computation) and with the levers of :mod:`vidgan.training.levers`, and writes
``report.md``, ``report.json``, ``iterations.png`` and profiler tables to one folder.
``vidgan bench --data`` times the data pipeline instead (:mod:`vidgan.bench.data_pipeline`).

Example:
    >>> from vidgan.cli import main
    >>> main(["bench", "--quick", "--out", "/tmp/bench"])  # doctest: +SKIP
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The command-line options of ``vidgan bench`` (kept free of torch for a fast ``--help``)."""
    p.add_argument("--quick", action="store_true",
                   help="peaks and the headline recipe's reference vs fast iteration only (< 1 min)")
    p.add_argument("--out", type=Path, default=Path("benchmarks/report"), help="report folder")
    p.add_argument("--device", choices=["all", "cpu", "cuda"], default="all",
                   help="all: the CPU, and CUDA when present")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    p.add_argument("--no-compile", action="store_true", help="skip the torch.compile cases (slow to compile)")
    p.add_argument("--min-time", type=float, default=0.5, help="seconds each layer case is timed per round")
    p.add_argument("--rounds", type=int, default=3, help="interleaved timing rounds (full mode)")
    p.add_argument("--data", action="store_true", help="time only the data pipeline: clips per second from video "
                                                       "files, prepared arrays, JPEG frame folders and PNG strips")
    p.add_argument("--data-root", type=Path, default=None, help="--data: these videos (class folders) "
                                                                "instead of generated ones")
    p.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides for every recipe")
