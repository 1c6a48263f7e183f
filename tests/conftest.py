"""Shared fixtures: small, fast configs for end-to-end runs."""

import pytest
from tiny import TINY


@pytest.fixture
def tiny():
    return list(TINY)
