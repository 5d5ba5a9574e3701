"""The FLOP floor of the image workloads: how much arithmetic one training iteration is, and how fast this CPU does it.

    python -m benchmarks.flops [--workload dcgan32 wgan_gp32]

For each workload of ``benchmarks.iteration``: the forward FLOPs of G and D at its batch (2 per multiply-add of every
convolution, transposed convolution and linear layer, counted with forward hooks), one iteration's total by the usual
rule that a backward costs twice its forward (see ``iteration_gflop``), and the rate this CPU reaches on a large
matrix product and on a 3x3 convolution of 192 channels at 35x35 (fp32, and bf16 where it is native). Dividing the
iteration's GFLOP by the attainable rate gives the floor an iteration cannot go below at that rate; the measured
ms/step of ``benchmarks.iteration`` over it is how far from the hardware a loop is.
"""

from __future__ import annotations

import argparse
import time

import torch
from torch import nn


def forward_gflop(net: nn.Module, x: torch.Tensor) -> tuple[float, torch.Tensor]:
    """GFLOP of one forward pass of ``net`` on ``x`` (convolutions, transposed convolutions, linear layers), and its
    output."""
    total = [0]

    def count(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        if isinstance(module, nn.Conv2d):
            c_out, c_in, kh, kw = module.weight.shape
            total[0] += 2 * c_out * c_in * kh * kw * output.shape[0] * output.shape[-2] * output.shape[-1]
        elif isinstance(module, nn.ConvTranspose2d):
            c_in, c_out, kh, kw = module.weight.shape
            source = inputs[0]
            total[0] += 2 * c_out * c_in * kh * kw * source.shape[0] * source.shape[-2] * source.shape[-1]
        elif isinstance(module, nn.Linear):
            total[0] += 2 * module.in_features * module.out_features * inputs[0].shape[0]

    hooks = [m.register_forward_hook(count) for m in net.modules()]
    with torch.no_grad():
        out = net(x)
    for hook in hooks:
        hook.remove()
    return total[0] / 1e9, out


def iteration_gflop(g: float, d: float, n_critic: int, penalty: bool) -> float:
    """One iteration (``n_critic`` critic updates, one generator update) from G's and D's forward GFLOP. A critic
    update: G forward (no grad), D forward on real and fake (2 d), their backward (4 d); with a gradient penalty also D
    on the interpolates, its input gradient with create_graph and the double backward through it (about 1 + 2 + 4 d
    more, a rough rule: double backwards vary). The generator update: G and D forward, D's and G's backward (2 d, 2 g)."""
    critic = g + 6 * d + (7 * d if penalty else 0)
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


def main() -> None:
    from benchmarks.iteration import WORKLOADS, Workload
    from ganzoo.data import load_dataset
    from ganzoo.train.config import data_request

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", nargs="*", default=["dcgan32", "wgan_gp32"], choices=sorted(WORKLOADS))
    args = parser.parse_args()
    fp32 = attainable_gflops(torch.float32)
    bf16 = attainable_gflops(torch.bfloat16)
    print(f"attainable here (torch {torch.__version__}, {torch.get_num_threads()} threads): fp32 matmul {fp32[0]:.0f}, "
          f"conv {fp32[1]:.0f} GFLOP/s; bf16 matmul {bf16[0]:.0f}, conv {bf16[1]:.0f} GFLOP/s")
    for name in args.workload:
        resolved = Workload(name, WORKLOADS[name]["options"], 1).resolved()
        cfg = resolved.config
        data = load_dataset(resolved.dataset, data_request(cfg))
        torch.manual_seed(0)
        models = resolved.arch.build(data.info, dict(cfg.hparams), 0)
        g, fake = forward_gflop(models.generator.eval(), torch.randn(cfg.batch_size, models.latent_dim))
        d, _ = forward_gflop(models.discriminator.eval(), fake)
        total = iteration_gflop(g, d, cfg.n_critic, resolved.penalty is not None)
        rate = max(fp32)
        print(f"{name}: batch {cfg.batch_size}, G forward {g:.2f} GFLOP, D forward {d:.2f} GFLOP, n_critic {cfg.n_critic}: "
              f"about {total:.1f} GFLOP an iteration; floor at {rate:.0f} GFLOP/s: {1e3 * total / rate:.0f} ms/step")


if __name__ == "__main__":
    main()
