"""The plugin contract: four hooks, each handed a ``register`` callback.

A plugin is any module or object with functions marked ``@ganzoo.hookimpl`` whose names match these specs. Plugins are found
through the ``ganzoo`` entry-point group; ganzoo's own architectures, losses, datasets and metrics use exactly the same route.
Each hook may call ``register`` any number of times, once per spec object.
"""

from __future__ import annotations

import inspect
from typing import Callable

import pluggy

from ganzoo.specs import Architecture, Dataset, Loss, Metric

__all__ = ["hookspec", "hookimpl", "PROJECT", "API_VERSION", "API_RELEASES", "HOOK_KINDS", "hook_signature"]

PROJECT = "ganzoo"
# Bumped only when a hook or a spec changes incompatibly; plugins may declare the version they target.
# 2: every spec and record takes its fields by keyword; a Loss gives either kind or discriminator, not both.
API_VERSION = 2
# plugin API -> the ganzoo release series (major.minor) that provides it; a contract change bumps the release too, so a
# plugin's `ganzoo>=X.Y` requirement names the API it needs. A test holds the package's version to this table.
API_RELEASES = {1: "0.1", 2: "0.2"}

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

# hook name -> the kind it registers; the registry and the docs read this table.
HOOK_KINDS = {
    "register_architectures": "arch",
    "register_losses": "loss",
    "register_datasets": "dataset",
    "register_metrics": "metric",
}


@hookspec
def register_architectures(register: Callable[[Architecture], None]) -> None:
    """Register GAN architectures: call ``register(Architecture(...))`` once for each."""


@hookspec
def register_losses(register: Callable[[Loss], None]) -> None:
    """Register adversarial losses: call ``register(Loss(...))`` once for each."""


@hookspec
def register_datasets(register: Callable[[Dataset], None]) -> None:
    """Register datasets: call ``register(Dataset(...))`` once for each."""


@hookspec
def register_metrics(register: Callable[[Metric], None]) -> None:
    """Register quality metrics: call ``register(Metric(...))`` once for each."""


def hook_signature(name: str) -> str:
    """A hook's full signature, as the plugin guide titles its section."""
    if name not in HOOK_KINDS:
        raise KeyError(f"{name!r} is not a ganzoo hook: one of {', '.join(HOOK_KINDS)}")
    signature = inspect.signature(globals()[name])
    params = ", ".join(f"{p.name}: {p.annotation}" for p in signature.parameters.values())
    return f"{name}({params}) -> {signature.return_annotation}"
