"""The critic loss's gradient for an MLP critic (Linear + LeakyReLU layers, one-logit head), penalty included, in one op.

Every eager WGAN-GP loop gets these gradients from a double backward: ``autograd.grad(D(x).sum(), x,
create_graph=True)``, then a backward through that. With piecewise-linear activations the penalty's pull on the weights
is a few GEMMs; ``csrc/mlp_critic.cpp`` computes them directly, with real, fake and penalty rows in one GEMM per layer.
The reference (``mlp_critic_grads_ref``) is the double backward itself.
"""

from __future__ import annotations

from typing import Optional, Sequence

import torch

from ganzoo.kinds import check_label_smoothing, loss_kind as find_loss_kind, penalty_kind as find_penalty_kind
from ganzoo.ops._impl import use_extension
from ganzoo.ops._library import acc_dtype
from ganzoo.ops.extension import when_loaded
from ganzoo.ops.reference import mlp_critic_grads_ref
from ganzoo.ops.stats import CriticStats

__all__ = ["mlp_critic_grads"]


def mlp_critic_grads(real: torch.Tensor, fake: torch.Tensor, point: Optional[torch.Tensor],
                     weights: Sequence[torch.Tensor], biases: Sequence[torch.Tensor], slope: float = 0.2,
                     loss_kind: str = "wasserstein", penalty_kind: str = "two_sided", weight: float = 10.0,
                     center: float = 1.0, label_smoothing: float = 0.0, *, impl: Optional[str] = None
                     ) -> tuple[torch.Tensor, CriticStats, list[torch.Tensor], list[torch.Tensor]]:
    """The critic's loss on ``real`` and ``fake``, with the penalty on g = dD(x)/dx at ``point`` (none when None), and its
    gradients in the critic's parameters.

    Args:
        real, fake: samples (B, ...) and (B', ...), flattened to the first layer's inputs.
        point: where the penalty takes g (interpolates for WGAN-GP), or None for the loss alone.
        weights, biases: the critic's Linear layers in order, the one-logit head last; float32 or float64.
        slope: the LeakyReLU negative slope between layers (>= 0).
        loss_kind, penalty_kind, weight, center, label_smoothing: as in ``critic_tail``.
        impl: ``"auto"``, ``"ext"``, ``"ref"`` or None for the current default.

    Returns:
        ``(loss, stats, weight_grads, bias_grads)``: the loss (0-d, penalty included), its ``CriticStats``, and one
        gradient per weight and bias. Nothing is recorded for autograd.
    """
    l_code, p_code = find_loss_kind(loss_kind).code, find_penalty_kind(penalty_kind).code
    check_label_smoothing(loss_kind, label_smoothing)
    tensors = [real, fake, *weights, *biases] + ([point] if point is not None else [])
    if use_extension(impl, *tensors):
        with torch.no_grad():
            loss, stats, weight_grads, bias_grads = torch.ops.ganzoo.mlp_critic_grads(
                real.detach(), fake.detach(), None if point is None else point.detach(),
                [w.detach() for w in weights], [b.detach() for b in biases], float(slope), l_code,
                float(label_smoothing), p_code, float(weight), float(center))
        return loss, CriticStats.of(stats), list(weight_grads), list(bias_grads)
    return mlp_critic_grads_ref(real, fake, point, list(weights), list(biases), slope, loss_kind, label_smoothing,
                                penalty_kind, weight, center)


def _mlp_critic_grads_fake(real, fake, point, weights, biases, slope, loss_kind, label_smoothing, penalty_kind,
                           weight, center):
    """The shapes and dtypes ``ganzoo::mlp_critic_grads`` returns: the loss, four statistics, one gradient per tensor."""
    return (real.new_empty(()), real.new_empty((4,), dtype=acc_dtype(real)), [torch.empty_like(w) for w in weights],
            [torch.empty_like(b) for b in biases])


@when_loaded
def _register() -> None:
    torch.library.register_fake("ganzoo::mlp_critic_grads", _mlp_critic_grads_fake)
