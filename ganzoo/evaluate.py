"""``ganzoo eval``: score a run's generator with every metric that fits its data, each beside its real-data floor.

The score compares ``n`` generated samples with the held-out split; the floor compares ``n`` real *training* samples with
the same held-out split, through the same metric. A generator can at best reach the floor, so a score reads at a glance:
close to the floor is good, far from it is not. Both use the same ``n`` because several metrics (Frechet distance,
precision and recall) depend on the sample size.

``evaluate_samples`` scores images that did not come from ganzoo (``ganzoo eval --samples``) the same way, against any
dataset, so another tool's GAN is read beside ganzoo's runs under the same protocol. A ``Protocol`` fixes what a
published comparison needs (N, the held-out split, the metric); the output states N, the held-out images, the
resolution and the network.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

import torch

from ganzoo.console import announcing
from ganzoo.data.common import load_dataset
from ganzoo.errors import ConfigError, DataError
from ganzoo.io import atomic_path, atomic_write_json, cache_dir, tensors_digest
from ganzoo.protocols import PROTOCOLS, Protocol
from ganzoo.registry import Registry
from ganzoo.specs import DataRequest, LoadedData, Metric, MetricInput
from ganzoo.train.config import data_request
from ganzoo.train.sample import check_noise_scale, class_labels, draw_samples, load_generator
from ganzoo.train.validation import at_data_size, metric_misfit, scores_of

__all__ = ["Evaluation", "PROTOCOLS", "Protocol", "evaluate", "evaluate_samples", "render"]

DEFAULT_N = 2500


@dataclass
class Evaluation:
    run: str  # the run folder, or the samples' path
    checkpoint: Optional[str]  # None for samples from elsewhere
    step: Optional[int]
    n: int
    seed: int
    resolution: Optional[int]  # the generator's image side when it is smaller than the data's (a growing run)
    dataset: str = ""
    held_out: str = ""  # how many held-out images, from where
    shape: tuple[int, ...] = ()
    protocol: Optional[str] = None
    notes: list[str] = field(default_factory=list)
    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    floors: dict[str, dict[str, float]] = field(default_factory=dict)
    primary: dict[str, tuple[str, bool]] = field(default_factory=dict)  # metric -> (key, higher_is_better)
    noise_scale: float = 1.0  # the generator's noise multiplied by this at sampling

    def to_json(self) -> dict[str, Any]:
        return {"run": self.run, "checkpoint": self.checkpoint, "step": self.step, "n": self.n, "seed": self.seed,
                "noise_scale": self.noise_scale,
                "generator_resolution": self.resolution, "dataset": self.dataset, "held_out": self.held_out,
                "shape": list(self.shape), "protocol": self.protocol, "notes": list(self.notes),
                "metrics": {name: {"score": self.scores[name], "floor": self.floors[name],
                                   "primary": self.primary[name][0], "higher_is_better": self.primary[name][1]}
                            for name in self.scores}}


FLOOR_SEED = 0


def _count(n: Optional[int], protocol: Optional[Protocol]) -> int:
    if protocol is not None and n is not None:
        raise ConfigError(f"--protocol {protocol.name} fixes N at {protocol.n:,}: drop --n")
    count = protocol.n if protocol is not None else DEFAULT_N if n is None else n
    if count < 2:
        raise ConfigError(f"--n {count} must be at least 2")
    return count


def _metrics(registry: Registry, names: Sequence[str], protocol: Optional[Protocol], data: LoadedData,
             dataset: str) -> list[Metric]:
    names = list(dict.fromkeys([*(protocol.metrics if protocol else ()), *names]))
    if not names:
        # a metric with something to fetch (a network) costs minutes on a CPU: it runs when named
        return [e.spec for e in registry.entries("metric")
                if e.spec.fetch is None and not metric_misfit(e.spec, data.info, data.y)]
    chosen = []
    for name in names:
        metric = registry.get("metric", name)
        why = metric_misfit(metric, data.info, data.y)
        if why:
            raise ConfigError(f"metric {metric.name!r} cannot score dataset {dataset!r} ({why})")
        chosen.append(metric)
    return chosen


def _code_of(metric: Metric) -> str:
    """A fingerprint of the source file that computes ``metric``: a floor cached before that code changed (a new
    classifier recipe, a new Inception pipeline) is not read back after it."""
    import inspect

    from ganzoo.specs import resolve_lazy

    target = getattr(metric.compute, "lazy_target", None)  # a lazy() wrapper's file is specs.py: look behind it
    try:
        compute = resolve_lazy(target) if target else metric.compute
        return hashlib.sha256(Path(inspect.getfile(compute)).read_bytes()).hexdigest()[:16]
    except (TypeError, OSError):
        return "unknown"


def _floor(registry: Registry, metric: Metric, inp: MetricInput) -> dict[str, float]:
    """The metric for real training images against the held-out ones, cached by the images, the seed (always
    ``FLOOR_SEED``: a floor cached for ``--seed 0`` before it was fixed is read back), the metric's provider and its
    code: at the published N it is as costly as the score itself, and the same for every run on that data. A cache
    that cannot be written only costs the time."""
    entry = registry.entry_of("metric", metric)
    parts = (inp.fake, inp.real, inp.train, inp.real_labels, inp.train_labels, inp.fake_labels)
    # which parts are present: tensors_digest skips a None, so labels on one side would hash as labels on another
    present = "".join("1" if part is not None else "0" for part in parts)
    key = hashlib.sha256(f"{entry.package}:{entry.version}:{metric.name}:{_code_of(metric)}:{inp.seed}:{present}:".encode()
                         + tensors_digest(*parts).encode())
    path = cache_dir() / "floors" / f"{key.hexdigest()[:24]}.json"
    try:
        return {str(k): float(v) for k, v in json.loads(path.read_text()).items()}
    except (OSError, ValueError, AttributeError):
        pass  # not there yet, or damaged: computed and written again
    with announcing(f"{metric.name}: the real floor, {len(inp.fake):,} training images against the held-out ones "
                    "(cached after this first time)"):
        floor = scores_of(metric, inp)
    try:
        atomic_write_json(path, floor)
    except OSError:
        pass
    return floor


def _score(registry: Registry, result: Evaluation, fake: torch.Tensor, fake_labels: Optional[torch.Tensor],
           train: LoadedData, val: LoadedData, metrics: Sequence[Metric], protocol: Optional[Protocol]) -> Evaluation:
    """Score ``fake`` (already ``result.n`` images) and the floor, and say what was compared with what."""
    seed, count = result.seed, result.n
    result.shape = tuple(train.info.shape)
    source = val.info.meta.get("source", f"the val split of {result.dataset!r}")
    result.held_out = f"{len(val.x):,} held-out samples ({source})"
    if protocol is not None:
        result.protocol = protocol.name
        result.notes.append(f"protocol {protocol.name}: {protocol.citation}")
        if min(count, len(val.x)) < protocol.n:
            short = (f"the held-out split holds {len(val.x):,} images" if len(val.x) < protocol.n
                     else f"the training split holds {len(train.x):,} images (the floor's side)")
            result.notes.append(f"{short}, fewer than the protocol's {protocol.n:,}: N = {min(count, len(val.x)):,}, "
                                "not comparable with the published numbers")
    if any(m.name == "inception" for m in metrics) and train.info.kind == "images":
        c, h, w = train.info.shape
        result.notes.append(f"inception: min(N, {len(val.x):,}) images a side, {c}x{h}x{w} quantised to uint8 and "
                            "resized to 299x299 (TF bilinear), Inception-v3 pool3 (inception-2015-12-05)")
    # the floor describes the data, not this evaluation: one draw for every --seed, so that the cache computes it once
    # per dataset, N and metric (at the published N it costs as much as the score: 10 minutes of Inception on 2 cores)
    picked = torch.randperm(len(train.x), generator=torch.Generator().manual_seed(FLOOR_SEED))[:count]
    real_sample = train.x[picked]
    # a conditional run's floor asks the real images for their own classes, so class-aware scores have a floor too
    real_sample_labels = train.y[picked] if fake_labels is not None and train.y is not None else None
    common = {"real": val.x, "info": train.info, "train": train.x, "real_labels": val.y, "train_labels": train.y}
    with announcing(f"scoring {count:,} images of {result.run} with {', '.join(m.name for m in metrics)} against "
                    f"{min(count, len(val.x)):,} held-out ones"):
        for metric in metrics:
            result.scores[metric.name] = scores_of(metric, MetricInput(fake=fake, fake_labels=fake_labels, seed=seed,
                                                                       **common))
            # only to metrics that read labels: the others keep the floor an unconditional run on this data cached
            real_input = MetricInput(fake=real_sample, fake_labels=real_sample_labels if metric.needs_labels else None,
                                     seed=FLOOR_SEED, **common)
            result.floors[metric.name] = _floor(registry, metric, real_input)
            result.primary[metric.name] = (metric.primary, metric.higher_is_better)
            score, floor = result.scores[metric.name][metric.primary], result.floors[metric.name][metric.primary]
            if (score > floor) if metric.higher_is_better else (score < floor):
                # real data is the best a generator can do: a better score is the sample's noise, not the generator
                result.notes.append(f"{metric.name}: the generated {metric.primary} ({_fmt(score)}) beats the real floor "
                                    f"({_fmt(floor)}): at N = {count:,} the metric cannot tell these samples from real "
                                    "data; raise --n before reading it")
    return result


def evaluate(registry: Registry, run_dir: Path, which: str = "last", n: Optional[int] = None,
             metrics: Sequence[str] = (), seed: int = 0, device: str = "cpu", save: bool = True,
             protocol: Optional[str] = None, noise_scale: float = 1.0) -> Evaluation:
    """Score ``run_dir``'s generator (``checkpoints/<which>``) with ``metrics`` (default: every installed metric that
    fits the data; a ``protocol``'s own), each with its floor, its noise multiplied by ``noise_scale``; with ``save``,
    also write ``RUN/eval/<which>_step<step>.json`` (``_noise<scale>`` before ``.json`` when the scale is not 1)."""
    check_noise_scale(noise_scale)
    chosen_protocol = _protocol(protocol)
    wanted = _count(n, chosen_protocol)
    loaded = load_generator(registry, run_dir, which, device)
    cfg, info = loaded.config, loaded.info
    spec = registry.get("dataset", cfg.dataset)
    train, val = load_dataset(spec, data_request(cfg)), load_dataset(spec, data_request(cfg, "val"))
    chosen = _metrics(registry, metrics, chosen_protocol, train, cfg.dataset)
    count = min(wanted, len(train.x))
    # the samples `ganzoo sample --seed SEED` draws, so that a scored grid can be looked at
    fake = draw_samples(loaded, count, seed, noise_scale=noise_scale)
    labels = class_labels(loaded, count, None)
    resolution = int(fake.shape[-1]) if info.kind == "images" and fake.shape[-1] != info.shape[-1] else None
    result = Evaluation(str(run_dir), which, loaded.step, count, seed, resolution, dataset=cfg.dataset,
                        noise_scale=noise_scale)
    if noise_scale != 1.0:
        result.notes.append(f"noise scaled x{noise_scale!r} at sampling (--noise-scale): not the distribution the "
                            "generator was trained to map")
    _score(registry, result, at_data_size(fake, info), labels, train, val, chosen, chosen_protocol)
    if save:
        scaled = f"_noise{noise_scale!r}" if noise_scale != 1.0 else ""
        path = run_dir / "eval" / f"{which}_step{loaded.step:06d}{scaled}.json"
        with atomic_path(path, suffix=".json") as tmp:
            tmp.write_text(json.dumps(result.to_json(), indent=2) + "\n")
    return result


def evaluate_samples(registry: Registry, samples: Path, dataset: str, request: DataRequest, n: Optional[int] = None,
                     metrics: Sequence[str] = (), seed: int = 0, protocol: Optional[str] = None) -> Evaluation:
    """Score the images at ``samples`` (a folder of images, a ``.npy`` or a ``.npz``) against ``dataset``'s held-out
    split, with the same metrics, floors and protocol as a run's ``evaluate``: N of them, the first N in file order."""
    from ganzoo.data.samples import load_samples

    chosen_protocol = _protocol(protocol)
    wanted = _count(n, chosen_protocol)
    spec = registry.get("dataset", dataset)
    train = load_dataset(spec, dataclasses.replace(request, split="train"))
    val = load_dataset(spec, dataclasses.replace(request, split="val"))
    if train.info.kind != "images":
        raise ConfigError(f"--samples scores images, and dataset {spec.name!r} holds {train.info.kind}")
    chosen = _metrics(registry, metrics, chosen_protocol, train, spec.name)
    fake = load_samples(samples, tuple(train.info.shape))
    count = min(wanted, len(fake), len(train.x))
    if chosen_protocol is not None and len(fake) < min(wanted, len(train.x)):
        raise DataError(f"--protocol {chosen_protocol.name} needs {min(wanted, len(train.x)):,} images, and {samples} "
                        f"holds {len(fake):,}: generate more")
    result = Evaluation(str(samples), None, None, count, seed, None, dataset=spec.name)
    if count < wanted and n is not None:
        limit = (f"{samples} holds {len(fake):,} images" if len(fake) == count
                 else f"the training split holds {len(train.x):,} images (the floor's side)")
        result.notes.append(f"{limit}: N = {count:,}, not the {wanted:,} asked for")
    return _score(registry, result, fake[:count], None, train, val, chosen, chosen_protocol)


def _protocol(name: Optional[str]) -> Optional[Protocol]:
    if name is None:
        return None
    if name not in PROTOCOLS:
        raise ConfigError(f"unknown protocol {name!r}: known: {', '.join(PROTOCOLS)}")
    return PROTOCOLS[name]


def render(result: Evaluation) -> str:
    """The scores as a table: one row per number, the floor beside it, the primary number of each metric marked."""
    where = (f"checkpoint '{result.checkpoint}' at step {result.step}" if result.checkpoint is not None
             else f"samples scored against {result.dataset!r}")
    lines = [f"{result.run}: {where}, {result.n:,} samples, seed {result.seed}"]
    if result.held_out:
        lines.append(f"compared with {result.held_out}")
    if result.resolution:
        lines.append(f"the generator had grown to {result.resolution}x{result.resolution}; its images are enlarged "
                     "(nearest) to the data's size for scoring")
    lines.extend(result.notes)
    width = max([len("metric"), *map(len, result.scores)])
    numbers = max([len("number"), *(len(k) for scores in result.scores.values() for k in scores)])
    lines.append(f"{'metric':<{width}} {'number':<{numbers}} {'generated':>11} {'real floor':>11}")
    for name, scores in result.scores.items():
        key, higher = result.primary[name]
        for number, value in scores.items():
            mark = f" (primary, {'higher' if higher else 'lower'} is better)" if number == key else ""
            floor = result.floors[name].get(number, math.nan)
            lines.append(f"{name:<{width}} {number:<{numbers}} {_fmt(value):>11} {_fmt(floor):>11}{mark}")
    lines.append("real floor: the same metric for real training samples against the held-out data")
    return "\n".join(lines)


def _fmt(value: float) -> str:
    if math.isinf(value) or math.isnan(value):
        return str(value)
    return f"{value:.4g}" if abs(value) < 1000 else f"{value:.1f}"
