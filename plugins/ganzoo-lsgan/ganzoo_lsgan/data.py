"""A 2-D spiral with K arms, generated in code: nothing to download."""

from __future__ import annotations

import math

import torch

from ganzoo import DataInfo, DataRequest, LoadedData
from ganzoo.errors import DataError

__all__ = ["load_spiral", "SIZES"]

SIZES = {"train": 50_000, "val": 5_000}
NOISE = 0.02


def _option(request: DataRequest, key: str, default: int, low: int) -> int:
    value = request.options.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise DataError(f"spiral: {key}={value!r} must be an integer >= {low}, e.g. --set data.{key}={default}")
    return value


def load_spiral(request: DataRequest) -> LoadedData:
    """Arm k: radius r = t, angle 3 pi t + 2 pi k / K for t uniform in [0.1, 1], plus Gaussian noise 0.02.

    Train and val come from different random streams of the same seed, so they share no points.
    """
    if request.data_dir is not None:
        raise DataError("spiral is generated in code and reads no files: drop --data-dir")
    n = _option(request, "n", SIZES.get(request.split, SIZES["train"]), 1)
    arms = _option(request, "arms", 3, 1)
    gen = torch.Generator().manual_seed(2 * request.seed + (request.split == "val"))
    labels = torch.randint(arms, (n,), generator=gen)
    t = 0.1 + 0.9 * torch.rand(n, generator=gen, dtype=torch.float64)
    angle = 3 * math.pi * t + 2 * math.pi * labels.double() / arms
    x = torch.stack([t * torch.cos(angle), t * torch.sin(angle)], dim=1)
    x = (x + NOISE * torch.randn(n, 2, generator=gen, dtype=torch.float64)).float()
    info = DataInfo(kind="points", shape=(2,), num_classes=arms, value_range=(-1.1, 1.1),
                    class_names=tuple(f"arm {k}" for k in range(arms)))
    return LoadedData(x=x, y=labels, info=info)
