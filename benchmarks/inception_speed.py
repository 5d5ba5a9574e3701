"""Seconds an image of Inception features for FID, the TorchScript file against ganzoo's rebuilt network.

    python -m benchmarks.inception_speed [--images 128] [--rounds 3]

Both compute ``ganzoo.metrics.inception.inception_features`` on the same images (real MNIST-sized digits, resized to
299x299 by the metric's own pipeline, which is included in the time), one after the other in each round (A B A B ...):
``torchscript`` is the pinned file run as it is (``reference=True``), ``rebuilt`` ganzoo's ``inception_net``. Each
variant's first call (loading, building) is made before the timed rounds. Also printed: the largest difference of their
features relative to the largest feature, and the work one image is: the convolutions' multiply-adds, counted from the
network's layer shapes, as GFLOP (2 per multiply-add) and the rate each variant reached. Needs ``ganzoo fetch
inception``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from ganzoo.metrics import inception


def convolution_gflop_per_image() -> float:
    """2 x the multiply-adds of every convolution in one 299x299 forward pass, counted with forward hooks."""
    from torch import nn

    from ganzoo.metrics.inception_net import _ConvReLU, _PoolThenConv

    net = inception._features_network()
    total = [0]

    def count(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        weight = module.weight if isinstance(module, _ConvReLU) else module.conv.weight
        c_out, c_in, kh, kw = weight.shape
        total[0] += 2 * c_out * c_in * kh * kw * output.shape[-2] * output.shape[-1]

    # a _PoolThenConv convolves with its inner layer's weight without calling that layer: each is counted once
    hooks = [m.register_forward_hook(count) for m in net.modules() if isinstance(m, (_ConvReLU, _PoolThenConv))]
    with torch.inference_mode():
        net(torch.zeros(1, 3, 299, 299))
    for hook in hooks:
        hook.remove()
    return total[0] / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    from ganzoo.data.digits import load_digits
    from ganzoo.specs import DataRequest

    images = load_digits(DataRequest(split="val")).x[:args.images]
    variants = {"torchscript": lambda: inception.inception_features(images, reference=True),
                "rebuilt": lambda: inception.inception_features(images)}
    features = {name: run() for name, run in variants.items()}  # warm: load, build, first oneDNN primitives
    scale = float(features["torchscript"].abs().max())
    difference = float((features["rebuilt"] - features["torchscript"]).abs().max()) / scale
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, run in variants.items():
            start = time.perf_counter()
            run()
            times[name].append((time.perf_counter() - start) / len(images))
    gflop = convolution_gflop_per_image()
    print(f"{len(images)} images, {args.rounds} rounds in alternation, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; convolutions: {gflop:.2f} GFLOP an image")
    for name, seconds in times.items():
        best, median = min(seconds), statistics.median(seconds)
        print(f"{name:12s} s/image: median {median:.4f}, best {best:.4f}, all {', '.join(f'{s:.4f}' for s in seconds)}; "
              f"{gflop / median:.0f} GFLOP/s at the median")
    ratio = statistics.median(times["torchscript"]) / statistics.median(times["rebuilt"])
    print(f"rebuilt / torchscript: {ratio:.2f}x faster; largest feature difference {difference:.1e} of the largest feature")


if __name__ == "__main__":
    main()
