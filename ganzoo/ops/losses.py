"""Adversarial losses over raw discriminator logits.

``discriminator_loss`` runs the fused kernel of ``ganzoo._C`` when it is built (loss and both gradients in one pass);
``discriminator_loss_ref`` is the plain-PyTorch specification. ``bce`` uses softplus, so it is exact and finite for any
logit (log(sigmoid(x)) = -softplus(-x)).
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F

from ganzoo.ops._impl import use_extension

__all__ = ["LOSS_KINDS", "DRIFT", "wasserstein_drift_loss", "discriminator_loss", "discriminator_loss_ref", "discriminator_loss_with_stats",
           "generator_loss", "generator_loss_ref", "loss_code"]

LOSS_KINDS = ("bce", "hinge", "wasserstein")


def loss_code(kind: str) -> int:
    if kind not in LOSS_KINDS:
        raise ValueError(f"unknown loss kind {kind!r}: expected one of {LOSS_KINDS}")
    return LOSS_KINDS.index(kind)


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


def _stats_ref(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    real, fake = real.detach().reshape(-1), fake.detach().reshape(-1)
    acc = torch.float64 if real.dtype == torch.float64 else torch.float32
    correct = (real > 0).sum() + (fake < 0).sum()
    return torch.stack([real.to(acc).mean(), fake.to(acc).mean(), correct.to(acc) / (real.numel() + fake.numel())])


def discriminator_loss_with_stats(kind: str, real: torch.Tensor, fake: torch.Tensor, label_smoothing: float = 0.0, *,
                                  impl: Optional[str] = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The loss and ``[mean D(real), mean D(fake), accuracy]`` (accuracy: real logits > 0 and fake logits < 0), the
    statistics computed in the same pass and left on the device, so logging them costs no extra sync."""
    code = loss_code(kind)
    if label_smoothing and kind != "bce":
        raise ValueError(f"label_smoothing applies to the bce loss, not {kind!r}")
    if use_extension(impl, real, fake):
        loss, _, _, stats = torch.ops.ganzoo.critic_loss(real, fake, code, float(label_smoothing))
        return loss, stats
    return discriminator_loss_ref(kind, real, fake, label_smoothing), _stats_ref(real, fake)


def discriminator_loss(kind: str, real: torch.Tensor, fake: torch.Tensor, label_smoothing: float = 0.0, *,
                       impl: Optional[str] = None) -> torch.Tensor:
    """The discriminator's loss (see ``discriminator_loss_ref``), fused when the kernels are available."""
    return discriminator_loss_with_stats(kind, real, fake, label_smoothing, impl=impl)[0]


DRIFT = 1e-3  # Karras et al. 2018, epsilon_drift: keeps the critic's outputs from drifting far from zero


def wasserstein_drift_loss(real: torch.Tensor, fake: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
    """ProGAN's critic loss: ``mean D(fake) - mean D(real) + 0.001 * mean D(real)^2`` (the penalty is added by the trainer)."""
    if label_smoothing:
        raise ValueError("label_smoothing applies to the bce loss, not to wasserstein_drift")
    return discriminator_loss("wasserstein", real, fake) + DRIFT * real.square().mean()


def generator_loss_ref(kind: str, fake: torch.Tensor) -> torch.Tensor:
    """The generator's loss: non-saturating ``-log sigmoid(D(G(z)))`` for ``bce``, ``-mean D(G(z))`` otherwise."""
    if kind == "bce":
        return F.softplus(-fake).mean()
    if kind in ("hinge", "wasserstein"):
        return -fake.mean()
    raise ValueError(f"unknown loss kind {kind!r}: expected one of {LOSS_KINDS}")


# One small reduction with nothing around it to fuse: the reference is already a single pass.
generator_loss = generator_loss_ref
