"""Shared fixtures: small, fast configs for end-to-end runs, and one intra-op thread."""

import pytest
import torch
from tiny import TINY


@pytest.fixture(autouse=True, scope="session")
def one_thread():
    """The tests' tensors are tiny: one intra-op thread runs them faster than two, busy CPU or not."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def tiny():
    return list(TINY)
