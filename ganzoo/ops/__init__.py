"""The fused ops' Python face: each op beside its pure-PyTorch reference.

The trainer calls only these functions. Each takes ``impl="auto" | "ext" | "ref"`` (None: the current default, which
``default_impl`` sets for a block of code).

The names are imported on first use, so that ``ganzoo.ops.kinds`` (the table of loss and penalty kinds, no torch) can be
read by the plugin specs without importing torch.
"""

from __future__ import annotations

import importlib
from typing import Any

# public name -> the module that defines it
_HOMES = {
    "IMPLS": "_impl", "default_impl": "_impl",
    "LOSS_KINDS": "kinds", "PENALTY_KINDS": "kinds",
    "DRIFT": "losses", "discriminator_loss": "losses", "discriminator_loss_with_stats": "losses",
    "generator_loss": "losses", "wasserstein_drift_loss": "losses",
    "relativistic_discriminator_loss": "losses", "relativistic_generator_loss": "losses",
    "gradient_penalty": "penalty", "interpolate": "penalty",
    "critic_tail": "tail", "CriticStats": "stats",
    "mlp_critic_grads": "mlp_critic",
    "critic_tail_ref": "reference", "discriminator_loss_ref": "reference", "logit_stats_ref": "reference", "generator_loss_ref": "reference",
    "gradient_penalty_ref": "reference", "interpolate_ref": "reference", "mlp_critic_ref": "reference",
    "mlp_critic_grads_ref": "reference",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        value = getattr(importlib.import_module(f"ganzoo.ops.{_HOMES[name]}"), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module 'ganzoo.ops' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOMES))
