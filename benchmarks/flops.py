"""The FLOP floor of the image workloads: how much arithmetic one training iteration is, and how fast this CPU does it.

    python -m benchmarks.flops [--workload dcgan32 wgan_gp32 progan32]

For each workload of ``benchmarks.iteration`` and for progan's 32x32 recipe: the forward FLOPs of G and D at its batch
(2 per multiply-add of every convolution, transposed convolution and matrix product, counted by torch's operator-level
FLOP counter), one iteration's total by the usual
rule that a backward costs twice its forward (see ``iteration_gflop``), and the rate this CPU reaches on a large
matrix product and on a 3x3 convolution of 192 channels at 35x35 (fp32, and bf16 where it is native). Dividing the
iteration's GFLOP by the attainable rate gives the floor an iteration cannot go below at that rate; the measured
ms/step of ``benchmarks.iteration`` over it is how far from the hardware a loop is.
"""

from __future__ import annotations

import argparse
import time
from typing import Callable

import torch
from torch.utils.flop_counter import FlopCounterMode

from benchmarks.iteration import WORKLOADS, Workload


def forward_gflop(net: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> tuple[float, torch.Tensor]:
    """GFLOP of one forward pass of ``net`` on ``x`` (convolutions, transposed convolutions, matrix products: 2 per
    multiply-add), and its output. Counted at the operator level (``torch.utils.flop_counter``), so layers that call
    ``F.conv2d`` themselves (progan's equalised-lr convolutions, a plugin's) count like ``nn.Conv2d``."""
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        out = net(x)
    return counter.get_total_flops() / 1e9, out


def iteration_gflop(g: float, d: float, n_critic: int, penalty: bool, penalty_every: int = 1) -> float:
    """One iteration (``n_critic`` critic updates, one generator update) from G's and D's forward GFLOP. A critic
    update: G forward (no grad), D forward on real and fake (2 d), their backward (4 d); with a gradient penalty also D
    on the interpolates, its input gradient with create_graph and the double backward through it (about 1 + 2 + 4 d
    more, a rough rule: double backwards vary), on one update in ``penalty_every``. The generator update: G and D
    forward, D's and G's backward (2 d, 2 g)."""
    critic = g + 6 * d + (7 * d / penalty_every if penalty else 0)
    generator = 3 * g + 3 * d
    return n_critic * critic + generator


def attainable_gflops(dtype: torch.dtype, repeats: int = 5) -> tuple[float, float]:
    """(matrix product 2048^3, 3x3 convolution 192->192 at 35x35 batch 32, channels_last), GFLOP/s, best of
    ``repeats``."""
    a, b = torch.randn(2048, 2048, dtype=dtype), torch.randn(2048, 2048, dtype=dtype)
    x = torch.randn(32, 192, 35, 35, dtype=dtype).contiguous(memory_format=torch.channels_last)
    w = torch.randn(192, 192, 3, 3, dtype=dtype).contiguous(memory_format=torch.channels_last)

    def best(run, flop: float) -> float:
        run()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)
        return flop / min(times) / 1e9

    with torch.inference_mode():
        matmul = best(lambda: a @ b, 2 * 2048 ** 3)
        conv = best(lambda: torch.nn.functional.conv2d(x, w, padding=1), 2 * 32 * 192 * 192 * 9 * 35 * 35)
    return matmul, conv


# progan has no peer loop, so it is counted here and not timed by benchmarks.iteration: the 32x32 recipe measured at the
# published protocol (channels 64/64/64/32 at 4/8/16/32, the penalty on every 4th step), its networks at full size
PROGAN32 = Workload("progan32", {"arch": "progan", "dataset": "digits", "image_size": 32, "batch_size": 64,
                                  "penalty_every": 4}, steps=1, sets=("fmap_base=1024", "fmap_max=64"))


def main() -> None:
    from ganzoo.data import load_dataset
    from ganzoo.train.config import data_request

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    workloads = {**{name: Workload(name, spec["options"], 1) for name, spec in WORKLOADS.items()}, "progan32": PROGAN32}
    parser.add_argument("--workload", nargs="*", default=["dcgan32", "wgan_gp32", "progan32"], choices=sorted(workloads))
    args = parser.parse_args()
    fp32 = attainable_gflops(torch.float32)
    bf16 = attainable_gflops(torch.bfloat16)
    print(f"attainable here (torch {torch.__version__}, {torch.get_num_threads()} threads): fp32 matmul {fp32[0]:.0f}, "
          f"conv {fp32[1]:.0f} GFLOP/s; bf16 matmul {bf16[0]:.0f}, conv {bf16[1]:.0f} GFLOP/s")
    for name in args.workload:
        resolved = workloads[name].resolved()
        cfg = resolved.config
        data = load_dataset(resolved.dataset, data_request(cfg))
        torch.manual_seed(0)
        models = resolved.arch.build(data.info, dict(cfg.hparams), 0)
        g, fake = forward_gflop(models.generator.eval(), torch.randn(cfg.batch_size, models.latent_dim))
        d, _ = forward_gflop(models.discriminator.eval(), fake)
        total = iteration_gflop(g, d, cfg.n_critic, resolved.penalty is not None, cfg.penalty_every)
        print(f"{name}: batch {cfg.batch_size}, G forward {g:.2f} GFLOP, D forward {d:.2f} GFLOP, n_critic {cfg.n_critic}"
              f"{f', penalty every {cfg.penalty_every}' if resolved.penalty is not None else ''}: about {total:.1f} GFLOP "
              f"an iteration; floor {1e3 * total / max(fp32):.0f} ms/step in fp32, {1e3 * total / max(bf16):.0f} in bf16")


if __name__ == "__main__":
    main()
