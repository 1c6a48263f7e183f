"""Every random number generator a training process draws from, as checkpointable state.

A run continues bit for bit after a resume only if each stream stands where it stood:
torch's global generator (instance noise, augmentations), the latent and the data
generators the trainer owns, CUDA's, and Python's and NumPy's global ones (data sets
and plugins may draw from them). The state is plain data and tensors, so checkpoints load
with ``weights_only=True``.

Example:
    >>> latent, data = torch.Generator().manual_seed(1), torch.Generator().manual_seed(2)
    >>> state = capture(latent, data)
    >>> first = torch.rand(2, generator=latent)
    >>> restore(state, latent, data)
    >>> torch.equal(torch.rand(2, generator=latent), first)
    True
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch


def capture(latent: torch.Generator, data: torch.Generator) -> dict[str, Any]:
    """The state of every stream of this process, ``latent`` and ``data`` included."""
    version, internal, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    return {"torch": torch.get_rng_state(), "latent": latent.get_state(), "data": data.get_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "python": [version, list(internal), gauss],
            "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, cached]}


def restore(state: dict[str, Any], latent: torch.Generator, data: torch.Generator) -> None:
    """Put every stream back where :func:`capture` found it."""
    torch.set_rng_state(state["torch"])
    latent.set_state(state["latent"])
    data.set_state(state["data"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
