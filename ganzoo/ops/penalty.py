"""Gradient penalties on g = dD(x)/dx with per-sample L2 norms over all non-batch dimensions (the reference)."""

from __future__ import annotations

import torch

__all__ = ["PENALTY_KINDS", "gradient_penalty_ref", "interpolate_ref"]

PENALTY_KINDS = ("two_sided", "one_sided", "r1", "r2")


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


def interpolate_ref(fake: torch.Tensor, real: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """x_hat = fake + eps * (real - fake), with one eps per sample (shape (B,))."""
    return torch.lerp(fake, real, eps.reshape(-1, *([1] * (real.ndim - 1))).to(real.dtype))
