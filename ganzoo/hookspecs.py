"""The plugin contract: four hooks, each handed a ``register`` callback.

A plugin is any module or object with functions marked ``@ganzoo.hookimpl`` whose names match these specs. Plugins are found
through the ``ganzoo`` entry-point group; ganzoo's own architectures, losses, datasets and metrics use exactly the same route.
Each hook may call ``register`` any number of times, once per spec object.
"""

from __future__ import annotations

from typing import Callable

import pluggy

__all__ = ["hookspec", "hookimpl", "PROJECT", "API_VERSION", "HOOK_KINDS"]

PROJECT = "ganzoo"
# Bumped only when a hook or a spec changes incompatibly; plugins may declare the version they target.
API_VERSION = 1

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
def register_architectures(register: Callable[["ganzoo.specs.Architecture"], None]) -> None:  # noqa: F821
    """Register GAN architectures: call ``register(Architecture(...))`` once for each."""


@hookspec
def register_losses(register: Callable[["ganzoo.specs.Loss"], None]) -> None:  # noqa: F821
    """Register adversarial losses: call ``register(Loss(...))`` once for each."""


@hookspec
def register_datasets(register: Callable[["ganzoo.specs.Dataset"], None]) -> None:  # noqa: F821
    """Register datasets: call ``register(Dataset(...))`` once for each."""


@hookspec
def register_metrics(register: Callable[["ganzoo.specs.Metric"], None]) -> None:  # noqa: F821
    """Register quality metrics: call ``register(Metric(...))`` once for each."""
