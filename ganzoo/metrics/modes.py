"""Mode coverage of 2-D Gaussian mixtures (VEEGAN, PacGAN).

A sample is high quality when its distance to the nearest mode centre is under 3 sigma; a mode is recovered when at least
one high-quality sample has it as nearest centre. The reverse KL is KL(q || uniform) of the high-quality samples' mode
histogram q. The ``near_*`` numbers use a fixed radius of 0.25 instead, and count a mode as covered when at least 1% of
all samples lie that close to it: a looser reading that shows learning long before samples are within 3 sigma.
"""

from __future__ import annotations

import math
from typing import Mapping

import torch

from ganzoo.specs import MetricInput

__all__ = ["mode_coverage", "compute_modes", "NEAR_RADIUS", "NEAR_MIN_SHARE"]

NEAR_RADIUS = 0.25
NEAR_MIN_SHARE = 0.01


def mode_coverage(points: torch.Tensor, centres: torch.Tensor, sigma: float) -> dict[str, float]:
    """Mode statistics of ``points`` (N, 2) against ``centres`` (K, 2).

    Returns:
        ``modes`` recovered (3 sigma), ``hq_share`` of samples within 3 sigma, ``reverse_kl`` of the high-quality mode
        histogram against uniform (in nats; ``inf`` when no sample is high quality), ``near_modes`` (modes with >= 1% of
        samples within 0.25) and ``near_share`` (share of samples within 0.25 of a centre).
    """
    points = points.detach().to(torch.float64).cpu().reshape(len(points), -1)[:, :2]
    centres = centres.to(torch.float64)
    finite = torch.isfinite(points).all(dim=1)
    dist = torch.cdist(points[finite], centres)
    nearest_dist, nearest = dist.min(dim=1)
    n, k = len(points), len(centres)
    hq = nearest_dist < 3 * sigma
    counts = torch.bincount(nearest[hq], minlength=k).double()
    if counts.sum() > 0:
        q = counts / counts.sum()
        nz = q > 0
        reverse_kl = float((q[nz] * torch.log(q[nz] * k)).sum())
    else:
        reverse_kl = math.inf
    near = nearest_dist < NEAR_RADIUS
    near_counts = torch.bincount(nearest[near], minlength=k)
    return {
        "modes": float((counts > 0).sum()),
        "hq_share": float(hq.sum()) / n,
        "reverse_kl": reverse_kl,
        "near_modes": float((near_counts >= NEAR_MIN_SHARE * n).sum()),
        "near_share": float(near.sum()) / n,
    }


def compute_modes(inp: MetricInput) -> Mapping[str, float]:
    """Metric plugin entry: needs ``centres`` and ``sigma`` in the dataset's meta."""
    return mode_coverage(inp.fake, torch.tensor(inp.info.meta["centres"]), float(inp.info.meta["sigma"]))
