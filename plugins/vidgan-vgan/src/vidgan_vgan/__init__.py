"""VGAN for vidgan: a two-stream video generator, its discriminator and a recipe.

The components are registered through entry points (see ``pyproject.toml``), so
importing this package registers nothing; vidgan imports :mod:`vidgan_vgan.models` the
first time a recipe asks for ``vgan``.
"""

from pathlib import Path

RECIPE = Path(__file__).with_name("vgan.yaml")
"""The ``vgan`` recipe (the object of the ``vidgan.recipes`` entry point)."""
