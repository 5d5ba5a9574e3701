"""Differentiable augmentation of the discriminator's inputs (DiffAugment, Zhao et al. 2020): the same random
transformation family applied to real and generated images, in D's update and in G's, so that D cannot memorise a small
training set while G still learns the untransformed distribution (the transformations are differentiable, so G's
gradient passes through them).

The policies, applied in this order: ``color`` (brightness shift in [-0.5, 0.5], saturation scale in [0, 2], contrast
scale in [0.5, 1.5], each per image), ``translation`` (a shift of up to 1/8 of each side, zero-filled) and ``cutout``
(a square of half the side set to zero, at a random place). Zero is the middle of [-1, 1], as in the paper's code.

Every draw comes from the run's noise generator, made for the global batch and sliced to this rank's part, so a run
stays deterministic, resumes bit for bit and is the same in any number of processes.
"""

from __future__ import annotations

import torch

from ganzoo.settings import AUGMENTATIONS, augment_policies as parse_policy
from ganzoo.train import distributed

__all__ = ["POLICIES", "augment", "parse_policy"]

POLICIES = AUGMENTATIONS  # declared with the setting (torch-free); applied in this order
TRANSLATION_RATIO = 0.125
CUTOUT_RATIO = 0.5


def _draw(shape: tuple[int, ...], noise: torch.Generator, world: distributed.World, batch: int,
          device: torch.device) -> torch.Tensor:
    """Uniform [0, 1) draws for the global batch (its first dimension), this rank's part, on ``device``."""
    values = torch.rand((batch * world.size, *shape), generator=noise)
    return values[world.part(batch * world.size)].to(device)


def _color(x: torch.Tensor, noise: torch.Generator, world: distributed.World) -> torch.Tensor:
    n = x.shape[0]
    u = _draw((3,), noise, world, n, x.device).to(x.dtype)
    x = x + (u[:, 0] - 0.5).view(n, 1, 1, 1)
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (2 * u[:, 1]).view(n, 1, 1, 1) + mean  # gray images: x == mean, so nothing changes
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (u[:, 2] + 0.5).view(n, 1, 1, 1) + mean


def _offsets(noise: torch.Generator, world: distributed.World, n: int, reach: int, device: torch.device
             ) -> torch.Tensor:
    """Integers in [-reach, reach], two per image (rows, columns)."""
    u = _draw((2,), noise, world, n, device)
    return (u * (2 * reach + 1)).floor().long().clamp(max=2 * reach) - reach


def _translation(x: torch.Tensor, noise: torch.Generator, world: distributed.World) -> torch.Tensor:
    n, _, h, w = x.shape
    shift = _offsets(noise, world, n, max(1, int(max(h, w) * TRANSLATION_RATIO + 0.5)), x.device)
    # output pixel (i, j) shows input pixel (i - dy, j - dx); zero where that lies outside the image
    rows = torch.arange(h, device=x.device)[None, :] - shift[:, :1]  # (n, h)
    cols = torch.arange(w, device=x.device)[None, :] - shift[:, 1:]  # (n, w)
    inside = (((rows >= 0) & (rows < h))[:, :, None] & ((cols >= 0) & (cols < w))[:, None, :]).unsqueeze(1)
    rows, cols = rows.clamp(0, h - 1), cols.clamp(0, w - 1)
    moved = x[torch.arange(n, device=x.device)[:, None, None], :, rows[:, :, None], cols[:, None, :]]  # (n, h, w, c)
    return moved.permute(0, 3, 1, 2) * inside.to(x.dtype)


def _cutout(x: torch.Tensor, noise: torch.Generator, world: distributed.World) -> torch.Tensor:
    n, _, h, w = x.shape
    side_h, side_w = int(h * CUTOUT_RATIO + 0.5), int(w * CUTOUT_RATIO + 0.5)
    u = _draw((2,), noise, world, n, x.device)
    # the square's centre anywhere on the image; near an edge part of it falls outside
    top = (u[:, 0] * h).floor().long() - side_h // 2
    left = (u[:, 1] * w).floor().long() - side_w // 2
    rows = torch.arange(h, device=x.device)[None, :]
    cols = torch.arange(w, device=x.device)[None, :]
    in_rows = (rows >= top[:, None]) & (rows < (top + side_h)[:, None])
    in_cols = (cols >= left[:, None]) & (cols < (left + side_w)[:, None])
    keep = ~(in_rows[:, :, None] & in_cols[:, None, :])
    return x * keep.unsqueeze(1).to(x.dtype)


_APPLY = {"color": _color, "translation": _translation, "cutout": _cutout}


def augment(x: torch.Tensor, policies: tuple[str, ...], noise: torch.Generator,
            world: distributed.World = distributed.World()) -> torch.Tensor:
    """``x`` (N, C, H, W) with each of ``policies`` applied in turn, differentiably; ``x`` itself when there are none."""
    for policy in policies:
        x = _APPLY[policy](x, noise, world)
    return x
