"""``ganzoo eval``: score a run's generator with every metric that fits its data, each beside its real-data floor.

The score compares ``n`` generated samples with the held-out split; the floor compares ``n`` real *training* samples with
the same held-out split, through the same metric. A generator can at best reach the floor, so a score reads at a glance:
close to the floor is good, far from it is not. Both use the same ``n`` because several metrics (Frechet distance,
precision and recall) depend on the sample size.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

import torch

from ganzoo.data.common import load_dataset
from ganzoo.errors import ConfigError
from ganzoo.io import atomic_path
from ganzoo.registry import Registry
from ganzoo.specs import Metric, MetricInput
from ganzoo.train.config import data_request
from ganzoo.train.models import classes_in_turn, generate
from ganzoo.train.sample import load_generator
from ganzoo.train.validation import at_data_size, metric_misfit, scores_of

__all__ = ["Evaluation", "evaluate", "render"]


@dataclass
class Evaluation:
    run: str
    checkpoint: str
    step: int
    n: int
    seed: int
    resolution: Optional[int]  # the generator's image side when it is smaller than the data's (a growing run)
    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    floors: dict[str, dict[str, float]] = field(default_factory=dict)
    primary: dict[str, tuple[str, bool]] = field(default_factory=dict)  # metric -> (key, higher_is_better)

    def to_json(self) -> dict[str, Any]:
        return {"run": self.run, "checkpoint": self.checkpoint, "step": self.step, "n": self.n, "seed": self.seed,
                "generator_resolution": self.resolution,
                "metrics": {name: {"score": self.scores[name], "floor": self.floors[name],
                                   "primary": self.primary[name][0], "higher_is_better": self.primary[name][1]}
                            for name in self.scores}}


def evaluate(registry: Registry, run_dir: Path, which: str = "last", n: int = 2500, metrics: Sequence[str] = (),
             seed: int = 0, device: str = "cpu", save: bool = True) -> Evaluation:
    """Score ``run_dir``'s generator (``checkpoints/<which>``) with ``metrics`` (default: every installed metric that
    fits the data), each with its floor; with ``save``, also write ``RUN/eval/<which>_step<step>.json``."""
    if n < 2:
        raise ConfigError(f"--n {n} must be at least 2")
    loaded = load_generator(registry, run_dir, which, device)
    cfg, info = loaded.config, loaded.info
    spec = registry.get("dataset", cfg.dataset)
    train, val = load_dataset(spec, data_request(cfg)), load_dataset(spec, data_request(cfg, "val"))
    chosen: list[Metric] = []
    if metrics:
        for name in metrics:
            metric = registry.get("metric", name)
            why = metric_misfit(metric, train.info, train.y)
            if why:
                raise ConfigError(f"metric {metric.name!r} cannot score this run's data ({why})")
            chosen.append(metric)
    else:
        # a metric with something to fetch (a network) costs minutes on a CPU: it runs when named
        chosen = [e.spec for e in registry.entries("metric")
                  if e.spec.fetch is None and not metric_misfit(e.spec, train.info, train.y)]
    count = min(n, len(train.x))
    labels = classes_in_turn(count, loaded.num_classes)
    fake = generate(loaded.generator, count, loaded.latent_dim, loaded.device, torch.Generator().manual_seed(seed), labels)
    resolution = int(fake.shape[-1]) if info.kind == "images" and fake.shape[-1] != info.shape[-1] else None
    fake = at_data_size(fake, info)
    real_sample = train.x[torch.randperm(len(train.x), generator=torch.Generator().manual_seed(seed))[:count]]
    result = Evaluation(str(run_dir), which, loaded.step, count, seed, resolution)
    common = {"real": val.x, "info": train.info, "train": train.x, "seed": seed, "real_labels": val.y,
              "train_labels": train.y}
    for metric in chosen:
        result.scores[metric.name] = scores_of(metric, MetricInput(fake=fake, fake_labels=labels, **common))
        result.floors[metric.name] = scores_of(metric, MetricInput(fake=real_sample, **common))
        result.primary[metric.name] = (metric.primary, metric.higher_is_better)
    if save:
        path = run_dir / "eval" / f"{which}_step{loaded.step:06d}.json"
        with atomic_path(path, suffix=".json") as tmp:
            tmp.write_text(json.dumps(result.to_json(), indent=2) + "\n")
    return result


def render(result: Evaluation) -> str:
    """The scores as a table: one row per number, the floor beside it, the primary number of each metric marked."""
    lines = [f"{result.run}: checkpoint '{result.checkpoint}' at step {result.step}, {result.n} samples, seed {result.seed}"]
    if result.resolution:
        lines.append(f"the generator had grown to {result.resolution}x{result.resolution}; its images are enlarged "
                     "(nearest) to the data's size for scoring")
    lines.append(f"{'metric':<8} {'number':<20} {'generated':>11} {'real floor':>11}")
    for name, scores in result.scores.items():
        key, higher = result.primary[name]
        for number, value in scores.items():
            mark = f" (primary, {'higher' if higher else 'lower'} is better)" if number == key else ""
            floor = result.floors[name].get(number, math.nan)
            lines.append(f"{name:<8} {number:<20} {_fmt(value):>11} {_fmt(floor):>11}{mark}")
    lines.append("real floor: the same metric for real training samples against the held-out data")
    return "\n".join(lines)


def _fmt(value: float) -> str:
    if math.isinf(value) or math.isnan(value):
        return str(value)
    return f"{value:.4g}" if abs(value) < 1000 else f"{value:.1f}"
