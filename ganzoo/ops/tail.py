"""The whole critic tail in one op: the discriminator loss over real and fake logits plus the gradient penalty on g.

For WGAN-GP: ``mean D(fake) - mean D(real) + lambda * mean_i (||g_i|| - 1)^2`` -> one scalar, one backward.
"""

from __future__ import annotations

from typing import Optional

import torch

from ganzoo.kinds import (
    check_label_smoothing,
    loss_kind as find_loss_kind,
    loss_name,
    penalty_kind as find_penalty_kind,
    penalty_name,
)
from ganzoo.ops._impl import use_extension
from ganzoo.ops._library import acc_dtype, reference_grads
from ganzoo.ops.extension import when_loaded
from ganzoo.ops.losses import _critic_loss_fake
from ganzoo.ops.penalty import _gradient_penalty_fake
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


def _critic_tail_fake(real, fake, grad, loss_kind, label_smoothing, penalty_kind, weight, center):
    """The shapes and dtypes ``ganzoo::critic_tail`` returns: the loss's and the penalty's, and four statistics."""
    loss, grad_real, grad_fake, _ = _critic_loss_fake(real, fake, loss_kind, label_smoothing)
    _, norms = _gradient_penalty_fake(grad, penalty_kind, weight, center)
    return loss, grad_real, grad_fake, norms, real.new_empty((4,), dtype=acc_dtype(real))


def _critic_tail_ref_grads(grad_out, real, fake, grad, loss_kind, label_smoothing, penalty_kind, weight,
                           center):
    """The tail's gradients by the reference, for a create_graph backward through the fused kernel."""
    with torch.enable_grad():
        ref, _ = critic_tail_ref(real, fake, grad, loss_name(loss_kind), label_smoothing, penalty_name(penalty_kind),
                                 weight, center)
        d_real, d_fake, d_grad = reference_grads(ref, [real, fake, grad], grad_out)
    return d_real, d_fake, d_grad


@when_loaded
def _register() -> None:
    torch.library.register_fake("ganzoo::critic_tail", _critic_tail_fake)
    torch.library.impl("ganzoo::critic_tail_ref_grads", "CompositeImplicitAutograd", func=_critic_tail_ref_grads)
