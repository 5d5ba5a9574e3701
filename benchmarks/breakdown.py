"""Where a wgan_gp critic step's time goes (torch.profiler): D forward, the first backward (autograd.grad with
create_graph), the tail (loss + penalty), the double backward (loss.backward through the gradient graph) and the
optimizer step. It tells us what to fuse next.

    python benchmarks/breakdown.py [--critic mlp conv32 conv64] [--variant best_eager|fused] [--steps N]
"""

from __future__ import annotations

import argparse

import torch
from torch.profiler import ProfilerActivity, profile, record_function

from benchmarks.workloads import LAMBDA, make_critic, tail_best_eager
from ganzoo.ops import critic_tail

PHASES = ["D forward", "first backward", "tail", "double backward", "optimizer"]


def step(D, real, fake, eps, opt, variant: str) -> None:
    with record_function("D forward"):
        x_hat = torch.lerp(fake, real, eps).requires_grad_(True)
        out_hat, out_real, out_fake = D(x_hat), D(real), D(fake)
    with record_function("first backward"):
        (g,) = torch.autograd.grad(out_hat.sum(), x_hat, create_graph=True)
    with record_function("tail"):
        if variant == "fused":
            loss, _ = critic_tail(out_real, out_fake, g, "wasserstein", "two_sided", LAMBDA, 1.0, impl="ext")
        else:
            loss = out_fake.mean() - out_real.mean() + tail_best_eager(g)
    with record_function("double backward"):
        opt.zero_grad(set_to_none=True)
        loss.backward()
    with record_function("optimizer"):
        opt.step()


def breakdown(critic: str, variant: str, steps: int) -> dict[str, float]:
    D, real, fake = make_critic(critic)
    eps = torch.rand(real.shape[0], *([1] * (real.ndim - 1)))
    opt = torch.optim.Adam(D.parameters(), lr=1e-4, betas=(0.0, 0.9))
    step(D, real, fake, eps, opt, variant)  # warm-up
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            step(D, real, fake, eps, opt, variant)
    totals = {e.key: e.cpu_time_total / steps / 1e3 for e in prof.key_averages() if e.key in PHASES}
    return {phase: totals.get(phase, 0.0) for phase in PHASES}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--critic", nargs="+", default=["mlp", "conv32"])
    parser.add_argument("--variant", default="best_eager", choices=["best_eager", "fused"])
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args()
    print(f"critic step breakdown ({args.variant}, batch 64, mean of {args.steps} steps, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads)")
    print("| critic | " + " | ".join(PHASES) + " | total (ms) |")
    print("|---" * (len(PHASES) + 2) + "|")
    for critic in args.critic:
        times = breakdown(critic, args.variant, args.steps)
        total = sum(times.values())
        cells = [f"{t:.2f} ms ({100 * t / total:.0f}%)" for t in times.values()]
        print(f"| {critic} | " + " | ".join(cells) + f" | {total:.2f} |")


if __name__ == "__main__":
    main()
