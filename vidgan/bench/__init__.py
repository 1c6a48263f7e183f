"""Benchmarks of the conv hot paths and of full training iterations across the speed levers.

``vidgan bench`` (or ``python -m benchmarks`` in a checkout) times, with
``torch.utils.benchmark``, the matmul peaks of the machine, each MoCoGAN conv stack in
isolation and one full training iteration of each recipe, in the reference mode (the
original's computation) and with the levers of :mod:`vidgan.accel`, and writes
``report.md``, ``report.json``, ``iterations.svg`` and profiler tables to one folder.
``vidgan bench --data`` times the data pipeline instead (:mod:`vidgan.bench.data_pipeline`).

The package, one job per module:

- this module: the command line (its arguments, the :class:`Options` they give);
- :mod:`~vidgan.bench.timing`: a case to time and the interleaved rounds that time them;
- :mod:`~vidgan.bench.peaks`: the machine's GEMM peaks and the roofline bound;
- :mod:`~vidgan.bench.cases`: the conv stacks and full iterations to time;
- :mod:`~vidgan.bench.summary`: the timed cases as rows of derived numbers;
- :mod:`~vidgan.bench.profile`: where a profiled iteration's time goes;
- :mod:`~vidgan.bench.passes`: each convolution of an iteration timed alone, and as GEMMs;
- :mod:`~vidgan.bench.machine`: what the numbers were measured on;
- :mod:`~vidgan.bench.run`: every case on every device, then the report;
- :mod:`~vidgan.bench.data_pipeline`: ``--data``, clips per second of each data layout;
- :mod:`~vidgan.bench.verdicts`: the targets and limits judged from the results (plain data);
- :mod:`~vidgan.bench.tables`: the report's words, tables and chart (drawn by :mod:`vidgan.plots`).

This module and the report's (verdicts, sentences, tables) import no torch, so
``vidgan bench --help`` is fast and a recorded ``report.json`` renders anywhere.

Example:
    >>> from vidgan.cli import main
    >>> main(["bench", "--quick", "--out", "/tmp/bench"])  # doctest: +SKIP
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from vidgan.errors import VidganError


@dataclass
class Options:
    """What to run; ``min_time`` is the seconds each layer case is timed per round."""

    quick: bool = False
    out: Path = Path("benchmarks/report")
    device: str = "all"  # all (the CPU, and CUDA when present), cpu or cuda
    threads: int | None = None
    compile: bool = True
    min_time: float = 0.5
    rounds: int = 3
    overrides: tuple[str, ...] = ()
    data: bool = False  # time the data pipeline only (vidgan.bench.data_pipeline)
    data_root: Path | None = None


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The command-line options of ``vidgan bench``."""
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


def options_from(args: argparse.Namespace) -> Options:
    """The :class:`Options` of parsed ``vidgan bench`` arguments; bad values are a one-line error."""
    if args.rounds < 1 or args.min_time <= 0:
        raise VidganError("--rounds must be at least 1 and --min-time positive")
    if args.data_root is not None and not args.data_root.is_dir():
        raise VidganError(f"--data-root {args.data_root} is not a folder; name a folder of class folders of videos")
    return Options(quick=args.quick, out=args.out, device=args.device, threads=args.threads,
                   compile=not args.no_compile, min_time=args.min_time, rounds=args.rounds,
                   overrides=tuple(args.overrides), data=args.data, data_root=args.data_root)


def command(options: Options) -> str:
    """The ``vidgan bench`` command line that gives ``options`` (recorded in the report).

    Example:
        >>> command(Options(quick=True, rounds=5, overrides=("data.image_size=32",)))
        'vidgan bench --quick --rounds 5 data.image_size=32'
    """
    default = Options()
    parts = ["vidgan bench"]
    parts += ["--quick"] if options.quick else []
    parts += [f"--device {options.device}"] if options.device != default.device else []
    parts += [f"--threads {options.threads}"] if options.threads else []
    parts += ["--no-compile"] if not options.compile else []
    parts += [f"--min-time {options.min_time:g}"] if options.min_time != default.min_time else []
    parts += [f"--rounds {options.rounds}"] if options.rounds != default.rounds else []
    return " ".join(parts + list(options.overrides))
