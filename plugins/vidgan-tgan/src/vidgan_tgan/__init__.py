"""TGAN for vidgan: a temporal generator, the WGAN-GP loss and a recipe.

The components are registered through entry points (see ``pyproject.toml``), so
importing this package registers nothing; vidgan imports a module the first time a
recipe asks for one of its components.
"""

from pathlib import Path

RECIPE = Path(__file__).with_name("tgan.yaml")
"""The ``tgan`` recipe (the object of the ``vidgan.recipes`` entry point)."""
