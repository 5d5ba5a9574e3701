"""The run's random streams: the seed offsets that give each its own generator, and seeding torch's global generator
without changing it for anyone else.

Every draw of a run comes from an explicit ``torch.Generator`` seeded from the run's ``--seed`` plus an offset of its
own, so that the streams never overlap and each is a function of the seed alone (a resumed run restores the training
noise's state from its checkpoint; the others restart from their seed every time). The offsets are here, together, so
that a new stream picks one that no other uses. Changing one changes every run's numbers.

Network initialisation (``nn.Linear``'s ``reset_parameters``, a plugin's ``torch.randn`` in ``__init__``) and dropout
draw from torch's global generator, so a network that must come out the same every time is built under a seed. The
library must not leave that seed behind: a notebook's own random numbers after ``ganzoo.api.train`` would otherwise be
the same on every call. ``torch_seeded`` seeds the global CPU generator for a block and restores its state after it.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

import torch

__all__ = ["NOISE_SEED", "PREVIEW_SEED", "VALIDATION_SEED", "ORDER_SEED_STRIDE", "SPLIT_SEED", "torch_seeded"]

NOISE_SEED = 1_000_003  # the training noise: latents, interpolation weights, generator labels (checkpointed)
PREVIEW_SEED = 2_000_003  # the fixed noise of the sample pictures
VALIDATION_SEED = 3_000_017  # the fixed noise of each validation's samples
ORDER_SEED_STRIDE = 1_000_033  # the data order: epoch e of a run seeded s is permuted by seed s * stride + e
SPLIT_SEED = 20140610  # the held-out tenth of a dataset without a test split: the same for every run and seed


@contextlib.contextmanager
def torch_seeded(seed: int) -> Iterator[None]:
    """torch's global CPU generator seeded with ``seed`` inside the block, as it was before outside it. (Networks are
    built on the CPU and moved after, so the CUDA generators are left alone: forking them would initialise CUDA.)"""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield
