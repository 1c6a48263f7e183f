"""Where a profiled iteration's time goes: its ops by category, its top ops, its convolutions.

One reference and one fast iteration per recipe run under ``torch.profiler``; every op's
self time counts in one of :data:`CATEGORIES` (:func:`category`, :func:`breakdown`). The
data, the losses and the latent sampling are told apart by ``record_function`` scopes
that the profile itself adds to the trainer's parts for its duration
(:func:`trainer_scopes`): the trainer and the models carry no profiler code. Then each
of the iteration's convolutions is timed alone (:mod:`vidgan.bench.passes`), with the
dtype's peak GEMMs run back to back between them: the machine's speed in this phase,
which the report judges the passes against.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterator

import torch
from torch.profiler import record_function

from vidgan.bench.passes import convolution_passes
from vidgan.bench.timing import Case, peak_beside

PROFILED = ("reference", "fast")  # the iterations profiled
PEAK_EVERY = 4  # a profile times its peak GEMMs before every 4th convolution and after the last

# kineto, the profiler's C++ library, prints these to stderr itself: its start and stop, and on a
# torch built with CUDA but run without a GPU, the failed device query
KINETO_CHATTER = re.compile(r"^USDT:.*\] profiler_(start|stop)$|^ERROR:.*\] gpuGetDeviceCount failed")

CATEGORIES = ("convolutions", "batch norm and activations", "motion GRU and samplers", "losses",
              "optimiser steps", "data", "casts and layout conversions", "other")
# the record_function scopes trainer_scopes adds, and their categories: the innermost one wins
DATA, LOSSES, LATENTS = "vidgan.data", "vidgan.losses", "vidgan.latents"
SCOPES = ((DATA, "data"), (LOSSES, "losses"), (LATENTS, "motion GRU and samplers"))
# a copy outside those scopes, whichever op it runs in: autocast's casts of the weights, the
# layout changes of weight gradients in a convolution's backward and of fused Adam's tensors
COPIES = re.compile(r"^(to|tocopy|copy|contiguous|clone)$|reorder")
# op names (lower case, without namespace and underscores) and torch.optim's scopes: the
# outermost that matches wins, the one the code called (aten::gru_cell, not the sigmoid inside it)
OPS = ((re.compile(r"conv(olution|transpose|\d)"), "convolutions"),
       (re.compile(r"crossentropy|softplus|nllloss|hinge|mseloss"), "losses"),
       (re.compile(r"batchnorm|relu|tanh|sigmoid"), "batch norm and activations"),
       (re.compile(r"gru|rnn|rand|normal"), "motion GRU and samplers"),
       (re.compile(r"^optimizer\.|adam|addcdiv"), "optimiser steps"))
BACKWARD = "autograd::engine::evaluate_function"  # the profiler's event of one autograd node


def category(names: list[str]) -> str:
    """The category (one of ``CATEGORIES``) of an op, from its name and the names of the ops
    and ``record_function`` scopes it ran in, innermost first.

    Example:
        >>> category(["aten::addmm", "aten::linear", "aten::gru_cell", "vidgan.latents"])
        'motion GRU and samplers'
        >>> category(["aten::mkldnn_convolution", "aten::_convolution", "aten::convolution", "aten::conv3d"])
        'convolutions'
        >>> category(["aten::copy_", "aten::_to_copy", "aten::to", "aten::conv3d"])
        'casts and layout conversions'
    """
    for name in names:
        for prefix, found in SCOPES:
            if name.startswith(prefix):
                return found
    ops = [name.rsplit("::", 1)[-1].replace("_", "").lower() for name in names]
    if ops and COPIES.search(ops[0]):
        return "casts and layout conversions"
    for op in reversed(ops):
        for pattern, found in OPS:
            if pattern.search(op):
                return found
    return "other"


def breakdown(events: list, attr: str) -> dict[str, float]:
    """Milliseconds per category of the self times ``attr`` (``self_cpu_time_total``, or
    ``self_device_time_total`` on CUDA) of a profile's CPU-side events (``prof.events()``).

    A backward op counts where the forward op that made its autograd node does, matched by
    sequence number and thread as the profiler itself matches them (the last forward op with
    that number made the node): the motion GRU's backward counts as the motion GRU.
    """
    from torch.autograd import DeviceType

    def callers(event: Any) -> list[Any]:  # the event and the ops and scopes it ran in, innermost first
        out = []
        while event is not None:
            out.append(event)
            event = event.cpu_parent
        return out

    chains = [callers(e) for e in events if e.device_type == DeviceType.CPU]
    nodes = [next((c for c in chain if c.name.startswith(BACKWARD)), None) for chain in chains]
    forward = {(chain[0].sequence_nr, chain[0].thread): chain for chain, node in zip(chains, nodes)
               if node is None and chain[0].sequence_nr >= 0}
    totals = dict.fromkeys(CATEGORIES, 0.0)
    for chain, node in zip(chains, nodes):
        made_by = forward.get((node.sequence_nr, node.fwd_thread), []) if node is not None else []
        totals[category([e.name for e in chain + made_by])] += getattr(chain[0], attr) / 1e3
    return totals


def in_scope(fn: Callable[..., Any], scope: str) -> Callable[..., Any]:
    """``fn``, run inside the profiler scope ``scope``."""
    def scoped(*args: Any, **kwargs: Any) -> Any:
        with record_function(scope):
            return fn(*args, **kwargs)
    return scoped


@contextlib.contextmanager
def replaced(obj: Any, name: str, value: Any) -> Iterator[None]:
    """``obj.name`` is ``value`` inside the block, set on the instance; afterwards it is what
    it was (the class's method again where the instance had no attribute of its own)."""
    own, saved = name in vars(obj), vars(obj).get(name)
    setattr(obj, name, value)
    try:
        yield
    finally:
        if own:
            setattr(obj, name, saved)
        else:
            delattr(obj, name)


@contextlib.contextmanager
def trainer_scopes(trainer: Any) -> Iterator[None]:
    """Inside the block, the parts of ``trainer`` (a :class:`~vidgan.training.trainer.Trainer`;
    None adds nothing) run in the profiler scopes of :data:`SCOPES`: its real batches
    (``real_batches``) in ``vidgan.data``; its generator's ``sample_latents`` (the samplers
    and the motion GRU) in ``vidgan.latents``; each critic's losses in ``vidgan.losses``: the
    loss's ``discriminator`` and ``generator`` terms and its ``penalty`` where it has one,
    the projection's ``conditioned`` logits and the auxiliary losses. Each is wrapped on its
    instance and unwrapped when the block ends."""
    with contextlib.ExitStack() as stack:
        def wrap(obj: Any, name: str, scope: str) -> None:
            if hasattr(obj, name):
                stack.enter_context(replaced(obj, name, in_scope(getattr(obj, name), scope)))

        if trainer is not None:
            wrap(trainer, "real_batches", DATA)
            wrap(trainer.generator, "sample_latents", LATENTS)
            for critic in trainer.critics:
                for name in ("discriminator", "generator", "penalty"):
                    wrap(critic.loss, name, LOSSES)
                wrap(critic, "conditioned", LOSSES)
                stack.enter_context(replaced(critic, "aux", [in_scope(aux, LOSSES) for aux in critic.aux]))
        yield


@contextlib.contextmanager
def kineto_quiet() -> Iterator[None]:
    """Drop kineto's own start/stop and missing-GPU lines from stderr inside the block.

    Everything else written to file descriptor 2 meanwhile is written out at the end.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            caught.seek(0)
            lines = caught.read().decode(errors="replace").splitlines(keepends=True)
            sys.stderr.write("".join(line for line in lines if not KINETO_CHATTER.match(line.rstrip("\n"))))


def profile_iterations(cases: list[Case], device: torch.device, out: Path) -> list[dict[str, Any]]:
    """One profiled iteration of each recipe's reference and fast case: the top ops, the
    time per category (:func:`breakdown`), the convolutions' FLOPs (counted at warm-up) and
    passes (:func:`~vidgan.bench.passes.convolution_passes`), with its dtype's peak GEMMs run
    back to back before every :data:`PEAK_EVERY`-th pass and after the last
    (:func:`~vidgan.bench.timing.peak_beside`; the machine's speed can change between the
    rounds and this phase), whose median rate is the profile's peak; the profiler's tables
    to files."""
    from torch.profiler import ProfilerActivity, profile

    out.mkdir(parents=True, exist_ok=True)
    cuda = device.type == "cuda"
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    attr = "self_device_time_total" if cuda else "self_cpu_time_total"
    found = []
    for case in cases:
        if case.group != "iteration" or case.config not in PROFILED:
            continue
        with kineto_quiet():
            with trainer_scopes(case.trainer), profile(activities=activities) as prof:
                case.fn()
            events = prof.key_averages()
            categories = breakdown(prof.events(), attr)
        if case.settle:
            case.settle()
        name = f"profile-{device.type}-{case.name}-{case.config}.txt"
        (out / name).write_text(events.table(sort_by="self_cuda_time_total" if cuda else attr, row_limit=25) + "\n")
        gemms, peak = [c for c in cases if c.group == "peak" and c.dtype == case.dtype and c.flops], []
        passes_seen = itertools.count()

        def time_peak() -> None:
            if gemms:
                peak.append(peak_beside(gemms))

        def before_pass() -> None:
            if next(passes_seen) % PEAK_EVERY == 0:
                time_peak()

        passes = convolution_passes(case, device, between=before_pass)
        time_peak()
        total = sum(getattr(e, attr) for e in events) or 1.0
        spent = sum(categories.values()) or 1.0
        top = sorted(events, key=lambda e: getattr(e, attr), reverse=True)[:8]
        found.append({"device": device.type, "recipe": case.name, "config": case.config, "file": name,
                      "dtype": case.dtype, "convolution_gflop": (case.convolution_flops or 0) / 1e9,
                      "gflop": (case.flops or 0) / 1e9, "passes": passes,
                      **({"peak_gflops": statistics.median(peak)} if peak else {}),
                      "top": [{"op": e.key, "self_ms": getattr(e, attr) / 1e3, "calls": e.count,
                               "share": getattr(e, attr) / total} for e in top],
                      "categories": [{"category": k, "ms": ms, "share": ms / spent} for k, ms in categories.items()]})
    return found
