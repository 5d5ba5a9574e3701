"""The fused ops' Python face: each op beside its pure-PyTorch reference.

The trainer calls only these functions, so a faster implementation replaces the reference without touching the loop.
"""

from ganzoo.ops.losses import LOSS_KINDS, discriminator_loss_ref, generator_loss_ref
from ganzoo.ops.penalty import PENALTY_KINDS, gradient_penalty_ref, interpolate_ref

__all__ = [
    "LOSS_KINDS",
    "PENALTY_KINDS",
    "discriminator_loss",
    "generator_loss",
    "gradient_penalty",
    "interpolate",
    "discriminator_loss_ref",
    "generator_loss_ref",
    "gradient_penalty_ref",
    "interpolate_ref",
]

discriminator_loss = discriminator_loss_ref
generator_loss = generator_loss_ref
gradient_penalty = gradient_penalty_ref
interpolate = interpolate_ref
