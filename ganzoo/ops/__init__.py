"""The fused ops' Python face: each op beside its pure-PyTorch reference.

The trainer calls only these functions. Each takes ``impl="auto" | "ext" | "ref"`` (None: the current default, which
``default_impl`` sets for a block of code).
"""

from ganzoo.ops._impl import IMPLS, default_impl
from ganzoo.ops.losses import (
    DRIFT,
    LOSS_KINDS,
    discriminator_loss,
    discriminator_loss_ref,
    discriminator_loss_with_stats,
    generator_loss,
    generator_loss_ref,
    wasserstein_drift_loss,
)
from ganzoo.ops.penalty import PENALTY_KINDS, gradient_penalty, gradient_penalty_ref, interpolate, interpolate_ref
from ganzoo.ops.tail import critic_tail, critic_tail_ref

__all__ = [
    "IMPLS",
    "LOSS_KINDS",
    "PENALTY_KINDS",
    "default_impl",
    "critic_tail",
    "critic_tail_ref",
    "discriminator_loss",
    "discriminator_loss_ref",
    "discriminator_loss_with_stats",
    "generator_loss",
    "generator_loss_ref",
    "gradient_penalty",
    "gradient_penalty_ref",
    "interpolate",
    "interpolate_ref",
    "wasserstein_drift_loss",
    "DRIFT",
]
