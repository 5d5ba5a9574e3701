"""The workloads the benchmark suite times, each in the variants it compares (same inputs, same process).

Variants: "official" (eager, written as the official WGAN-GP ports and StudioGAN write it), "best_eager" (what a careful
user writes: torch.lerp, one vector_norm), "compiled" (torch.compile where it can run), "fused" (ganzoo's kernels, with
real and fake through D in one pass), "by_hand" (MLP critics: ganzoo's mlp_critic_grads, the loss's gradients without a
double backward; what the trainer runs for its MLP critic), "batched" (one D pass over real and fake with the eager tail)
and "batched3" (one D pass over real, fake and interpolates). The two batched variants are recorded experiments (benchmarks/RESULTS.md): neither gained
reliably, and the trainer runs D on each batch separately.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from ganzoo.nets import ConvDiscriminator, MLPDiscriminator, MLPGenerator
from ganzoo.ops import critic_tail, discriminator_loss, discriminator_loss_ref, gradient_penalty, mlp_critic_grads

LAMBDA = 10.0


def tail_official(g: torch.Tensor) -> torch.Tensor:
    g = g.view(g.size(0), -1)
    return ((g.norm(2, dim=1) - 1) ** 2).mean() * LAMBDA


def tail_best_eager(g: torch.Tensor) -> torch.Tensor:
    return torch.linalg.vector_norm(g.flatten(1), dim=1).sub(1).square().mean().mul(LAMBDA)


def tail_fused(g: torch.Tensor) -> torch.Tensor:
    return gradient_penalty(g, "two_sided", LAMBDA, 1.0, impl="ext")


TAIL_VARIANTS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "official": tail_official, "best_eager": tail_best_eager, "fused": tail_fused,
}


def critic_loss_variant(variant: str, kind: str) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    if variant == "fused":
        return lambda r, f: discriminator_loss(kind, r, f, impl="ext")
    if variant == "auto":  # what the trainer calls: the default implementation (the kernel where it is built)
        return lambda r, f: discriminator_loss(kind, r, f)
    return lambda r, f: discriminator_loss_ref(kind, r, f)


@dataclass
class CriticStep:
    """One WGAN-GP critic step: D on real and fake, interpolation, autograd.grad with create_graph, loss, backward, Adam."""

    D: nn.Module
    real: torch.Tensor
    fake: torch.Tensor
    variant: str

    penalty_every: int = 1  # lazy regularisation: the penalty on every k-th step only, weighted by k

    def __post_init__(self) -> None:
        self.opt = torch.optim.Adam(self.D.parameters(), lr=1e-4, betas=(0.0, 0.9))
        self.eps = torch.rand(self.real.shape[0], generator=torch.Generator().manual_seed(0)).to(self.real.device)
        self.calls = 0

    def __call__(self) -> None:
        D, real, fake = self.D, self.real, self.fake
        self.calls += 1
        if self.penalty_every > 1 and (self.calls - 1) % self.penalty_every:
            loss = D(fake).mean() - D(real).mean()  # a step without the penalty: no double backward
        elif self.penalty_every > 1:
            x_hat = torch.lerp(fake, real, self.eps.view(-1, *([1] * (real.ndim - 1)))).requires_grad_(True)
            (g,) = torch.autograd.grad(D(x_hat).sum(), x_hat, create_graph=True)
            loss, _ = critic_tail(D(real), D(fake), g, "wasserstein", "two_sided", LAMBDA * self.penalty_every, 1.0,
                                  impl="ext")
        elif self.variant == "official":
            alpha = self.eps.view(-1, *([1] * (real.ndim - 1))).expand_as(real)
            x_hat = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
            out = D(x_hat)
            (g,) = torch.autograd.grad(out, x_hat, grad_outputs=torch.ones_like(out), create_graph=True, retain_graph=True)
            loss = D(fake).mean() - D(real).mean() + tail_official(g)
        elif self.variant == "best_eager":
            x_hat = torch.lerp(fake, real, self.eps.view(-1, *([1] * (real.ndim - 1)))).requires_grad_(True)
            (g,) = torch.autograd.grad(D(x_hat).sum(), x_hat, create_graph=True)
            loss = D(fake).mean() - D(real).mean() + tail_best_eager(g)
        elif self.variant == "by_hand":
            layers, slope = D.linear_chain()
            x_hat = torch.lerp(fake, real, self.eps.view(-1, *([1] * (real.ndim - 1))))
            _, _, weight_grads, bias_grads = mlp_critic_grads(
                real, fake, x_hat, [m.weight for m in layers], [m.bias for m in layers], slope, "wasserstein",
                "two_sided", LAMBDA, 1.0, impl="ext")
            for parameter, grad in zip([m.weight for m in layers] + [m.bias for m in layers], weight_grads + bias_grads):
                parameter.grad = grad
            self.opt.step()
            return
        elif self.variant == "batched3":  # one D pass over real, fake and x_hat
            batch = real.shape[0]
            x_hat = torch.lerp(fake, real, self.eps.view(-1, *([1] * (real.ndim - 1)))).requires_grad_(True)
            d_real, d_fake, d_hat = D(torch.cat([real, fake, x_hat])).split(batch)
            (g,) = torch.autograd.grad(d_hat.sum(), x_hat, create_graph=True)
            loss = d_fake.mean() - d_real.mean() + tail_best_eager(g)
        else:  # "batched" and "fused": one D pass over real and fake, x_hat's own pass for the double backward
            batch = real.shape[0]
            x_hat = torch.lerp(fake, real, self.eps.view(-1, *([1] * (real.ndim - 1)))).requires_grad_(True)
            (g,) = torch.autograd.grad(D(x_hat).sum(), x_hat, create_graph=True)
            d_real, d_fake = D(torch.cat([real, fake])).split(batch)
            if self.variant == "fused":
                loss, _ = critic_tail(d_real, d_fake, g, "wasserstein", "two_sided", LAMBDA, 1.0, impl="ext")
            else:
                loss = d_fake.mean() - d_real.mean() + tail_best_eager(g)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()


def make_critic(kind: str, device: str = "cpu") -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """(critic, real batch, fake batch) for ``mlp`` (3x512 on 2-D points) or ``conv32`` / ``conv64`` (DCGAN-like, LayerNorm)."""
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1)
    if kind == "mlp":
        D = MLPDiscriminator((2,), 512, 3)
        shape = (64, 2)
    else:
        size = int(kind[4:])
        D = ConvDiscriminator(3, size, 64, norm="layer")
        shape = (64, 3, size, size)
    return D.to(device), torch.randn(shape, generator=gen).to(device), torch.randn(shape, generator=gen).to(device)


@dataclass
class TrainingIteration:
    """n_critic critic steps and one generator step on 2-D points (the wgan_gp toy set-up, MLPs 3x128, batch 256)."""

    variant: str
    n_critic: int = 5
    batch: int = 256
    device: str = "cpu"

    def __post_init__(self) -> None:
        torch.manual_seed(0)
        self.G = MLPGenerator(2, (2,), 128, 3).to(self.device)
        self.D = MLPDiscriminator((2,), 128, 3).to(self.device)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=1e-4, betas=(0.5, 0.9))
        self.real = torch.randn(self.batch, 2, device=self.device)
        lazy = self.variant == "lazy4"
        self.step = CriticStep(self.D, self.real, self.real, "fused" if lazy else self.variant, penalty_every=4 if lazy else 1)

    def __call__(self) -> None:
        for _ in range(self.n_critic):
            with torch.no_grad():
                self.step.fake = self.G(torch.randn(self.batch, 2, device=self.device))
            self.step()
        self.D.requires_grad_(False)
        loss = -self.D(self.G(torch.randn(self.batch, 2, device=self.device))).mean()
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_g.step()
        self.D.requires_grad_(True)
