"""Sliced Wasserstein distance: the mean over random unit directions of the 1-D Wasserstein-1 distance between the
projected sample sets. Exact for any data, needs no network or download; reported scaled by 100 for readability."""

from __future__ import annotations

from typing import Mapping

import torch

from ganzoo.specs import MetricInput

__all__ = ["sliced_wasserstein", "compute_swd", "SWD_PROJECTIONS"]

SWD_PROJECTIONS = 256


def sliced_wasserstein(a: torch.Tensor, b: torch.Tensor, projections: int = SWD_PROJECTIONS, seed: int = 0) -> float:
    """SW1 between equally sized sets (the larger is subsampled to the smaller's size with a seeded choice)."""
    a = a.detach().reshape(len(a), -1).double().cpu()
    b = b.detach().reshape(len(b), -1).double().cpu()
    gen = torch.Generator().manual_seed(seed)
    n = min(len(a), len(b))
    a = a[torch.randperm(len(a), generator=gen)[:n]]
    b = b[torch.randperm(len(b), generator=gen)[:n]]
    directions = torch.randn(a.shape[1], projections, generator=gen, dtype=torch.float64)
    directions /= directions.norm(dim=0, keepdim=True)
    pa, _ = torch.sort(a @ directions, dim=0)
    pb, _ = torch.sort(b @ directions, dim=0)
    return float((pa - pb).abs().mean())


def compute_swd(inp: MetricInput) -> Mapping[str, float]:
    return {"swd": 100.0 * sliced_wasserstein(inp.fake, inp.real, seed=inp.seed)}
