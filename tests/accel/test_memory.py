"""glibc's malloc keeping freed memory (train.keep_memory): only with glibc, and freed
pages are reused instead of faulted in afresh."""

import subprocess
import sys

import pytest
import torch
from omegaconf import OmegaConf

from vidgan.accel import levers, memory
from vidgan.errors import VidganError


def resolve(**train):
    return levers.resolve(OmegaConf.create(train), torch.device("cpu"))


def test_keep_memory_needs_glibc(monkeypatch):
    monkeypatch.setattr(memory, "_mallopt", lambda: None)
    assert not resolve(mode="fast").keep_memory
    with pytest.raises(VidganError, match="^train.keep_memory=true needs glibc's malloc .Linux.; this C library "
                                          "has no mallopt: drop it$"):
        resolve(keep_memory=True)
    with pytest.raises(VidganError, match="keeping freed memory needs glibc's malloc"):
        memory.keep_memory(True)


REUSE_FAULTS = """
import resource, torch
from torch import nn
from vidgan import accel

def faults():  # page faults of allocating and touching a 64 MiB tensor three times over
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(3):
        torch.ones(64 << 18)
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

faults()
default = faults()
accel.apply(accel.Levers(keep_memory=True), nn.Linear(2, 2), [])
for _ in range(4):  # the heap grows until a freed block fits the next request
    faults()
print(default, faults())
"""


@pytest.mark.skipif(not memory.malloc_tunable(), reason="keep_memory tunes glibc's malloc")
def test_keep_memory_lever_reuses_freed_pages():
    # In a fresh process, as a run sets it: an earlier failed allocation anywhere in this one
    # moves its thread off glibc's main arena for good, where 64 MiB blocks are always mmapped.
    done = subprocess.run([sys.executable, "-c", REUSE_FAULTS], capture_output=True, text=True, check=True)
    default, kept = map(int, done.stdout.split())
    pages = 3 * (64 << 20) // 4096
    assert kept < pages / 100 < pages <= default  # freed blocks are reused instead of faulted in afresh
