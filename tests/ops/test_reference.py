"""The pure-PyTorch references, checked against the formulas they implement (the fused kernels are held to these)."""

from __future__ import annotations

import math

import pytest
import torch

from ganzoo.ops import discriminator_loss_ref, generator_loss_ref, gradient_penalty_ref, interpolate_ref


def _sigmoid_bce(real: torch.Tensor, fake: torch.Tensor, target: float = 1.0) -> torch.Tensor:
    p_real, p_fake = torch.sigmoid(real.double()), torch.sigmoid(fake.double())
    return -(target * torch.log(p_real) + (1 - target) * torch.log1p(-p_real)).mean() - torch.log1p(-p_fake).mean()


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_bce_matches_the_cross_entropy_formula(smoothing: float) -> None:
    real, fake = torch.randn(37, dtype=torch.float64) * 3, torch.randn(29, dtype=torch.float64) * 3
    expected = _sigmoid_bce(real, fake, 1 - smoothing)
    assert torch.allclose(discriminator_loss_ref("bce", real, fake, smoothing), expected, rtol=1e-12)
    assert torch.allclose(generator_loss_ref("bce", fake), -torch.log(torch.sigmoid(fake)).mean(), rtol=1e-12)


def test_bce_is_finite_for_huge_logits() -> None:
    real = torch.tensor([-100.0, 100.0, -1e4], requires_grad=True)
    fake = torch.tensor([100.0, -100.0, 1e4], requires_grad=True)
    loss = discriminator_loss_ref("bce", real, fake)
    loss.backward()
    assert math.isfinite(loss.item()) and loss.item() == pytest.approx((100 + 1e4) * 2 / 3, rel=1e-6)
    assert torch.isfinite(real.grad).all() and torch.isfinite(fake.grad).all()


def test_hinge_and_wasserstein() -> None:
    real, fake = torch.tensor([2.0, 0.5, -1.0]), torch.tensor([-2.0, 0.0, 1.0])
    assert discriminator_loss_ref("hinge", real, fake).item() == pytest.approx((0 + 0.5 + 2) / 3 + (0 + 1 + 2) / 3)
    assert discriminator_loss_ref("wasserstein", real, fake).item() == pytest.approx(fake.mean() - real.mean())
    assert generator_loss_ref("hinge", fake).item() == pytest.approx(-fake.mean().item())
    with pytest.raises(ValueError, match="unknown loss kind"):
        discriminator_loss_ref("lsgan", real, fake)


@pytest.mark.parametrize("shape", [(5, 2), (3, 3, 4, 4), (1, 7)])
def test_penalties_use_per_sample_norms_over_all_dimensions(shape: tuple[int, ...]) -> None:
    g = torch.randn(shape, dtype=torch.float64)
    norms = torch.stack([row.flatten().norm() for row in g])
    assert gradient_penalty_ref(g, "two_sided", 10, 1).item() == pytest.approx(10 * ((norms - 1) ** 2).mean().item())
    assert gradient_penalty_ref(g, "one_sided", 3, 2).item() == pytest.approx(3 * ((norms - 2).clamp(min=0) ** 2).mean().item())
    assert gradient_penalty_ref(g, "r1", 4).item() == pytest.approx(2 * (norms ** 2).mean().item())


def test_zero_gradient_row_has_a_zero_gradient_not_nan() -> None:
    g = torch.zeros(3, 4, dtype=torch.float64)
    g[1] = 1.0
    g.requires_grad_(True)
    gradient_penalty_ref(g, "two_sided").backward()
    assert torch.isfinite(g.grad).all() and torch.equal(g.grad[0], torch.zeros(4, dtype=torch.float64))


def test_interpolate_is_per_sample_lerp() -> None:
    fake, real = torch.zeros(3, 2, 2), torch.ones(3, 2, 2)
    eps = torch.tensor([0.0, 0.25, 1.0])
    out = interpolate_ref(fake, real, eps)
    assert torch.allclose(out[:, 0, 0], eps) and out.shape == real.shape


def test_penalty_rejects_an_empty_batch() -> None:
    with pytest.raises(ValueError, match="non-empty batch"):
        gradient_penalty_ref(torch.zeros(0, 3))
