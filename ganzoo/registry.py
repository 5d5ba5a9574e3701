"""Name -> spec lookups over everything the plugins registered.

A name may be qualified by the providing distribution, ``package:name``, which is how a user picks one of two plugins that
register the same name. Unknown names suggest the closest known ones.
"""

from __future__ import annotations

import difflib
import functools
import warnings
from dataclasses import dataclass
from typing import Any, Iterable, Optional

from ganzoo import hookspecs
from ganzoo.errors import AmbiguousNameError, GanzooWarning, PluginError, UnknownNameError
from ganzoo.plugins import LoadedPlugins, PluginFailure, PluginInfo, failure_from, load_plugins
from ganzoo.specs import Architecture, Dataset, Loss, Metric, validate_spec

__all__ = ["KINDS", "KIND_TITLES", "Entry", "Registry", "build_registry", "default_registry"]

KINDS = ("arch", "loss", "dataset", "metric")
KIND_TITLES = {"arch": "architecture", "loss": "loss", "dataset": "dataset", "metric": "metric"}
_SPEC_CLASS = {"arch": Architecture, "loss": Loss, "dataset": Dataset, "metric": Metric}
# built-in names that changed: (kind, old name) -> (new name, what changed). Looking an old name up warns once and
# gives the new one, while no plugin registers the old name itself.
RENAMED = {
    ("dataset", "mnist_digits"): ("mnist", "dataset 'mnist_digits' is now called 'mnist' (real MNIST; Fashion-MNIST "
                                           "is 'fashion_mnist')"),
}


@dataclass(frozen=True)
class Entry:
    """One registered spec and who provides it."""

    kind: str
    spec: Any
    package: str
    version: str
    plugin: str = ""

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def qualified_name(self) -> str:
        return f"{self.package}:{self.spec.name}"


class Registry:
    """Every registered spec, by kind and name, plus the plugins that loaded and those that failed."""

    def __init__(self, plugins: Iterable[PluginInfo] = (), failures: Iterable[PluginFailure] = (),
                 notes: Iterable[str] = ()):
        self._by_kind: dict[str, dict[str, list[Entry]]] = {kind: {} for kind in KINDS}
        self.plugins: list[PluginInfo] = list(plugins)
        self.failures: list[PluginFailure] = list(failures)
        self.notes: list[str] = list(notes)

    def add(self, entry: Entry) -> None:
        providers = self._by_kind[entry.kind].setdefault(entry.name, [])
        if any(p.package == entry.package for p in providers):
            raise PluginError(f"{entry.package} registers {KIND_TITLES[entry.kind]} {entry.name!r} twice")
        providers.append(entry)

    def duplicate_within_package(self, pending: list[Entry]) -> Optional[str]:
        """Why ``pending`` cannot be added (a name its package registers twice), or None; checked before adding any."""
        seen = {(e.kind, e.name, e.package) for k in KINDS for p in self._by_kind[k].values() for e in p}
        for entry in pending:
            key = (entry.kind, entry.name, entry.package)
            if key in seen:
                return f"PluginError: {entry.package} registers {KIND_TITLES[entry.kind]} {entry.name!r} twice"
            seen.add(key)
        return None

    def entries(self, kind: Optional[str] = None) -> list[Entry]:
        """All entries, sorted by kind (in ``KINDS`` order) then name then package."""
        kinds = KINDS if kind is None else (kind,)
        return [e for k in kinds for name in sorted(self._by_kind[k]) for e in self._by_kind[k][name]]

    def names(self, kind: str) -> list[str]:
        return sorted(self._by_kind[kind])

    def clashes(self, kind: Optional[str] = None) -> list[list[Entry]]:
        """Names provided by more than one package."""
        kinds = KINDS if kind is None else (kind,)
        return [p for k in kinds for p in self._by_kind[k].values() if len(p) > 1]

    def entry(self, kind: str, name: str) -> Entry:
        """Look a name up; ``package:name`` picks a provider.

        Raises:
            UnknownNameError: nothing provides the name (the message lists close matches).
            AmbiguousNameError: two packages provide it and no package was given.
        """
        title = KIND_TITLES[kind]
        package, _, bare = name.rpartition(":")
        providers = self._by_kind[kind].get(bare, [])
        if package:
            providers = [p for p in providers if p.package.lower().replace("_", "-") == package.lower().replace("_", "-")]
        if not providers and not package and (kind, bare) in RENAMED:
            return self.entry(kind, self.current_name(kind, bare))
        if not providers:
            raise UnknownNameError(self._unknown_message(kind, title, name))
        if len(providers) > 1:
            listed = " and ".join(f"{p.package} {p.version}" for p in providers)
            picks = ", ".join(repr(p.qualified_name) for p in providers)
            raise AmbiguousNameError(f"{title} {bare!r} is provided by both {listed}: pick one as {picks}")
        return providers[0]

    def entry_of(self, kind: str, spec: Any) -> Entry:
        """The entry of a spec already looked up: by the object itself, since its bare name may be registered by
        several packages."""
        return next(e for e in self.entries(kind) if e.spec is spec)

    def current_name(self, kind: str, name: str) -> str:
        """``name``, or the name a built-in now has (``RENAMED``) when no plugin registers the old one; the rename is
        said once, as a warning."""
        if (kind, name) in RENAMED and name not in self._by_kind[kind]:
            new_name, change = RENAMED[kind, name]
            warnings.warn(f"{change}: using {new_name!r}", GanzooWarning, stacklevel=3)
            return new_name
        return name

    def get(self, kind: str, name: str) -> Any:
        """The spec registered under ``name`` (see ``entry``)."""
        return self.entry(kind, name).spec

    def _unknown_message(self, kind: str, title: str, name: str) -> str:
        known = self.names(kind)
        close = difflib.get_close_matches(name.rpartition(":")[2], known, n=3, cutoff=0.5)
        if close:
            hint = "did you mean " + " or ".join(repr(c) for c in close) + "?"
        elif known:
            hint = "known: " + ", ".join(known)
        else:
            hint = f"no {title} plugins are installed"
        message = f"unknown {title} {name!r}: {hint} (see 'ganzoo list --kind {kind}')"
        if self.failures:  # the name may belong to a plugin that did not load: say which ones failed
            failed = "; ".join(f"{f.package} ({f.error[:80]})" for f in self.failures[:3])
            more = f" and {len(self.failures) - 3} more" if len(self.failures) > 3 else ""
            message += f"; {len(self.failures)} plugin(s) failed to load: {failed}{more}"
        return message


def build_registry(loaded: LoadedPlugins) -> Registry:
    """Call every plugin's hooks one plugin at a time, so that one raising hook loses only that plugin's specs."""
    registry = Registry(failures=loaded.failures, notes=loaded.notes)
    ok_plugins = []
    for info in loaded.plugins:
        pending: list[Entry] = []
        try:
            for hook_name, kind in hookspecs.HOOK_KINDS.items():
                for impl in getattr(loaded.manager.hook, hook_name).get_hookimpls():
                    if impl.plugin is not info.plugin:
                        continue
                    collected: list[Any] = []
                    impl.function(**{arg: collected.append for arg in impl.argnames})
                    for spec in collected:
                        if not isinstance(spec, _SPEC_CLASS[kind]):
                            raise PluginError(
                                f"{hook_name} registered a {type(spec).__name__}, expected {_SPEC_CLASS[kind].__name__}"
                            )
                        validate_spec(spec)
                        pending.append(Entry(kind, spec, info.package, info.version, info.name))
        except Exception as exc:
            positional = isinstance(exc, TypeError) and "positional argument" in str(exc)
            hint = " (spec fields are passed by keyword since plugin API 2: Loss(name=..., description=...))"
            registry.failures.append(failure_from(info.name, info.package, info.version, exc, hint if positional else ""))
            continue
        clash = registry.duplicate_within_package(pending)
        if clash:
            registry.failures.append(PluginFailure(info.name, info.package, info.version, clash))
            continue
        for entry in pending:
            registry.add(entry)
        ok_plugins.append(info)
    registry.plugins = ok_plugins
    return registry


@functools.lru_cache(maxsize=1)
def default_registry() -> Registry:
    """The registry of every installed plugin (cached for the life of the process)."""
    return build_registry(load_plugins())
