"""The whole critic tail in one op: the discriminator loss over real and fake logits plus the gradient penalty on g.

For WGAN-GP: ``mean D(fake) - mean D(real) + lambda * mean_i (||g_i|| - 1)^2`` -> one scalar, one backward.
"""

from __future__ import annotations

from typing import Optional

import torch

from ganzoo.ops._impl import use_extension
from ganzoo.ops.kinds import check_label_smoothing, loss_kind as find_loss_kind, penalty_kind as find_penalty_kind
from ganzoo.ops.reference import critic_tail_ref
from ganzoo.ops.stats import CriticStats

__all__ = ["critic_tail"]


def critic_tail(real: torch.Tensor, fake: torch.Tensor, grad: torch.Tensor, loss_kind: str = "wasserstein",
                penalty_kind: str = "two_sided", weight: float = 10.0, center: float = 1.0, label_smoothing: float = 0.0,
                *, impl: Optional[str] = None) -> tuple[torch.Tensor, CriticStats]:
    """The critic's total loss and its statistics.

    Args:
        real, fake: logits, shape (B,) and (B',).
        grad: g = dD(x)/dx at the penalty's points, shape (B'', ...).
        loss_kind: ``"bce"``, ``"hinge"`` or ``"wasserstein"``.
        penalty_kind, weight, center: as in ``gradient_penalty``.
        impl: ``"auto"``, ``"ext"``, ``"ref"`` or None for the current default.

    Returns:
        ``(loss, stats)``: a 0-d tensor, and its ``CriticStats`` (mean D(real), mean D(fake), accuracy, penalty) on
        the same device.
    """
    l_code, p_code = find_loss_kind(loss_kind).code, find_penalty_kind(penalty_kind).code
    check_label_smoothing(loss_kind, label_smoothing)
    if use_extension(impl, real, fake, grad):
        loss, _, _, _, stats = torch.ops.ganzoo.critic_tail(real, fake, grad, l_code, float(label_smoothing), p_code,
                                                             float(weight), float(center))
        return loss, CriticStats.of(stats)
    return critic_tail_ref(real, fake, grad, loss_kind, label_smoothing, penalty_kind, weight, center)
