"""The pure-PyTorch specification of every fused op: what the kernels of ``ganzoo._C`` are tested against, what runs
where they are not built, and what gives their higher-order gradients. Kinds are names from ``ganzoo.kinds``."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ganzoo.kinds import LOSS_KINDS, PENALTY_KINDS
from ganzoo.ops.stats import CriticStats

__all__ = ["discriminator_loss_ref", "generator_loss_ref", "logit_stats_ref", "gradient_penalty_ref", "interpolate_ref",
           "critic_tail_ref", "mlp_critic_ref", "mlp_critic_grads_ref", "leaky_pixel_norm_ref"]


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


def logit_stats_ref(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """``[mean D(real), mean D(fake), accuracy]`` (accuracy: real logits > 0 and fake logits < 0), detached."""
    real, fake = real.detach().reshape(-1), fake.detach().reshape(-1)
    acc = torch.float64 if real.dtype == torch.float64 else torch.float32
    correct = (real > 0).sum() + (fake < 0).sum()
    return torch.stack([real.to(acc).mean(), fake.to(acc).mean(), correct.to(acc) / (real.numel() + fake.numel())])


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


def critic_tail_ref(real: torch.Tensor, fake: torch.Tensor, grad: torch.Tensor, loss_kind: str, label_smoothing: float,
                    penalty_kind: str, weight: float, center: float) -> tuple[torch.Tensor, CriticStats]:
    """(loss + penalty, its ``CriticStats``)."""
    loss = discriminator_loss_ref(loss_kind, real, fake, label_smoothing)
    penalty = gradient_penalty_ref(grad, penalty_kind, weight, center)
    logit_stats = logit_stats_ref(real, fake)
    stats = torch.cat([logit_stats, penalty.detach().reshape(1).to(logit_stats.dtype)])
    return loss + penalty, CriticStats.of(stats)


def mlp_critic_ref(x: torch.Tensor, weights: list[torch.Tensor], biases: list[torch.Tensor], slope: float) -> torch.Tensor:
    """An MLP critic as ``mlp_critic_grads`` sees it: Linear + LeakyReLU(slope) layers, then the head -> (B,) logits."""
    h = x.flatten(1)
    for w, b in zip(weights[:-1], biases[:-1]):
        h = F.leaky_relu(F.linear(h, w, b), slope)
    return F.linear(h, weights[-1], biases[-1]).squeeze(1)


def mlp_critic_grads_ref(real: torch.Tensor, fake: torch.Tensor, point: torch.Tensor | None, weights: list[torch.Tensor],
                         biases: list[torch.Tensor], slope: float, loss_kind: str, label_smoothing: float,
                         penalty_kind: str, weight: float, center: float
                         ) -> tuple[torch.Tensor, CriticStats, list[torch.Tensor], list[torch.Tensor]]:
    """The critic loss of ``mlp_critic_ref`` on real and fake, plus the penalty on g = dD/dx at ``point`` (none when
    None), and its gradients in the weights and biases, by autograd's double backward (what every eager WGAN-GP loop
    computes) -> (loss, stats as ``critic_tail_ref``'s, weight gradients, bias gradients)."""
    params = [t.detach().requires_grad_(True) for t in (*weights, *biases)]
    ws, bs = params[:len(weights)], params[len(weights):]
    with torch.enable_grad():
        d_real, d_fake = mlp_critic_ref(real, ws, bs, slope), mlp_critic_ref(fake, ws, bs, slope)
        if point is None:
            loss = discriminator_loss_ref(loss_kind, d_real, d_fake, label_smoothing)
            stats = CriticStats.of(logit_stats_ref(d_real, d_fake))
        else:
            x = point.detach().requires_grad_(True)
            (g,) = torch.autograd.grad(mlp_critic_ref(x, ws, bs, slope).sum(), x, create_graph=True)
            loss, stats = critic_tail_ref(d_real, d_fake, g, loss_kind, label_smoothing, penalty_kind, weight, center)
        grads = torch.autograd.grad(loss, params)
    return loss.detach(), stats, list(grads[:len(weights)]), list(grads[len(weights):])


def leaky_pixel_norm_ref(x: torch.Tensor, slope: float = 0.2, eps: float = 1e-8) -> torch.Tensor:
    """LeakyReLU(slope), then each pixel's feature vector (dim 1) scaled to unit root-mean-square:
    ``a / sqrt(mean_c a^2 + eps)`` with ``a = leaky_relu(x, slope)``; slope 1 is the plain pixel norm (Karras et al.
    2018's generator after every conv). x: (N, C, ...)."""
    a = F.leaky_relu(x, slope) if slope != 1.0 else x
    return a * torch.rsqrt(a.square().mean(dim=1, keepdim=True) + eps)
