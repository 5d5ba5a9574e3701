"""Gradient penalties on g = dD(x)/dx with per-sample L2 norms over all non-batch dimensions.

``gradient_penalty`` runs the fused kernels of ``ganzoo._C`` when they are built (one pass over g forward, one elementwise
pass backward); ``gradient_penalty_ref`` is the plain-PyTorch specification they are tested against.
"""

from __future__ import annotations

from typing import Optional

import torch

from ganzoo.ops._impl import use_extension

__all__ = ["PENALTY_KINDS", "gradient_penalty", "gradient_penalty_ref", "interpolate", "interpolate_ref"]

PENALTY_KINDS = ("two_sided", "one_sided", "r1", "r2")
# kernel codes: R1 and R2 share a formula (they differ in where g is taken, which is the trainer's business)
_KIND_CODES = {"two_sided": 0, "one_sided": 1, "r1": 2, "r2": 2}
_KIND_NAMES = {0: "two_sided", 1: "one_sided", 2: "r1"}


def kind_code(kind: str) -> int:
    if kind not in _KIND_CODES:
        raise ValueError(f"unknown penalty kind {kind!r}: expected one of {PENALTY_KINDS}")
    return _KIND_CODES[kind]


def gradient_penalty_ref(grad: torch.Tensor, kind: str = "two_sided", weight: float = 10.0, center: float = 1.0) -> torch.Tensor:
    """``weight * mean_i (||g_i|| - center)^2`` (two-sided), ``weight * mean_i max(0, ||g_i|| - center)^2`` (one-sided) or
    ``weight / 2 * mean_i ||g_i||^2`` (R1 / R2).

    ``torch.linalg.vector_norm`` gives a zero gradient (not NaN) for an all-zero row, which is the defined behaviour.
    """
    if grad.ndim < 1 or grad.shape[0] == 0:
        raise ValueError(f"grad must have a non-empty batch dimension, got shape {tuple(grad.shape)}")
    flat = grad.reshape(grad.shape[0], -1)
    if kind in ("r1", "r2"):
        return weight / 2 * flat.square().sum(dim=1).mean()
    norms = torch.linalg.vector_norm(flat, dim=1)
    if kind == "two_sided":
        return weight * (norms - center).square().mean()
    if kind == "one_sided":
        return weight * torch.clamp(norms - center, min=0).square().mean()
    raise ValueError(f"unknown penalty kind {kind!r}: expected one of {PENALTY_KINDS}")


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
    code = kind_code(kind)
    if grad.ndim < 1 or grad.shape[0] == 0:
        raise ValueError(f"grad must have a non-empty batch dimension, got shape {tuple(grad.shape)}")
    if use_extension(impl, grad):
        return torch.ops.ganzoo.gradient_penalty(grad, code, float(weight), float(center))[0]
    return gradient_penalty_ref(grad, kind, weight, center)


def interpolate_ref(fake: torch.Tensor, real: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """x_hat = fake + eps * (real - fake), with one eps per sample (shape (B,))."""
    return torch.lerp(fake, real, eps.reshape(-1, *([1] * (real.ndim - 1))).to(real.dtype))


# torch.lerp is already one fused pass over both inputs; a kernel of ours would save nothing (see benchmarks/RESULTS.md).
interpolate = interpolate_ref
