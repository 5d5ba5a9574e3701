"""The gradient-penalty tail, forward + backward, three ways on the same inputs in one process: eager PyTorch as the
official WGAN-GP ports and StudioGAN write it, the best eager formulation, and ganzoo's fused op. Also the machine's
copy bandwidth, measured in the same run, and the fused op's time as a multiple of the memory floor (read g twice,
write dL/dg once).

    python benchmarks/bench_tail.py [--device cpu|cuda] [--repeats N] [--json OUT]

CPU times come from perf_counter around whole iterations; CUDA times from CUDA events (no host clocks around async work).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from typing import Callable

import torch

from ganzoo.ops import gradient_penalty

SHAPES = [(256, 2), (64, 3, 64, 64), (16, 3, 256, 256)]


def official(g: torch.Tensor) -> torch.Tensor:
    g = g.view(g.size(0), -1)
    return ((g.norm(2, dim=1) - 1) ** 2).mean() * 10


def best_eager(g: torch.Tensor) -> torch.Tensor:
    return torch.linalg.vector_norm(g.flatten(1), dim=1).sub(1).square().mean().mul(10)


def fused(g: torch.Tensor) -> torch.Tensor:
    return gradient_penalty(g, "two_sided", 10.0, 1.0, impl="ext")


def time_it(fn: Callable[[], None], device: str, repeats: int, inner: int) -> float:
    """Median seconds per call over ``repeats`` timings of ``inner`` calls each, after warm-up."""
    for _ in range(3):
        fn()
    samples = []
    for _ in range(repeats):
        if device == "cuda":
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            for _ in range(inner):
                fn()
            end.record()
            torch.cuda.synchronize()
            samples.append(start.elapsed_time(end) / 1e3 / inner)
        else:
            t0 = time.perf_counter()
            for _ in range(inner):
                fn()
            samples.append((time.perf_counter() - t0) / inner)
    return statistics.median(samples)


def run(device: str, repeats: int) -> list[dict]:
    rows = []
    for shape in SHAPES:
        g = torch.randn(shape, device=device, requires_grad=True)
        inner = max(1, int(2e6 // g.numel())) if device == "cpu" else 20

        def step(loss_fn: Callable[[torch.Tensor], torch.Tensor]) -> Callable[[], None]:
            def call() -> None:
                g.grad = None
                loss_fn(g).backward()
            return call

        out = torch.empty_like(g)
        copy_s = time_it(lambda: out.copy_(g.detach()), device, repeats, inner)
        bandwidth = 2 * g.numel() * g.element_size() / copy_s  # bytes read + written per second
        floor_s = 3 * g.numel() * g.element_size() / bandwidth
        times = {name: time_it(step(fn), device, repeats, inner) for name, fn in
                 (("official", official), ("best_eager", best_eager), ("fused", fused))}
        rows.append({
            "shape": list(shape), "device": device,
            **{f"{k}_us": round(v * 1e6, 1) for k, v in times.items()},
            "fused_vs_official": round(times["official"] / times["fused"], 2),
            "fused_vs_best_eager": round(times["best_eager"] / times["fused"], 2),
            "copy_GBps": round(bandwidth / 1e9, 1), "floor_us": round(floor_s * 1e6, 1),
            "fused_over_floor": round(times["fused"] / floor_s, 2),
        })
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--json", help="also write the rows here")
    args = parser.parse_args()
    rows = run(args.device, args.repeats)
    machine = torch.cuda.get_device_name() if args.device == "cuda" else f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"
    print(f"penalty tail fwd+bwd, float32, {args.device} ({machine}), torch {torch.__version__}, median of {args.repeats}")
    header = ["shape", "official_us", "best_eager_us", "fused_us", "fused_vs_official", "fused_vs_best_eager", "floor_us",
              "fused_over_floor"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for r in rows:
        print("| " + " | ".join(str(tuple(r[h])) if h == "shape" else str(r[h]) for h in header) + " |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": machine, "torch": torch.__version__, "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
