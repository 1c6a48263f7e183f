"""The Registry: names, building, errors and entry-point plugins.

Plugins are simulated by writing a ``*.dist-info`` folder (METADATA, entry_points.txt)
and a module into ``tmp_path`` and putting it on ``sys.path``; ``importlib.metadata``
finds such a distribution like an installed one. Every test uses a fresh
``Registry("widgets", "widget")`` (entry-point group ``vidgan.widgets``, which no real
registry reads), and the fixture takes the folder off ``sys.path`` and forgets the
modules afterwards, so nothing leaks into other tests.
"""

from __future__ import annotations

import sys
import types
import uuid

import pytest

from vidgan.errors import VidganError
from vidgan.registry import DISCRIMINATORS, REGISTRIES, Registry, RegistryError, registry


@pytest.fixture
def widgets(monkeypatch):
    monkeypatch.delenv("VIDGAN_DISABLE_PLUGINS", raising=False)
    return Registry("widgets", "widget")


class Widget:
    def __init__(self, size: int = 1, colour: str = "red"):
        self.size, self.colour = size, colour


# names, building, errors -----------------------------------------------------------------
def test_decorator_registers_and_returns_the_class(widgets):
    @widgets.register("round-widget")
    class Round(Widget):
        pass

    assert Round.__name__ == "Round"  # the decorator hands the class back
    assert widgets.get("round-widget") is Round
    assert widgets.origin("round-widget") == "built-in"


def test_register_a_value_directly(widgets):
    widgets.register("plain", Widget)
    assert widgets.get("plain") is Widget


def test_build_passes_kwargs(widgets):
    widgets.register("widget", Widget)
    w = widgets.build("widget", size=3, colour="blue")
    assert isinstance(w, Widget) and (w.size, w.colour) == (3, "blue")


def test_names_sorted_with_glob(widgets):
    for name in ["patch-video", "video", "patch-image", "image2"]:
        widgets.register(name, Widget)
    assert widgets.names() == ["image2", "patch-image", "patch-video", "video"]
    assert widgets.names("patch-*") == ["patch-image", "patch-video"]
    assert widgets.names("*video") == ["patch-video", "video"]
    assert widgets.names("nothing*") == []


def test_contains(widgets):
    widgets.register("a-widget", Widget)
    assert "a-widget" in widgets
    assert "b-widget" not in widgets
    assert 3 not in widgets


def test_duplicate_name(widgets):
    widgets.register("twice", Widget)
    with pytest.raises(RegistryError, match="widget 'twice' is registered twice"):
        widgets.register("twice", dict)
    assert widgets.get("twice") is Widget


@pytest.mark.parametrize("name", ["Patch-Video", "patch_video", "patch--video", "-video", "video-", "", "a b"])
def test_name_must_be_kebab_case(widgets, name):
    with pytest.raises(RegistryError, match="kebab-case"):
        widgets.register(name, Widget)


def test_unknown_name_suggests_close_names_and_the_list_command(widgets):
    for name in ["patch-video", "patch-image", "video"]:
        widgets.register(name, Widget)
    with pytest.raises(RegistryError) as err:
        widgets.get("patch-vide")
    message = str(err.value)
    assert message.startswith("unknown widget 'patch-vide'")
    assert "'patch-video'" in message
    assert "`vidgan list widgets`" in message
    assert "\n" not in message


def test_unknown_name_without_close_names(widgets):
    widgets.register("video", Widget)
    with pytest.raises(RegistryError, match=r"^unknown widget 'zzz'; see `vidgan list widgets`$"):
        widgets.build("zzz")


def test_registry_error_is_a_vidgan_error_and_a_lookup_error():
    assert issubclass(RegistryError, VidganError)
    assert issubclass(RegistryError, LookupError)


def test_registry_by_kind():
    assert registry("discriminators") is DISCRIMINATORS
    assert set(REGISTRIES) >= {"samplers", "generators", "discriminators", "losses"}
    with pytest.raises(RegistryError, match="did you mean 'discriminators'"):
        registry("discriminatorz")


# plugins ---------------------------------------------------------------------------------
@pytest.fixture
def make_plugin(tmp_path, monkeypatch):
    """Write a fake installed distribution with entry points in group vidgan.widgets.

    ``make_plugin(dist, version, {name: "module:attr"}, {module: source})``; module names
    get a unique suffix (``{u}`` in targets and sources is replaced by it).
    """
    monkeypatch.syspath_prepend(str(tmp_path))  # restored (and caches invalidated) after the test
    modules: list[str] = []
    suffix = uuid.uuid4().hex[:8]

    def make(dist: str, version: str, entries: dict[str, str], sources: dict[str, str]) -> str:
        info = tmp_path / f"{dist}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        lines = ["[vidgan.widgets]"] + [f"{n} = {t.format(u=suffix)}" for n, t in entries.items()]
        (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
        for module, source in sources.items():
            module = module.format(u=suffix)
            (tmp_path / f"{module}.py").write_text(source)
            modules.append(module)
        return suffix

    yield make
    for module in modules:
        sys.modules.pop(module, None)


GOOD = "class Gadget:\n    def __init__(self, size=2):\n        self.size = size\n"


def test_builtins_module_is_imported_on_first_query(make_plugin, monkeypatch):
    # the built-ins module registers into the registry (found through a stand-in module)
    u = make_plugin("nothing", "0", {}, {"builtin_widgets_{u}": (
        "import sys\nsys.modules['widget_holder'].REG.register('builtin-widget', int)\n")})
    holder = types.ModuleType("widget_holder")
    monkeypatch.setitem(sys.modules, "widget_holder", holder)
    holder.REG = Registry("widgets", "widget", builtins=f"builtin_widgets_{u}")
    assert f"builtin_widgets_{u}" not in sys.modules  # nothing is imported at construction
    assert holder.REG.names() == ["builtin-widget"]
    assert holder.REG.origin("builtin-widget") == "built-in"


def test_plugin_is_listed_without_import_and_imported_on_first_get(widgets, make_plugin):
    u = make_plugin("widget-extras", "1.2.3", {"gadget": "extras_{u}:Gadget"}, {"extras_{u}": GOOD})
    module = f"extras_{u}"
    assert widgets.names() == ["gadget"]
    assert "gadget" in widgets
    assert widgets.origin("gadget") == "widget-extras 1.2.3"
    assert module not in sys.modules  # listing reads metadata only

    gadget = widgets.get("gadget")
    assert module in sys.modules
    assert gadget.__name__ == "Gadget" and gadget.__module__ == module
    assert widgets.build("gadget", size=5).size == 5
    assert widgets.get("gadget") is gadget
    assert widgets.failures == {}


def test_plugins_beside_builtins(widgets, make_plugin):
    widgets.register("plain", Widget)
    make_plugin("widget-extras", "0.1", {"gadget": "extras_{u}:Gadget"}, {"extras_{u}": GOOD})
    assert widgets.names() == ["gadget", "plain"]
    assert widgets.origin("plain") == "built-in"


def test_broken_plugin_is_reported_not_fatal(widgets, make_plugin):
    make_plugin(
        "widget-extras", "2.0",
        {"gadget": "extras_{u}:Gadget", "broken": "broken_{u}:Thing"},
        {"extras_{u}": GOOD, "broken_{u}": "raise RuntimeError('no cheese\\nsecond line')\n"},
    )
    assert widgets.names() == ["broken", "gadget"]  # not imported yet, so not known broken
    with pytest.raises(RegistryError) as err:
        widgets.get("broken")
    message = str(err.value)
    assert "\n" not in message
    assert message == "widget 'broken' failed to load: widget-extras 2.0: RuntimeError: no cheese"
    assert widgets.failures == {"broken": "widget-extras 2.0: RuntimeError: no cheese"}
    # the rest keeps working, and the broken one keeps failing with the same message
    assert widgets.names() == ["gadget"]
    assert widgets.build("gadget").size == 2
    with pytest.raises(RegistryError, match="failed to load: widget-extras 2.0: RuntimeError: no cheese"):
        widgets.build("broken")


def test_plugin_missing_attribute(widgets, make_plugin):
    make_plugin("widget-extras", "2.0", {"gadget": "extras_{u}:Gizmo"}, {"extras_{u}": GOOD})
    with pytest.raises(RegistryError, match="widget 'gadget' failed to load: widget-extras 2.0: AttributeError"):
        widgets.get("gadget")
    assert "gadget" in widgets.failures


def test_plugin_clashing_with_a_builtin_loses(widgets, make_plugin):
    widgets.register("gadget", Widget)
    make_plugin("widget-extras", "3.1", {"gadget": "extras_{u}:Gadget", "gizmo": "extras_{u}:Gadget"},
                {"extras_{u}": GOOD})
    assert widgets.names() == ["gadget", "gizmo"]
    assert widgets.get("gadget") is Widget
    assert widgets.origin("gadget") == "built-in"
    assert set(widgets.failures) == {"gadget"}
    assert widgets.failures["gadget"].startswith("widget-extras 3.1: ")
    assert "registered twice (built-in and widget-extras 3.1)" in widgets.failures["gadget"]
    assert widgets.get("gizmo").__name__ == "Gadget"


def test_plugin_with_a_bad_name_is_recorded(widgets, make_plugin):
    make_plugin("widget-extras", "1.0", {"Bad_Gadget": "extras_{u}:Gadget", "gadget": "extras_{u}:Gadget"},
                {"extras_{u}": GOOD})
    assert widgets.names() == ["gadget"]
    assert "kebab-case" in widgets.failures["Bad_Gadget"]


@pytest.mark.parametrize(("value", "found"), [("1", False), ("yes", False), ("0", True), ("", True)])
def test_disable_plugins_env(widgets, make_plugin, monkeypatch, value, found):
    widgets.register("plain", Widget)
    make_plugin("widget-extras", "1.0", {"gadget": "extras_{u}:Gadget"}, {"extras_{u}": GOOD})
    monkeypatch.setenv("VIDGAN_DISABLE_PLUGINS", value)
    assert ("gadget" in widgets) is found
    assert "plain" in widgets


def test_no_fake_distribution_leaks(tmp_path):
    # runs after the plugin tests in file order: their folders are off sys.path again
    assert not any("test_plugin" in p or "test_broken" in p or "test_disable" in p for p in sys.path)
    assert Registry("widgets", "widget").names() == []
