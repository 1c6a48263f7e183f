"""The docs build's Python: pages filled in from vidgan itself, and docstring clean-up.

mkdocs hook (``hooks:`` in ``mkdocs.yml``): markers in a page's Markdown are replaced
before the page is rendered, so lists of components, recipes and commands never drift
from the code:

- ``<!-- vidgan:components KIND -->``: a table of KIND's built-in components and, for
  each, its full reference (docstring with shapes and example). On the components page,
  a kind that has built-ins but no marker gets a section appended at the end.
- ``<!-- vidgan:recipes -->``: each built-in recipe's YAML under a heading;
  ``<!-- vidgan:recipes NAME -->``: one recipe's YAML.
- ``<!-- vidgan:show RECIPE -->``: the resolved config of a recipe (``vidgan show``).
- ``<!-- vidgan:cli -->``: the ``--help`` of ``vidgan`` and of each command.

Before those, each ``<!-- vidgan:snippet NAME -->`` takes in ``docs/snippets/NAME.md`` and
every ``{{ ... }}`` placeholder gets its number from the committed reports
(:mod:`docs.numbers`), so a page quotes no measured number by hand.

griffe extension (``extensions:`` of the mkdocstrings handler): :class:`VidganDocstrings`.
"""

from __future__ import annotations

import argparse
import inspect
import os
import re
import sys
from pathlib import Path
from unittest import mock

import griffe

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout, for docs.numbers
from docs import numbers  # noqa: E402

COMPONENTS_PAGE = "components.md"
MARKER = re.compile(r"^<!-- vidgan:(\w+)(?: ([\w-]+))? -->$", re.M)
NOT_COMPONENTS = ("recipes",)


class VidganDocstrings(griffe.Extension):
    """Reads vidgan's docstrings the way they are written.

    Their doctests stand under ``Example:``, which griffe's Google parser takes for an
    admonition (so ``>>>`` would become a quote); it is read as ``Examples:``. Sphinx
    roles (``:func:`sweep```) become plain code, and a paragraph ending in ``::`` before
    a literal block ends in ``:``.
    """

    EXAMPLE = re.compile(r"^(\s*)Example:[ \t]*$", re.M)
    ROLE = re.compile(r":(?:class|func|meth|mod|data|attr|exc):`~?([^`]+)`")
    LITERAL = re.compile(r"(\S)::$", re.M)

    def on_instance(self, *, obj: griffe.Object, **kwargs: object) -> None:
        if obj.docstring is not None:
            text = self.EXAMPLE.sub(r"\1Examples:", obj.docstring.value)
            text = self.ROLE.sub(r"``\1``", text)
            obj.docstring.value = self.LITERAL.sub(r"\1:", text)


def _summary(obj: object) -> str:
    doc = inspect.getdoc(obj) or ""
    return doc.split("\n\n")[0].replace("\n", " ").replace("|", "\\|")


def _path(obj: object) -> str | None:
    """The import path mkdocstrings documents ``obj`` under, if it is a class or function."""
    if inspect.isclass(obj) or inspect.isfunction(obj):
        return f"{obj.__module__}.{obj.__qualname__}"
    return None


def _builtins(kind: str) -> list[tuple[str, object]]:
    from vidgan.registry import REGISTRIES

    reg = REGISTRIES[kind]
    return [(name, reg.get(name)) for name in reg.names() if reg.origin(name) == "built-in"]


def components(kind: str) -> str:
    """A table of a kind's built-in components and a reference section for each."""
    entries = _builtins(kind)
    rows = ["| name | class | what it is for |", "|---|---|---|"]
    sections = []
    for name, obj in entries:
        path = _path(obj)
        link = f"[`{obj.__qualname__}`][{path}]" if path else "—"
        rows.append(f"| [`{name}`](#{kind}-{name}) | {link} | {_summary(obj)} |")
        sections.append(f'### `{name}` {{ #{kind}-{name} }}\n\n'
                        + (f"::: {path}\n    options:\n      heading_level: 4\n      show_root_full_path: false\n"
                           if path else f"{_summary(obj)}\n"))
    return "\n".join(rows) + "\n\n" + "\n".join(sections)


def recipes(name: str | None = None) -> str:
    parts = []
    for recipe, path in _builtins("recipes"):
        if name in (None, recipe):
            heading = f"### `{recipe}`\n\n" if name is None else ""
            parts.append(f'{heading}```yaml title="{Path(path).name}"\n{Path(path).read_text().strip()}\n```\n')
    if not parts:
        raise ValueError(f"docs marker names no built-in recipe: {name!r}")
    return "\n".join(parts)


def show(recipe: str) -> str:
    from omegaconf import OmegaConf

    from vidgan.config import load_config

    return f"```yaml\n{OmegaConf.to_yaml(load_config([f'recipe={recipe}'])).strip()}\n```\n"


def cli(_: None = None) -> str:
    from vidgan.cli import parser

    top = parser()
    commands = next(a for a in top._actions if isinstance(a, argparse._SubParsersAction)).choices
    with mock.patch.dict(os.environ, {"COLUMNS": "76"}):  # argparse wraps help to the terminal; 76 fits the page
        parts = [f"```text\n$ vidgan --help\n{top.format_help().strip()}\n```\n"]
        parts += [f"### `vidgan {name}`\n\n```text\n$ vidgan {name} --help\n{sub.format_help().strip()}\n```\n"
                  for name, sub in commands.items()]
    return "\n".join(parts)


EXPANDERS = {"components": components, "recipes": recipes, "show": show, "cli": cli}


def _expand(match: re.Match) -> str:
    what, arg = match.groups()
    if what not in EXPANDERS:
        raise ValueError(f"unknown docs marker {match.group(0)!r}")
    return EXPANDERS[what](arg)


def on_page_markdown(markdown: str, page, config, files, **kwargs) -> str:
    if page.file.src_uri == COMPONENTS_PAGE:
        from vidgan.registry import REGISTRIES

        marked = {m.group(2) for m in MARKER.finditer(markdown) if m.group(1) == "components"}
        for kind in REGISTRIES:
            if kind not in marked and kind not in NOT_COMPONENTS and _builtins(kind):
                markdown += f"\n## {kind.capitalize()}\n\n<!-- vidgan:components {kind} -->\n"
    markdown = numbers.fill(numbers.include(markdown), page.file.src_uri)
    return MARKER.sub(_expand, markdown)
