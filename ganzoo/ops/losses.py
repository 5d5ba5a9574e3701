"""Adversarial losses over raw discriminator logits, in plain PyTorch (the reference every fused kernel is held to).

``bce`` is written with softplus, so it is exact and finite for any logit (log(sigmoid(x)) = -softplus(-x)).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["LOSS_KINDS", "discriminator_loss_ref", "generator_loss_ref"]

LOSS_KINDS = ("bce", "hinge", "wasserstein")


def discriminator_loss_ref(kind: str, real: torch.Tensor, fake: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
    """The discriminator's loss to minimise.

    Args:
        kind: ``"bce"`` (with one-sided label smoothing: real target ``1 - label_smoothing``), ``"hinge"`` or
            ``"wasserstein"`` (``mean D(fake) - mean D(real)``).
        real: logits of real samples, shape (B,).
        fake: logits of generated samples, shape (B',).
        label_smoothing: only for ``bce``.

    Returns:
        A scalar tensor.
    """
    if kind == "bce":
        target = 1.0 - label_smoothing
        real_term = target * F.softplus(-real) + (1.0 - target) * F.softplus(real) if label_smoothing else F.softplus(-real)
        return real_term.mean() + F.softplus(fake).mean()
    if kind == "hinge":
        return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()
    if kind == "wasserstein":
        return fake.mean() - real.mean()
    raise ValueError(f"unknown loss kind {kind!r}: expected one of {LOSS_KINDS}")


def generator_loss_ref(kind: str, fake: torch.Tensor) -> torch.Tensor:
    """The generator's loss: non-saturating ``-log sigmoid(D(G(z)))`` for ``bce``, ``-mean D(G(z))`` otherwise."""
    if kind == "bce":
        return F.softplus(-fake).mean()
    if kind in ("hinge", "wasserstein"):
        return -fake.mean()
    raise ValueError(f"unknown loss kind {kind!r}: expected one of {LOSS_KINDS}")
