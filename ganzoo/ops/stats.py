"""What the critic's loss kernels compute besides the loss, by name."""

from __future__ import annotations

from typing import NamedTuple

import torch

__all__ = ["CriticStats"]


class CriticStats(NamedTuple):
    """The critic's statistics from the pass that computed its loss, each a detached 0-d tensor left on the device
    (reading one forces a host sync, so the trainer reads them only when it logs)."""

    real_mean: torch.Tensor  # mean D(real)
    fake_mean: torch.Tensor  # mean D(fake)
    accuracy: torch.Tensor  # the share of real logits > 0 and fake logits < 0
    penalty: torch.Tensor  # the weighted gradient penalty (0 without one)

    @classmethod
    def of(cls, stats: torch.Tensor) -> "CriticStats":
        """From the kernels' one stats tensor ``[mean D(real), mean D(fake), accuracy(, penalty)]``: the only place that
        knows its order (``csrc/ops_common.h`` writes it; without a penalty it has three entries)."""
        if stats.shape[0] == 3:
            stats = torch.cat([stats, stats.new_zeros(1)])
        real_mean, fake_mean, accuracy, penalty = stats.unbind()
        return cls(real_mean, fake_mean, accuracy, penalty)

    def as_tensor(self) -> torch.Tensor:
        """The four values as the kernels' one tensor, in that order."""
        return torch.stack(tuple(self))
