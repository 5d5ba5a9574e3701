"""Energy distance (Szekely & Rizzo 2013): 2 E|X - Y| - E|X - X'| - E|Y - Y'|, zero exactly when the laws are equal.

The within-set means leave out the diagonal (U-statistics), so the estimate is unbiased: two samples of one law score
about 0, not a positive number that shrinks with n. Any data: samples are flattened to vectors.
"""

from __future__ import annotations

from typing import Mapping

import torch

from ganzoo import MetricInput

__all__ = ["energy_distance", "compute_energy", "MAX_SAMPLES"]

MAX_SAMPLES = 5_000  # pairwise distances are O(n^2) memory: 5,000 x 5,000 float64 is 200 MB


def _mean_distance(a: torch.Tensor, b: torch.Tensor, same: bool) -> torch.Tensor:
    d = torch.cdist(a, b)
    if same:
        n = len(a)
        return d.sum() / (n * (n - 1))
    return d.mean()


def energy_distance(x: torch.Tensor, y: torch.Tensor) -> float:
    """The unbiased energy distance between sample sets ``x`` (n, ...) and ``y`` (m, ...), n, m >= 2, in float64."""
    if len(x) < 2 or len(y) < 2:
        raise ValueError(f"energy distance needs at least 2 samples per set, got {len(x)} and {len(y)}")
    x = x.detach().reshape(len(x), -1).double().cpu()
    y = y.detach().reshape(len(y), -1).double().cpu()
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"sample sizes differ: {tuple(x.shape[1:])} vs {tuple(y.shape[1:])}")
    return float(2 * _mean_distance(x, y, False) - _mean_distance(x, x, True) - _mean_distance(y, y, True))


def compute_energy(inp: MetricInput) -> Mapping[str, float]:
    gen = torch.Generator().manual_seed(inp.seed)

    def subsample(t: torch.Tensor) -> torch.Tensor:
        return t if len(t) <= MAX_SAMPLES else t[torch.randperm(len(t), generator=gen)[:MAX_SAMPLES]]

    return {"energy": energy_distance(subsample(inp.fake), subsample(inp.real))}
