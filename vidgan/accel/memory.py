"""Freed memory kept for reuse by glibc's malloc (``train.keep_memory``).

A training iteration allocates the same large activations every step. By default glibc
serves each of them with its own ``mmap`` and returns it to the system when freed, so
every step page-faults them in afresh; :func:`keep_memory` makes it reuse freed pages.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from typing import Callable

from vidgan.errors import VidganError

M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4  # mallopt's parameters (malloc.h)
GLIBC_DEFAULTS = {M_TRIM_THRESHOLD: 128 * 1024, M_MMAP_MAX: 65536}
KEPT = {M_TRIM_THRESHOLD: 2**31 - 1, M_MMAP_MAX: 0}


@functools.cache
def _mallopt() -> Callable[[int, int], int] | None:
    """glibc's ``mallopt``, or None where the C library has none."""
    name = ctypes.util.find_library("c")
    libc = ctypes.CDLL(name) if name else None
    return getattr(libc, "mallopt", None)


def malloc_tunable() -> bool:
    """Whether the C library is glibc's, whose malloc :func:`keep_memory` tunes."""
    return _mallopt() is not None


def keep_memory(on: bool) -> None:
    """Make glibc's malloc keep freed memory for the next allocation (``on``), or restore
    its default thresholds.

    By default glibc serves every block over 128 KiB (a threshold it raises as it goes) with
    its own ``mmap`` and returns it to the system when freed, and trims its heap's top: a
    training iteration allocates the same large activations every step, and each one is
    page-faulted in afresh (zeroed by the kernel) every time. With ``on`` no block is
    mmapped and the heap is never trimmed, so freed pages are reused; the process's resident
    memory stays at its peak. Process-wide; threads off glibc's main arena (all but the first)
    still mmap blocks of 64 MiB and more. Restoring sets the documented defaults but not the
    raised threshold glibc may have reached.
    """
    mallopt = _mallopt()
    if mallopt is None:
        raise VidganError("keeping freed memory needs glibc's malloc (Linux); this C library has no mallopt")
    for param, value in (KEPT if on else GLIBC_DEFAULTS).items():
        if not mallopt(param, value):
            raise VidganError(f"mallopt({param}, {value}) failed")
