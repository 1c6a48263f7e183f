"""Named registries of components, one per kind, with entry-point plugins.

Each kind (samplers, generators, ...) has one :class:`Registry`. Built-in components
register themselves with a decorator when their package is imported; third-party
packages declare entry points in the group ``vidgan.<kind>`` whose names are the
component names. Listing reads entry-point metadata only; a plugin is imported on
first use, and one that fails to import is recorded and reported, never fatal.

Example:
    >>> from vidgan.registry import LOSSES
    >>> "bce" in LOSSES
    True
"""

from __future__ import annotations

import difflib
import fnmatch
import importlib
import os
import re
from dataclasses import dataclass
from importlib import metadata
from typing import Any, Callable

from vidgan.errors import VidganError

NAME_PATTERN = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


class RegistryError(VidganError, LookupError):
    """An unknown, duplicate or badly named component, or a plugin that failed to load."""


@dataclass
class Entry:
    """One registered component and where it came from."""

    name: str
    origin: str  # "built-in" or "<distribution> <version>"
    obj: Any = None
    entry_point: metadata.EntryPoint | None = None


def plugins_disabled() -> bool:
    return os.environ.get("VIDGAN_DISABLE_PLUGINS", "") not in ("", "0")


class Registry:
    """Components of one kind, by lowercase kebab-case name.

    Args:
        kind: the plural kind, also the entry-point group suffix (``vidgan.<kind>``).
        singular: the word used in messages ("discriminator").
        builtins: the module whose import registers the built-in components.
    """

    def __init__(self, kind: str, singular: str, builtins: str | None = None):
        self.kind = kind
        self.singular = singular
        self.group = f"vidgan.{kind}"
        self._builtins = builtins
        self._entries: dict[str, Entry] = {}
        self._discovered = False
        self.failures: dict[str, str] = {}  # plugin name -> one-line error

    # registration ---------------------------------------------------------------
    def register(self, name: str, obj: Any = None) -> Callable:
        """Register ``obj`` under ``name``; without ``obj``, return a decorator."""

        def add(target: Any) -> Any:
            self._add(Entry(name, "built-in", obj=target))
            return target

        return add if obj is None else add(obj)

    def _add(self, entry: Entry) -> None:
        if not NAME_PATTERN.match(entry.name):
            raise RegistryError(
                f"{self.singular} name {entry.name!r} is not lowercase kebab-case (e.g. 'patch-video')"
            )
        if entry.name in self._entries:
            other = self._entries[entry.name].origin
            raise RegistryError(
                f"{self.singular} {entry.name!r} is registered twice ({other} and {entry.origin})"
            )
        self._entries[entry.name] = entry

    # discovery ------------------------------------------------------------------
    def _discover(self) -> None:
        if self._discovered:
            return
        self._discovered = True
        if self._builtins:
            importlib.import_module(self._builtins)
        if plugins_disabled():
            return
        for ep in metadata.entry_points(group=self.group):
            dist = ep.dist
            origin = f"{dist.name} {dist.version}" if dist else "unknown distribution"
            try:
                self._add(Entry(ep.name, origin, entry_point=ep))
            except RegistryError as err:
                self.failures[ep.name] = f"{origin}: {err}"

    def _entry(self, name: str) -> Entry:
        self._discover()
        if name not in self._entries:
            if name in self.failures:
                raise RegistryError(f"{self.singular} {name!r} failed to load: {self.failures[name]}")
            close = difflib.get_close_matches(name, list(self._entries), n=3, cutoff=0.5)
            hint = f"did you mean {', '.join(repr(c) for c in close)}? " if close else ""
            raise RegistryError(
                f"unknown {self.singular} {name!r}; {hint}see `vidgan list {self.kind}`"
            )
        return self._entries[name]

    # queries --------------------------------------------------------------------
    def get(self, name: str) -> Any:
        """The registered object (class, function or value); imports a plugin on first use."""
        entry = self._entry(name)
        if entry.obj is None and entry.entry_point is not None:
            try:
                entry.obj = entry.entry_point.load()
            except Exception as err:  # a broken plugin must not break the rest
                message = f"{entry.origin}: {type(err).__name__}: {err}".splitlines()[0]
                self.failures[name] = message
                del self._entries[name]
                raise RegistryError(f"{self.singular} {name!r} failed to load: {message}") from err
        return entry.obj

    def build(self, name: str, **kwargs: Any) -> Any:
        """Call the registered factory with keyword config."""
        return self.get(name)(**kwargs)

    def names(self, pattern: str = "*") -> list[str]:
        """Sorted names matching a glob pattern (no plugin is imported)."""
        self._discover()
        return sorted(n for n in self._entries if fnmatch.fnmatchcase(n, pattern))

    def origin(self, name: str) -> str:
        return self._entry(name).origin

    def __contains__(self, name: object) -> bool:
        self._discover()
        return name in self._entries

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {len(self.names())} entries)"


SAMPLERS = Registry("samplers", "sampler", "vidgan.samplers")
GENERATORS = Registry("generators", "generator", "vidgan.generators")
DISCRIMINATORS = Registry("discriminators", "discriminator", "vidgan.discriminators")
LOSSES = Registry("losses", "loss", "vidgan.losses")
DATASETS = Registry("datasets", "dataset", "vidgan.data")
RECIPES = Registry("recipes", "recipe", "vidgan.recipes")
METRICS = Registry("metrics", "metric", "vidgan.metrics")
FEATURES = Registry("features", "feature", "vidgan.metrics.features")  # per-frame content features (ACD)
AUGMENTATIONS = Registry("augmentations", "augmentation", "vidgan.augment")

REGISTRIES: dict[str, Registry] = {
    r.kind: r for r in (SAMPLERS, GENERATORS, DISCRIMINATORS, LOSSES, DATASETS, RECIPES,
                        METRICS, FEATURES, AUGMENTATIONS)
}


def registry(kind: str) -> Registry:
    """The registry of a kind, with a suggestion on a typo."""
    if kind not in REGISTRIES:
        close = difflib.get_close_matches(kind, list(REGISTRIES), n=1)
        hint = f" did you mean {close[0]!r}?" if close else ""
        raise RegistryError(f"unknown kind {kind!r};{hint} kinds: {', '.join(REGISTRIES)}")
    return REGISTRIES[kind]
