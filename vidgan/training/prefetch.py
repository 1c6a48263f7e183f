"""Real batches drawn in a background thread while the training step computes.

A :class:`Prefetcher` calls ``draw(rng)`` once per step, in order, in its own thread and
keeps up to ``depth`` steps' results in a bounded queue. ``rng`` is the thread's own
``torch.Generator``, started from the state it is given, so the draws are exactly the
ones the consumer would have made itself. Each result comes with the generator's state
after it was drawn: setting the consumer's generator to it makes that generator say
which batches were consumed, not how far the thread ran ahead (what a checkpoint must
hold to resume exactly).

The thread runs its operations on one intra-op thread: with the step's threads on every
core, a drawing thread with a team of its own would stall them.

An exception raised by ``draw`` is raised again by the :meth:`Prefetcher.get` that would
have returned that step's result. :meth:`Prefetcher.close` stops and joins the thread.

Example:
    >>> import torch
    >>> rng = torch.Generator().manual_seed(0)
    >>> with Prefetcher(lambda g: torch.rand(2, generator=g), rng.get_state(), depth=2) as p:
    ...     first, state = p.get()
    >>> torch.equal(first, torch.rand(2, generator=rng)), torch.equal(state, rng.get_state())
    (True, True)
"""

from __future__ import annotations

import queue
import threading
import time
from typing import Any, Callable

import torch

THREAD_NAME = "vidgan-prefetch"


class Prefetcher:
    """Runs ``draw`` ahead of the consumer in a thread; ``depth`` results at most wait in the queue."""

    def __init__(self, draw: Callable[[torch.Generator], Any], rng_state: torch.Tensor, depth: int):
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        threads, single = torch.get_num_threads(), threading.Event()
        self._thread = threading.Thread(target=self._run, args=(draw, rng_state, single), name=THREAD_NAME,
                                        daemon=True)
        self._thread.start()
        single.wait()
        # torch.set_num_threads in the thread also set the count that new threads start with
        torch.set_num_threads(threads)

    def _run(self, draw: Callable[[torch.Generator], Any], rng_state: torch.Tensor,
             single: threading.Event) -> None:
        torch.get_num_threads()  # torch sets a thread up at its first parallel call, from the process's count: now
        torch.set_num_threads(1)
        single.set()
        rng = torch.Generator()
        rng.set_state(rng_state)
        while not self._stop.is_set():
            try:
                item: Any = (draw(rng), rng.get_state())
            except BaseException as err:  # handed to the consumer, which raises it
                self._queue.put(err)
                return
            self._queue.put(item)

    def get(self) -> tuple[Any, torch.Tensor]:
        """The next step's result and the generator's state after drawing it."""
        item = self._queue.get()
        if isinstance(item, BaseException):
            raise item
        return item

    def wait_full(self) -> None:
        """Wait until the thread has filled the queue (or ended); benchmarks call it so that no
        draw runs while the next thing is timed."""
        while not self._queue.full() and self._thread.is_alive():
            time.sleep(0.001)

    def close(self) -> None:
        """Stop the thread and wait for it: it finishes the draw it is in and exits."""
        self._stop.set()
        while self._thread.is_alive():
            try:  # make room so that a thread blocked on a full queue wakes up
                self._queue.get_nowait()
            except queue.Empty:
                pass
            self._thread.join(timeout=0.05)

    def __enter__(self) -> "Prefetcher":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
