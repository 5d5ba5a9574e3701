"""Gradient penalties on g = dD(x)/dx with per-sample L2 norms over all non-batch dimensions.

``gradient_penalty`` runs the fused kernels of ``ganzoo._C`` when they are built (one pass over g forward, one elementwise
pass backward); ``gradient_penalty_ref`` (``ganzoo.ops.reference``) is the plain-PyTorch specification they are tested
against.
"""

from __future__ import annotations

from typing import Optional

import torch

from ganzoo.kinds import penalty_kind, penalty_name
from ganzoo.ops._impl import use_extension
from ganzoo.ops._library import acc_dtype, reference_grads
from ganzoo.ops.extension import when_loaded
from ganzoo.ops.reference import gradient_penalty_ref, interpolate_ref

__all__ = ["gradient_penalty", "interpolate"]


def gradient_penalty(grad: torch.Tensor, kind: str = "two_sided", weight: float = 10.0, center: float = 1.0, *,
                     impl: Optional[str] = None) -> torch.Tensor:
    """The penalty as a scalar tensor, differentiable with respect to ``grad``.

    Args:
        grad: g of shape (B, ...), any float dtype, any dense layout (contiguous, channels_last, ...).
        kind: ``"two_sided"``, ``"one_sided"``, ``"r1"`` or ``"r2"`` (see ``gradient_penalty_ref``).
        weight: lambda.
        center: the target norm (two- and one-sided).
        impl: ``"auto"``, ``"ext"`` or ``"ref"``; None means the current default (``ganzoo.ops.default_impl``).

    Returns:
        A 0-d tensor of grad's dtype.
    """
    code = penalty_kind(kind).code
    if grad.ndim < 1 or grad.shape[0] == 0:
        raise ValueError(f"grad must have a non-empty batch dimension, got shape {tuple(grad.shape)}")
    if use_extension(impl, grad):
        return torch.ops.ganzoo.gradient_penalty(grad, code, float(weight), float(center))[0]
    return gradient_penalty_ref(grad, kind, weight, center)


def _gradient_penalty_fake(grad, kind, weight, center):
    """The shapes and dtypes ``ganzoo::gradient_penalty`` returns (the penalty and the per-sample norms)."""
    torch._check(grad.dim() >= 1 and grad.shape[0] > 0, lambda: "ganzoo: grad needs a non-empty batch dimension")
    return grad.new_empty(()), grad.new_empty((grad.shape[0],), dtype=acc_dtype(grad))


def _gradient_penalty_backward_fake(grad_out, grad, norms, kind, weight, center):
    return torch.empty_like(grad)


def _gradient_penalty_ref_grad(grad_out, grad, kind, weight, center):
    """The penalty's gradient by the reference, for a create_graph backward through the fused kernel."""
    with torch.enable_grad():
        (d_grad,) = reference_grads(gradient_penalty_ref(grad, penalty_name(kind), weight, center), [grad], grad_out)
    return d_grad


@when_loaded
def _register() -> None:
    torch.library.register_fake("ganzoo::gradient_penalty", _gradient_penalty_fake)
    torch.library.register_fake("ganzoo::gradient_penalty_backward", _gradient_penalty_backward_fake)
    torch.library.impl("ganzoo::gradient_penalty_ref_grad", "CompositeImplicitAutograd", func=_gradient_penalty_ref_grad)


# torch.lerp is already one fused pass over both inputs; a kernel of ours would save nothing (see benchmarks/RESULTS.md).
interpolate = interpolate_ref
