"""Built-in recipes: every ``*.yaml`` beside this file, registered under its stem."""

from pathlib import Path

from vidgan.registry import RECIPES

for _path in sorted(Path(__file__).parent.glob("*.yaml")):
    RECIPES.register(_path.stem, _path)
