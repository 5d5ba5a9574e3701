"""Forward + backward of each fused op against its best eager formulation, in one process, and the critic loss over a
sweep of batch sizes (whether the kernel wins at every size, or where it stops).

    python -m benchmarks.ops_sweep                 # the ops at small and large sizes
    python -m benchmarks.ops_sweep --sweep bce     # bce, 64 to 4096 logits a side

Two builds compared (e.g. before and after a change): run this alternately with ``PYTHONPATH`` pointing at each
checkout, whole processes, several pairs (benchmarks/RESULTS.md). Median microseconds of 7 blocks after warm-up.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import warnings
from typing import Callable

import torch


def timed(fn: Callable[[], None], calls: int) -> float:
    for _ in range(20):
        fn()
    blocks = []
    for _ in range(7):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        blocks.append((time.perf_counter() - start) / calls * 1e6)
    return statistics.median(blocks)


def ops() -> dict[str, tuple[float, float]]:
    """case -> (fused us, eager us)."""
    from ganzoo.ops import critic_tail, discriminator_loss, discriminator_loss_ref, gradient_penalty

    torch.manual_seed(0)
    out: dict[str, tuple[float, float]] = {}
    for kind in ("bce", "hinge", "wasserstein"):
        for batch in (64, 4096):
            r, f = torch.randn(batch, requires_grad=True), torch.randn(batch, requires_grad=True)
            out[f"loss {kind} B={batch}"] = (timed(lambda: discriminator_loss(kind, r, f, impl="ext").backward(), 200),
                                              timed(lambda: discriminator_loss_ref(kind, r, f).backward(), 200))
    for shape in ((256, 2), (64, 3, 64, 64)):
        g = torch.randn(shape, requires_grad=True)
        real, fake = torch.randn(shape[0], requires_grad=True), torch.randn(shape[0], requires_grad=True)

        def eager_penalty() -> torch.Tensor:
            return torch.linalg.vector_norm(g.flatten(1), dim=1).sub(1).square().mean().mul(10)

        out[f"penalty {shape}"] = (timed(lambda: gradient_penalty(g, "two_sided", 10.0, 1.0, impl="ext").backward(), 100),
                                   timed(lambda: eager_penalty().backward(), 100))
        out[f"tail {shape}"] = (
            timed(lambda: critic_tail(real, fake, g, "wasserstein", "two_sided", 10.0, 1.0, impl="ext")[0].backward(),
                  100),
            timed(lambda: (fake.mean() - real.mean() + eager_penalty()).backward(), 100))
    return out


def sweep(kind: str) -> dict[str, tuple[float, float]]:
    from ganzoo.ops import discriminator_loss, discriminator_loss_ref

    out: dict[str, tuple[float, float]] = {}
    for batch in (64, 128, 256, 384, 512, 768, 1024, 2048, 4096):
        r, f = torch.randn(batch, requires_grad=True), torch.randn(batch, requires_grad=True)
        out[f"loss {kind} B={batch}"] = (timed(lambda: discriminator_loss(kind, r, f, impl="ext").backward(), 200),
                                         timed(lambda: discriminator_loss_ref(kind, r, f).backward(), 200))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sweep", choices=["bce", "hinge", "wasserstein"], help="the critic loss over batch sizes")
    parser.add_argument("--json", action="store_true", help="one JSON object instead of the table")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    rows = sweep(args.sweep) if args.sweep else ops()
    if args.json:
        print(json.dumps(rows))
        return
    print(f"{'case':28} {'fused us':>9} {'eager us':>9} {'eager / fused':>14}")
    for case, (fused, eager) in rows.items():
        print(f"{case:28} {fused:9.1f} {eager:9.1f} {eager / fused:13.2f}x")


if __name__ == "__main__":
    main()
