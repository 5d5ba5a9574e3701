"""Experiment (the hot-loop issue, item 4): the WGAN-GP critic's parameter gradient as a function, torch.func's
``grad`` of a loss that itself takes ``grad`` of D at the interpolates, compiled with torch.compile, against eager
autograd with ``create_graph=True``. Same parameters, same batch; gradients compared; timed in alternation.

    python -m benchmarks.func_compile --critic mlp --rounds 7

Not used by the trainer: this measures whether the lever is worth building.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch.func import functional_call, grad

from ganzoo.nets import ConvDiscriminator, MLPDiscriminator


def _critic(kind: str) -> tuple[torch.nn.Module, tuple[int, ...], int, float]:
    if kind == "mlp":  # the ring's critic under ganzoo train --arch wgan_gp: 3x128, batch 256, lambda 0.1
        return MLPDiscriminator((2,), 128, 3), (2,), 256, 0.1
    return ConvDiscriminator(1, 16, 64, "layer"), (1, 16, 16), 64, 10.0  # digits 16x16, batch 64, lambda 10


def eager_grads(D: torch.nn.Module, real, fake, eps, lam) -> list[torch.Tensor]:
    x_hat = torch.lerp(fake, real, eps.view(-1, *([1] * (real.ndim - 1)))).requires_grad_(True)
    (g,) = torch.autograd.grad(D(x_hat).sum(), x_hat, create_graph=True)
    loss = D(fake).mean() - D(real).mean() + lam * (torch.linalg.vector_norm(g.flatten(1), dim=1) - 1).square().mean()
    return list(torch.autograd.grad(loss, list(D.parameters())))


def func_loss(D: torch.nn.Module, lam: float):  # noqa: ANN201
    def loss(params, real, fake, eps):  # noqa: ANN001, ANN202
        def score(x):  # noqa: ANN001, ANN202
            return functional_call(D, params, (x,))

        x_hat = torch.lerp(fake, real, eps.view(-1, *([1] * (real.ndim - 1))))
        g = grad(lambda x: score(x).sum())(x_hat)
        penalty = (torch.linalg.vector_norm(g.flatten(1), dim=1) - 1).square().mean()
        return score(fake).mean() - score(real).mean() + lam * penalty

    return grad(loss)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--critic", choices=["mlp", "conv"], default="mlp")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=50)
    args = parser.parse_args()
    torch.manual_seed(0)
    D, shape, batch, lam = _critic(args.critic)
    real, fake, eps = torch.randn(batch, *shape), torch.randn(batch, *shape), torch.rand(batch)
    params = {k: v.detach() for k, v in D.named_parameters()}
    compiled = torch.compile(func_loss(D, lam))
    began = time.perf_counter()
    got = compiled(params, real, fake, eps)
    compile_s = time.perf_counter() - began
    want = eager_grads(D, real, fake, eps, lam)
    worst = max(float((got[k] - w).abs().max()) for k, w in zip(params, want))
    largest = max(float(w.abs().max()) for w in want)
    times: dict[str, list[float]] = {"eager": [], "compiled": []}
    for _ in range(args.rounds):
        for name in times:
            began = time.perf_counter()
            for _ in range(args.calls):
                if name == "eager":
                    eager_grads(D, real, fake, eps, lam)
                else:
                    compiled(params, real, fake, eps)
            times[name].append((time.perf_counter() - began) / args.calls * 1e6)
    ratios = [e / c for e, c in zip(times["eager"], times["compiled"])]
    print(f"critic {args.critic}, batch {batch}: first compiled call {compile_s:.1f} s; largest gradient difference "
          f"{worst:.2e} (largest gradient entry {largest:.2e})")
    for name, values in times.items():
        print(f"  {name:<9} {statistics.median(values):9.1f} us per gradient  {[round(v) for v in values]}")
    print(f"  eager / compiled: median {statistics.median(ratios):.2f}x ({min(ratios):.2f}-{max(ratios):.2f})")


if __name__ == "__main__":
    main()
