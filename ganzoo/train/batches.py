"""The training data on the device and the order the run visits it in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch

from ganzoo.data.common import load_dataset
from ganzoo.errors import ConfigError
from ganzoo.seeding import ORDER_SEED_STRIDE
from ganzoo.specs import DataInfo, LoadedData, Plan, Schedule
from ganzoo.train import distributed
from ganzoo.train.config import Resolved, data_request
from ganzoo.train.state import TrainState

__all__ = ["Batches", "TrainingData"]


class Batches:
    """The run's endless sequence of sample indices, a pure function of the position in it: epoch ``e`` visits the data
    in a permutation seeded by (seed, e)."""

    def __init__(self, n: int, seed: int):
        self.n, self.seed = n, seed
        self._cache: dict[int, torch.Tensor] = {}

    def _perm(self, epoch: int) -> torch.Tensor:
        if epoch not in self._cache:
            if len(self._cache) > 2:
                self._cache.clear()
            gen = torch.Generator().manual_seed(self.seed * ORDER_SEED_STRIDE + epoch)
            self._cache[epoch] = torch.randperm(self.n, generator=gen)
        return self._cache[epoch]

    def take(self, position: int, count: int) -> torch.Tensor:
        """The ``count`` sample indices from ``position`` on in the run's endless sequence of epochs (batch sizes may
        change during a run: a schedule's batches are slices of the same sequence)."""
        epoch, start = divmod(position, self.n)
        if start + count <= self.n:  # the common case: the batch lies within one epoch, a slice of its permutation
            return self._perm(epoch)[start:start + count]
        positions = torch.arange(position, position + count)
        epochs = positions // self.n
        out = torch.empty(count, dtype=torch.long)
        for epoch in epochs.unique().tolist():
            mask = epochs == epoch
            out[mask] = self._perm(epoch)[positions[mask] % self.n]
        return out



@dataclass
class TrainingData:
    """The training split (``loaded``, on the CPU, for pictures and metrics) and its tensors on the training device."""

    loaded: LoadedData
    x: torch.Tensor
    y: Optional[torch.Tensor]
    num_classes: int  # 0 for an unconditional run
    order: Batches

    @property
    def info(self) -> DataInfo:
        return self.loaded.info

    @classmethod
    def load(cls, resolved: Resolved, device: torch.device) -> "TrainingData":
        cfg = resolved.config
        data = load_dataset(resolved.dataset, data_request(cfg))
        if cfg.batch_size > len(data.x):
            raise ConfigError(f"--batch-size {cfg.batch_size} is larger than the dataset ({len(data.x)} samples): "
                              f"use at most {len(data.x)}")
        num_classes = data.info.num_classes if cfg.conditional else 0
        if cfg.conditional and (data.y is None or num_classes < 2):
            raise ConfigError(f"--conditional needs class labels, and dataset {cfg.dataset!r} has none here")
        return cls(data, data.x.to(device), data.y.to(device) if num_classes else None, num_classes,
                   Batches(len(data.x), cfg.seed))

    def next_batch(self, state: TrainState, batch_size: int, world: distributed.World, schedule: Optional[Schedule],
                   plan: Optional[Plan]) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
        """This rank's slice of the next global batch of real samples (and labels), advancing the data position."""
        global_batch = batch_size * world.size
        idx = self.order.take(state.images, global_batch)[world.part(global_batch)].to(self.x.device)
        state.batches += 1
        state.images += global_batch
        real = self.x[idx] if schedule is None or plan is None else schedule.real(self.x[idx], plan)
        return real, self.y[idx] if self.y is not None and self.num_classes else None
