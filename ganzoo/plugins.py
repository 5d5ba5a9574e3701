"""Plugin discovery: ganzoo's own and third-party plugins, all through pluggy and the ``ganzoo`` entry-point group.

A plugin that fails to import, targets another API version, or raises inside a hook is recorded as a ``PluginFailure`` and
skipped; everything else keeps working. ``GANZOO_LOAD_PLUGINS`` (a comma list of distribution names) limits which third-party
distributions load: set it empty to run on the built-ins alone.
"""

from __future__ import annotations

import difflib
import os
import sys
import time
import traceback
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Iterable, Optional

import pluggy

from ganzoo import hookspecs
from ganzoo.errors import PluginError

__all__ = ["PluginInfo", "PluginFailure", "LoadedPlugins", "load_plugins", "check_hook_names", "failure_from",
           "ENV_LOAD_PLUGINS", "BUILTIN_PACKAGE"]

ENV_LOAD_PLUGINS = "GANZOO_LOAD_PLUGINS"
BUILTIN_PACKAGE = "ganzoo"


@dataclass(frozen=True)
class PluginInfo:
    """A plugin that loaded: its entry-point name, the distribution that provides it, and the object pluggy holds."""

    name: str
    package: str
    version: str
    plugin: Any


@dataclass(frozen=True)
class PluginFailure:
    """A plugin that was skipped: ``where`` is the entry point (``name = module``) or hook, ``error`` one line,
    ``traceback`` the full one when an exception was raised (``--debug`` prints it)."""

    where: str
    package: str
    version: str
    error: str
    traceback: str = ""


@dataclass
class LoadedPlugins:
    manager: pluggy.PluginManager
    plugins: list[PluginInfo]
    failures: list[PluginFailure]
    notes: list[str] = field(default_factory=list)  # things that work but should be fixed (a slow import)


def one_line(exc: BaseException) -> str:
    """``Type: message`` on a single line, for tables and logs."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def failure_from(where: str, package: str, version: str, exc: BaseException, hint: str = "") -> PluginFailure:
    """The failure record of a plugin that raised ``exc``: one line (plus ``hint``) and the full traceback."""
    return PluginFailure(where, package, version, one_line(exc) + hint, "".join(traceback.format_exception(exc)))


def check_hook_names(plugin: Any) -> None:
    """Raise PluginError when a plugin defines a ``register_*`` function that ganzoo never calls (``hook_name_problems``,
    all of them in one message)."""
    problems = hook_name_problems(plugin)
    if problems:
        raise PluginError("; ".join(problems))


def hook_name_problems(plugin: Any) -> list[str]:
    """Each ``register_*`` function of ``plugin`` that ganzoo never calls, one line each: a name that is not a hook
    (``register_metric``), or a hook's name without ``@ganzoo.hookimpl``. pluggy would ignore both without a word, and
    the plugin would register nothing under that name."""
    module = getattr(plugin, "__name__", None)
    marker = f"{hookspecs.PROJECT}_impl"
    problems = []
    for attr in sorted(dir(plugin)):
        if not attr.startswith("register_"):
            continue
        value = getattr(plugin, attr, None)
        if not callable(value):
            continue
        marked = hasattr(value, marker)
        if attr in hookspecs.HOOK_KINDS:
            if not marked:
                problems.append(f"{attr} is not marked @ganzoo.hookimpl, so ganzoo never calls it: decorate it")
            continue
        if marked or getattr(value, "__module__", None) == module:
            close = difflib.get_close_matches(attr, list(hookspecs.HOOK_KINDS), n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"the hooks are {', '.join(hookspecs.HOOK_KINDS)}"
            problems.append(f"{attr} is not a ganzoo hook: {hint}")
    return problems


def check_api_version(wanted: Any, package: str) -> None:
    if isinstance(wanted, bool) or not isinstance(wanted, int):
        raise PluginError(f"GANZOO_API_VERSION must be an int, got {wanted!r} ({type(wanted).__name__}): "
                          f"write GANZOO_API_VERSION = {hookspecs.API_VERSION}")
    if wanted == 1 and hookspecs.API_VERSION == 2:
        raise PluginError(f"written for plugin API 1, this ganzoo provides 2: pass every spec field by keyword "
                          f"(Loss(name=..., description=..., ...)), give a Loss either kind or discriminator, then set "
                          f"GANZOO_API_VERSION = 2 (docs/plugins.md, 'Versions of the contract'); or pin "
                          f"ganzoo<{hookspecs.API_RELEASES[2]} for {package}")
    if wanted != hookspecs.API_VERSION:
        raise PluginError(f"written for plugin API {wanted}, this ganzoo provides {hookspecs.API_VERSION}; "
                          f"upgrade {package} or ganzoo")


def _allowed_packages() -> Optional[set[str]]:
    raw = os.environ.get(ENV_LOAD_PLUGINS)
    if raw is None:
        return None
    return {_normalise(p) for p in raw.split(",") if p.strip()}


def _normalise(dist_name: str) -> str:
    return dist_name.strip().lower().replace("_", "-").replace(".", "-")


def _entry_points() -> list[metadata.EntryPoint]:
    seen: set[tuple[str, str]] = set()
    unique = []
    for ep in metadata.entry_points(group=hookspecs.PROJECT):
        key = (_normalise(ep.dist.name) if ep.dist else "", ep.name)
        if key not in seen:  # the same distribution on two sys.path entries must not register twice
            seen.add(key)
            unique.append(ep)
    return sorted(unique, key=lambda ep: (ep.dist.name if ep.dist else "", ep.name))


def load_plugins(extra: Iterable[tuple[Any, str, str]] = (), *, entry_points: bool = True,
                 only: Optional[Iterable[str]] = None) -> LoadedPlugins:
    """Create the plugin manager and register every plugin that loads.

    Args:
        extra: in-memory plugins as ``(object, package, version)``, registered after the entry points (used by tests and
            by code that embeds ganzoo).
        entry_points: whether to load the ``ganzoo`` entry-point group.
        only: third-party distributions to load (ganzoo's built-ins always load); None: those ``GANZOO_LOAD_PLUGINS``
            names, else all.

    Returns:
        The manager, the plugins it holds, and the failures.
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    plugins: list[PluginInfo] = []
    failures: list[PluginFailure] = []
    notes: list[str] = []
    allowed = _allowed_packages() if only is None else {_normalise(p) for p in only}

    candidates: list[tuple[str, str, str, Any]] = []  # (name, package, version, loader)
    if entry_points:
        installed: set[str] = set()
        for ep in _entry_points():
            package = ep.dist.name if ep.dist else "?"
            version = ep.dist.version if ep.dist else "?"
            installed.add(_normalise(package))
            if allowed is not None and _normalise(package) != BUILTIN_PACKAGE and _normalise(package) not in allowed:
                continue
            candidates.append((ep.name, package, version, ep))
        for missing in sorted((allowed or set()) - installed - {BUILTIN_PACKAGE}):
            others = ", ".join(sorted(installed - {BUILTIN_PACKAGE})) or "none"
            failures.append(PluginFailure(ENV_LOAD_PLUGINS, missing, "",
                                          f"{ENV_LOAD_PLUGINS} names {missing!r}, which provides no ganzoo plugin here "
                                          f"(installed plugin distributions: {others})"))
    for obj, package, version in extra:
        candidates.append((getattr(obj, "__name__", type(obj).__name__), package, version, obj))

    for name, package, version, source in candidates:
        where = f"{source.name} = {source.value}" if isinstance(source, metadata.EntryPoint) else name
        try:
            torch_before, started = "torch" in sys.modules, time.perf_counter()
            plugin = source.load() if isinstance(source, metadata.EntryPoint) else source
            if not torch_before and "torch" in sys.modules:
                notes.append(f"{package}: importing {where} imports torch ({time.perf_counter() - started:.1f} s on "
                             "every command that reads the plugins): import it inside the functions a spec calls, "
                             "e.g. with ganzoo.lazy")
            check_api_version(getattr(plugin, "GANZOO_API_VERSION", hookspecs.API_VERSION), package)
            check_hook_names(plugin)
            registered_name = f"{package}:{name}"
            if pm.has_plugin(registered_name):
                continue
            pm.register(plugin, name=registered_name)
        except Exception as exc:  # a broken plugin must never take the others down
            failures.append(failure_from(where, package, version, exc))
            continue
        plugins.append(PluginInfo(name, package, version, plugin))
    return LoadedPlugins(pm, plugins, failures, notes)
