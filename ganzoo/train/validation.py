"""Scoring a generator during training with the run's validation metric, tracking the best score and early stopping.
``metric_misfit``, ``at_data_size`` and ``scores_of`` are shared with ``ganzoo eval``."""

from __future__ import annotations

from typing import Any, Optional

import torch
import torch.nn.functional as F
from torch import nn

from ganzoo.data.common import load_dataset
from ganzoo.errors import ConfigError, PluginError
from ganzoo.seeding import VALIDATION_SEED
from ganzoo.specs import DataInfo, LoadedData, Metric, MetricInput
from ganzoo.train.config import Resolved, data_request
from ganzoo.train.models import classes_in_turn, generate
from ganzoo.train.state import TrainState

__all__ = ["Validator", "metric_misfit", "at_data_size", "scores_of"]



class Validator:
    """Generates ``val_samples`` from fixed noise and scores them against the held-out split."""

    def __init__(self, resolved: Resolved, train_data: LoadedData, num_classes: int, latent_dim: int,
                 device: torch.device):
        cfg, metric = resolved.config, resolved.metric
        assert metric is not None
        why = metric_misfit(metric, train_data.info, train_data.y)
        if why:
            raise ConfigError(f"metric {metric.name!r} cannot score dataset {cfg.dataset!r} ({why}): use --val-metric swd")
        self.metric, self.cfg, self.train_data = metric, cfg, train_data
        self.num_classes, self.latent_dim, self.device = num_classes, latent_dim, device
        val = load_dataset(resolved.dataset, data_request(cfg, "val"))
        self.real, self.labels = val.x, val.y

    def validate(self, generator: nn.Module, state: TrainState) -> tuple[dict[str, Any], bool]:
        """The validation record at ``state.step``, and whether it is the best so far (updating ``state.best`` and the
        count of validations without improvement)."""
        cfg, metric, info = self.cfg, self.metric, self.train_data.info
        n = cfg.val_samples
        labels = classes_in_turn(n, self.num_classes)
        fake = generate(generator, n, self.latent_dim, self.device, torch.Generator().manual_seed(cfg.seed + VALIDATION_SEED),
                        labels)
        fake = at_data_size(fake, info)  # a growing generator is judged at the data's size
        scores = scores_of(metric, MetricInput(fake=fake, fake_labels=labels, real=self.real, info=info,
                                               train=self.train_data.x, seed=cfg.seed, real_labels=self.labels,
                                               train_labels=self.train_data.y))
        value, best = scores[metric.primary], state.best
        improved = best is None or (value > best["value"] if metric.higher_is_better else value < best["value"])
        if improved:
            state.best = {"step": state.step, "metric": metric.name, "key": metric.primary, "value": value}
            state.bad_validations = 0
        else:
            state.bad_validations += 1
        return {"step": state.step, "val": {metric.name: scores}}, improved

    def patience_spent(self, state: TrainState) -> bool:
        return bool(self.cfg.early_stop_patience) and state.bad_validations >= self.cfg.early_stop_patience


def metric_misfit(metric: Metric, info: DataInfo, labels: Optional[torch.Tensor]) -> str:
    """Why ``metric`` cannot score this data, or "" when it can."""
    if info.kind not in metric.data_kinds:
        return f"it scores {' or '.join(metric.data_kinds)}, the data holds {info.kind}"
    missing = [k for k in metric.needs_meta if k not in info.meta]
    if missing:
        return "it lacks " + ", ".join(missing)
    if metric.needs_labels and (labels is None or info.num_classes < 2):
        return "it has no class labels"
    return ""


def at_data_size(x: torch.Tensor, info: DataInfo) -> torch.Tensor:
    """Images from a generator that has not grown to the data's size yet, enlarged (nearest) to it for scoring."""
    if info.kind == "images" and tuple(x.shape[1:]) != tuple(info.shape):
        return F.interpolate(x, size=tuple(info.shape[1:]), mode="nearest")
    return x


def scores_of(metric: Metric, inp: MetricInput) -> dict[str, float]:
    """``metric.compute(inp)`` as plain floats, checked: a mapping of numbers that holds the metric's primary key (early
    stopping, ``best`` checkpoints and ``ganzoo eval``'s marker follow it), else ``PluginError`` naming what is wrong."""
    values = metric.compute(inp)
    try:
        scores = {str(k): float(v) for k, v in dict(values).items()}
    except (TypeError, ValueError) as exc:
        raise PluginError(f"metric {metric.name!r} must return a mapping of names to numbers, got "
                          f"{type(values).__name__} ({exc})") from None
    if metric.primary not in scores:
        raise PluginError(f"metric {metric.name!r} returned {sorted(scores)} without its primary key "
                          f"{metric.primary!r}: return it, or set primary to one of those")
    return scores
