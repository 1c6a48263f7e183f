"""``python -m benchmarks``: the same runner as ``vidgan bench`` (see README.md here)."""
