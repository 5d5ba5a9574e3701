"""2-D Gaussian mixtures and the swiss roll, generated in code from a seed (no files).

``ring`` and ``grid`` follow the VEEGAN / PacGAN benchmark: 8 modes on a circle of radius 1 with sigma 0.01, and 25 modes on
{-4, -2, 0, 2, 4}^2 with sigma 0.05. Their ``DataInfo.meta`` carries the centres and sigma for the mode metrics.
"""

from __future__ import annotations

import math

import torch

from ganzoo.errors import DataError
from ganzoo.specs import DataInfo, DataRequest, LoadedData

__all__ = ["ring_centres", "grid_centres", "load_ring", "load_grid", "load_swissroll", "DEFAULT_POINTS"]

DEFAULT_POINTS = {"train": 100_000, "val": 10_000}
RING_SIGMA = 0.01
GRID_SIGMA = 0.05


def ring_centres(modes: int = 8, radius: float = 1.0) -> torch.Tensor:
    angles = torch.arange(modes, dtype=torch.float64) * (2 * math.pi / modes)
    return torch.stack([radius * torch.cos(angles), radius * torch.sin(angles)], dim=1).float()


def grid_centres() -> torch.Tensor:
    axis = torch.tensor([-4.0, -2.0, 0.0, 2.0, 4.0])
    return torch.cartesian_prod(axis, axis)


def _count(request: DataRequest) -> int:
    n = request.options.get("n", DEFAULT_POINTS.get(request.split, DEFAULT_POINTS["train"]))
    if not isinstance(n, int) or n < 1:
        raise DataError(f"number of points n={n!r} must be a positive integer: use e.g. --set data.n=10000")
    return n


def _generator(request: DataRequest) -> torch.Generator:
    # train and val come from different streams of the same seed, so they never share points
    return torch.Generator().manual_seed(request.seed * 2 + (request.split == "val"))


def _mixture(request: DataRequest, centres: torch.Tensor, sigma: float) -> LoadedData:
    n = _count(request)
    gen = _generator(request)
    labels = torch.randint(len(centres), (n,), generator=gen)
    x = centres[labels] + sigma * torch.randn(n, 2, generator=gen)
    lo, hi = float(centres.min()) - 4 * sigma, float(centres.max()) + 4 * sigma
    info = DataInfo(
        kind="points",
        shape=(2,),
        num_classes=len(centres),
        value_range=(lo, hi),
        meta={"centres": centres.tolist(), "sigma": sigma},
    )
    return LoadedData(x=x, y=labels, info=info)


def load_ring(request: DataRequest) -> LoadedData:
    return _mixture(request, ring_centres(), RING_SIGMA)


def load_grid(request: DataRequest) -> LoadedData:
    return _mixture(request, grid_centres(), GRID_SIGMA)


def load_swissroll(request: DataRequest) -> LoadedData:
    """The 2-D swiss roll: t = 1.5 pi (1 + 2u), (t cos t, t sin t) / 7.5 plus noise 0.25 / 7.5, within about [-2, 2]^2."""
    n = _count(request)
    gen = _generator(request)
    t = 1.5 * math.pi * (1 + 2 * torch.rand(n, generator=gen))
    x = torch.stack([t * torch.cos(t), t * torch.sin(t)], dim=1) / 7.5
    x = x + (0.25 / 7.5) * torch.randn(n, 2, generator=gen)
    return LoadedData(x=x.float(), y=None, info=DataInfo(kind="points", shape=(2,), value_range=(-2.0, 2.0)))
