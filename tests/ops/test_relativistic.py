"""The relativistic average losses (Jolicoeur-Martineau 2019) against their formulas on known logits: RaGAN (bce form)
and the relativistic hinge, for the critic and the generator, values and gradients."""

from __future__ import annotations

import math

import pytest
import torch

from ganzoo.ops import relativistic_discriminator_loss, relativistic_generator_loss


def _softplus(x: float) -> float:
    return math.log1p(math.exp(x))


REAL, FAKE = [1.5, -0.5, 0.25], [-1.0, 0.75]  # mean(real) = 5/12, mean(fake) = -1/8


def _ragan_d() -> float:  # -E log sigmoid(r - mean f) - E log(1 - sigmoid(f - mean r))
    mf, mr = sum(FAKE) / len(FAKE), sum(REAL) / len(REAL)
    return (sum(_softplus(-(r - mf)) for r in REAL) / len(REAL) + sum(_softplus(f - mr) for f in FAKE) / len(FAKE))


def _ragan_g() -> float:  # -E log sigmoid(f - mean r) - E log(1 - sigmoid(r - mean f))
    mf, mr = sum(FAKE) / len(FAKE), sum(REAL) / len(REAL)
    return (sum(_softplus(-(f - mr)) for f in FAKE) / len(FAKE) + sum(_softplus(r - mf) for r in REAL) / len(REAL))


def _rahinge_d() -> float:
    mf, mr = sum(FAKE) / len(FAKE), sum(REAL) / len(REAL)
    return (sum(max(0.0, 1 - (r - mf)) for r in REAL) / len(REAL) + sum(max(0.0, 1 + (f - mr)) for f in FAKE) / len(FAKE))


def _rahinge_g() -> float:
    mf, mr = sum(FAKE) / len(FAKE), sum(REAL) / len(REAL)
    return (sum(max(0.0, 1 - (f - mr)) for f in FAKE) / len(FAKE) + sum(max(0.0, 1 + (r - mf)) for r in REAL) / len(REAL))


@pytest.mark.parametrize("impl", ["ext", "ref"])
@pytest.mark.parametrize("kind, d_formula, g_formula", [("bce", _ragan_d, _ragan_g), ("hinge", _rahinge_d, _rahinge_g)])
def test_values_on_known_logits(impl: str, kind: str, d_formula, g_formula) -> None:
    from ganzoo.ops import default_impl

    real, fake = torch.tensor(REAL, dtype=torch.float64), torch.tensor(FAKE, dtype=torch.float64)
    with default_impl(impl):
        assert float(relativistic_discriminator_loss(kind, real, fake)) == pytest.approx(d_formula(), rel=1e-6)
        assert float(relativistic_generator_loss(kind, fake, real)) == pytest.approx(g_formula(), rel=1e-6)


@pytest.mark.parametrize("kind", ["bce", "hinge"])
def test_gradients_match_the_formula_written_out(kind: str) -> None:
    gen = torch.Generator().manual_seed(0)
    real = torch.randn(9, generator=gen, dtype=torch.float64, requires_grad=True)
    fake = torch.randn(7, generator=gen, dtype=torch.float64, requires_grad=True)

    def side(x: torch.Tensor, positive: bool) -> torch.Tensor:  # the loss of a "real" (positive) or "fake" side
        if kind == "bce":
            return torch.nn.functional.softplus(-x if positive else x).mean()
        return torch.relu(1 - x if positive else 1 + x).mean()

    d = relativistic_discriminator_loss(kind, real, fake)
    d_written = side(real - fake.mean(), True) + side(fake - real.mean(), False)
    grads = torch.autograd.grad(d, [real, fake])
    grads_written = torch.autograd.grad(d_written, [real, fake])
    for a, b in zip(grads, grads_written):
        torch.testing.assert_close(a, b)
    g = relativistic_generator_loss(kind, fake, real)
    g_written = side(fake - real.detach().mean(), True) + side(real.detach() - fake.mean(), False)
    torch.testing.assert_close(torch.autograd.grad(g, fake)[0], torch.autograd.grad(g_written, fake)[0])
    # the generator's loss treats the real scores as constants
    assert torch.autograd.grad(relativistic_generator_loss(kind, fake, real), real, allow_unused=True)[0] is None
