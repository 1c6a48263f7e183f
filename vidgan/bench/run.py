"""``vidgan bench``: every case on every device, timed in one set of rounds, then the report.

Per device: the peak GEMMs (:mod:`vidgan.bench.peaks`), in full mode the conv stacks, and
the full iterations (:mod:`vidgan.bench.cases`) are timed together in interleaved rounds
(:func:`vidgan.bench.timing.measure`), so the peaks share the load the other cases see;
in full mode the reference and fast iterations are then profiled
(:mod:`vidgan.bench.profile`). The results, plain data, go to
:func:`vidgan.bench.tables.write`.
"""

from __future__ import annotations

import contextlib
import time
from datetime import datetime, timezone
from typing import Any, Callable

import torch

from vidgan.bench import Options, command, data_pipeline, sentences, tables
from vidgan.bench.cases import RECIPES, iteration_cases, layer_cases, recipe_config, timed_recipes
from vidgan.bench.machine import load, machine
from vidgan.bench.peaks import peak_cases
from vidgan.bench.profile import profile_iterations
from vidgan.bench.summary import summarise
from vidgan.bench.timing import measure
from vidgan.errors import VidganError


def devices(option: str) -> list[torch.device]:
    """The devices ``--device`` names: ``all`` is the CPU, and CUDA when present."""
    if option == "all":
        return [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    if option == "cuda" and not torch.cuda.is_available():
        raise VidganError("--device cuda but no CUDA device is available; use --device cpu")
    return [torch.device(option)]


def run(options: Options, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run every case on every device; write the report; return it as a dict."""
    if options.threads:
        torch.set_num_threads(options.threads)
    if options.data:
        return data_pipeline.run(options.out, machine(), log, options.data_root, options.min_time)
    targets = devices(options.device)
    for device in targets:  # a bad override is an error before anything is timed or written
        for recipe in timed_recipes(options):
            recipe_config(recipe, device, list(options.overrides))
    started, load_start, began = datetime.now(timezone.utc), load(), time.perf_counter()
    results: dict[str, Any] = {"machine": machine(), "mode": "quick" if options.quick else "full",
                               "command": command(options),
                               "started": started.isoformat(timespec="seconds"),
                               "load_average_start": load_start, "overrides": list(options.overrides),
                               "devices": {}}
    profiles: list[dict[str, Any]] = []
    for device in targets:
        name = device.type
        torch.manual_seed(0)
        log(f"{name}: peaks, {'' if options.quick else 'layers, '}full iterations")
        cases = peak_cases(device)
        if not options.quick:
            configs = {r: recipe_config(r, device, list(options.overrides)) for r in RECIPES}
            cases += layer_cases(configs, device, options)
        with contextlib.ExitStack() as prefetch_threads:
            cases += iteration_cases(device, options, prefetch_threads)
            timed = [c for c in cases if not c.skipped]
            measure(timed, 2 if options.quick else options.rounds, options.min_time, log)
            if not options.quick:
                profiles += profile_iterations(timed, device, options.out)
        results["devices"][name] = summarise(cases)
    results["finished"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    results["load_average_end"] = load()
    results["seconds"] = round(time.perf_counter() - began, 1)
    results["profiles"] = profiles
    tables.write(results, options.out)
    for name, summary in results["devices"].items():
        log(sentences.speedup_line(summary, name))
    log(f"report: {options.out / 'report.md'} ({results['seconds']:.0f} s)")
    return results
