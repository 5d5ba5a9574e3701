"""Least-squares GAN losses with the a = 0, b = c = 1 coding of Mao et al. 2017 (their eq. 9)."""

from __future__ import annotations

import torch

__all__ = ["discriminator_loss", "generator_loss"]


def _wide(t: torch.Tensor) -> torch.Tensor:
    # half and bfloat16 logits are squared and averaged in float32; float64 stays float64 (gradcheck)
    return t if t.dtype in (torch.float32, torch.float64) else t.float()


def discriminator_loss(real: torch.Tensor, fake: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
    """``0.5 * mean (D(x) - b)^2 + 0.5 * mean D(G(z))^2`` with ``b = 1 - label_smoothing``; at least float32."""
    if not 0.0 <= label_smoothing < 1.0:
        raise ValueError(f"label_smoothing={label_smoothing} must be in [0, 1)")
    target = 1.0 - label_smoothing
    return 0.5 * (_wide(real) - target).square().mean() + 0.5 * _wide(fake).square().mean()


def generator_loss(fake: torch.Tensor) -> torch.Tensor:
    """``0.5 * mean (D(G(z)) - 1)^2``."""
    return 0.5 * (_wide(fake) - 1.0).square().mean()
