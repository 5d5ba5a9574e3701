"""Peers for ``ganzoo train``: the plain eager loops a competent PyTorch user writes, on the same networks, data and
settings, timed against ganzoo's own training loop. ``train_peer`` is WGAN-GP (the shape of the WGAN-GP toy code and its
PyTorch ports); ``train_dcgan_peer`` is the loop of pytorch/examples' dcgan/main.py (BCE, one critic update a step).

The timed code of the peer imports nothing from ganzoo: it gets plain tensors and ``nn.Module``s. Its networks are
ganzoo's built-in ones rebuilt as ``nn.Sequential``s with the same layers and initial weights (``peer_networks``).

Whole iterations vary 2-3x between runs on the shared 2-core machines, so variants are timed in alternation
(A B A B ...) and compared by the median of the per-round ratios, with the min-max spread::

    python -m benchmarks.iteration --workload ring --rounds 5
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class PeerSettings:
    steps: int
    batch_size: int
    n_critic: int
    penalty_weight: float
    lr: float
    betas: tuple[float, float]
    latent_dim: int
    seed: int = 0
    device: str = "cpu"  # where the networks and data are: noise is drawn on the CPU (as ganzoo draws it) and moved


def train_peer(G: nn.Module, D: nn.Module, data: torch.Tensor, s: PeerSettings) -> tuple[float, float]:
    """``s.steps`` generator steps of WGAN-GP, each after ``s.n_critic`` critic steps; returns the last (d_loss, g_loss)."""
    opt_g = torch.optim.Adam(G.parameters(), lr=s.lr, betas=s.betas)
    opt_d = torch.optim.Adam(D.parameters(), lr=s.lr, betas=s.betas)
    gen = torch.Generator().manual_seed(s.seed)
    dev = torch.device(s.device)
    n = data.shape[0]
    shape = (-1,) + (1,) * (data.ndim - 1)
    d_loss = g_loss = torch.zeros(())
    for _ in range(s.steps):
        for p in D.parameters():
            p.requires_grad_(True)
        for _ in range(s.n_critic):
            real = data[torch.randint(n, (s.batch_size,), generator=gen).to(dev)]
            with torch.no_grad():
                fake = G(torch.randn(s.batch_size, s.latent_dim, generator=gen).to(dev))
            eps = torch.rand(s.batch_size, generator=gen).view(shape).to(dev)
            x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
            (grad,) = torch.autograd.grad(D(x_hat).sum(), x_hat, create_graph=True)
            penalty = ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()
            d_loss = D(fake).mean() - D(real).mean() + s.penalty_weight * penalty
            opt_d.zero_grad()
            d_loss.backward()
            opt_d.step()
        for p in D.parameters():
            p.requires_grad_(False)
        g_loss = -D(G(torch.randn(s.batch_size, s.latent_dim, generator=gen).to(dev))).mean()
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
    return float(d_loss), float(g_loss)


def train_dcgan_peer(G: nn.Module, D: nn.Module, data: torch.Tensor, s: PeerSettings) -> tuple[float, float]:
    """``s.steps`` steps of the pytorch/examples DCGAN loop: the critic's loss on a real batch and on one generated
    batch, each backward on its own, then the generator's non-saturating loss on that same generated batch (so its
    backward also fills the critic's gradients, which the next step zeroes). The example's ``Sigmoid`` + ``BCELoss`` is
    ``BCEWithLogitsLoss`` on ganzoo's logits, the same maths. Returns the last (d_loss, g_loss)."""
    criterion = nn.BCEWithLogitsLoss()
    opt_g = torch.optim.Adam(G.parameters(), lr=s.lr, betas=s.betas)
    opt_d = torch.optim.Adam(D.parameters(), lr=s.lr, betas=s.betas)
    gen = torch.Generator().manual_seed(s.seed)
    dev = torch.device(s.device)
    n = data.shape[0]
    real_label, fake_label = torch.ones(s.batch_size, device=dev), torch.zeros(s.batch_size, device=dev)
    err_d = err_g = torch.zeros(())
    for _ in range(s.steps):
        D.zero_grad()
        real = data[torch.randint(n, (s.batch_size,), generator=gen).to(dev)]
        err_real = criterion(D(real), real_label)
        err_real.backward()
        fake = G(torch.randn(s.batch_size, s.latent_dim, generator=gen).to(dev))
        err_fake = criterion(D(fake.detach()), fake_label)
        err_fake.backward()
        err_d = err_real + err_fake
        opt_d.step()
        G.zero_grad()
        err_g = criterion(D(fake), real_label)
        err_g.backward()
        opt_g.step()
    return float(err_d), float(err_g)


def peer_networks(G: nn.Module, D: nn.Module) -> tuple[nn.Module, nn.Module]:
    """ganzoo's networks as plain modules a user would write: the same layers in an ``nn.Sequential``, with the same
    initial weights, and no label input (the runs are unconditional)."""
    from ganzoo.nets import ConvDiscriminator, ConvGenerator, MLPDiscriminator, MLPGenerator

    if isinstance(G, MLPGenerator) and isinstance(D, MLPDiscriminator):
        peer_g = nn.Sequential(*copy.deepcopy(list(G.net)), nn.Unflatten(1, G.shape))
        peer_d = nn.Sequential(nn.Flatten(), *copy.deepcopy([*D.features, D.head]), nn.Flatten(0))
        return peer_g, peer_d
    if isinstance(G, ConvGenerator) and isinstance(D, ConvDiscriminator):
        # DCGAN's generator as users write it: the transposed convs in a Sequential (ganzoo computes its first layer,
        # and a one-channel last layer, as matrix products; the same maths)
        peer_g = nn.Sequential(nn.Unflatten(1, (G.net[0].in_channels, 1, 1)), *copy.deepcopy(list(G.net)))
        return peer_g, _Unconditional(D)
    raise TypeError(f"no peer for {type(G).__name__} / {type(D).__name__}")


class _Unconditional(nn.Module):
    """A conv critic called as a user calls theirs, with one argument (its forward is the DCGAN layers in order)."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = copy.deepcopy(net)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
