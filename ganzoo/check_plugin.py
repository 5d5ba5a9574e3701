"""``ganzoo check-plugin DIST``: what a plugin author runs before publishing.

It loads ganzoo's built-ins and that one distribution (no other plugin), then checks, one line each:

- each entry point's import, timed in a fresh interpreter, and whether it pulls in torch (``ganzoo list`` pays that);
- the API version, the ``register_*`` hook names and the hooks themselves (the plugin loader's own checks);
- every ``ganzoo.lazy`` target of every spec, resolved now instead of mid-training (of a plugin the loader rejects, too:
  its well-formed hooks are called directly, so one pass reports every problem);
- each architecture: one training step on each data kind it claims (``ring`` for points, ``digits`` 16x16 for
  images), conditional too when it says it can be, which builds the networks and checks their shapes on the way;
- each loss: one training step on an architecture that meets its ``requires`` (the plugin's own first, else a
  built-in);
- each dataset: both splits loaded and checked (types, shapes, labels, the value range it declares, its metric);
- each metric: scored on a small held-out batch of each data kind it claims against a noisy copy, its primary key and
  finite values checked.

The verdict of each line is ``ok``, ``warn`` (works, but should be fixed), ``skip`` (cannot be checked here, with the
reason: data that is not on this machine, an entry whose lazy target does not resolve, a plugin that does not load) or
``FAIL``; the command exits 1 when any line fails.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import tempfile
import warnings
from dataclasses import asdict, dataclass, fields, is_dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Optional

from ganzoo import hookspecs
from ganzoo.errors import ConfigError
from ganzoo.plugins import BUILTIN_PACKAGE, _entry_points, _normalise, load_plugins, one_line
from ganzoo.registry import KIND_TITLES, Entry, Registry, build_registry

__all__ = ["Check", "check_plugin", "lazy_problems", "render", "to_json"]

# built-in data a check trains or scores on, by data kind
_DATA = {"points": ("ganzoo:ring", {}), "images": ("ganzoo:digits", {"image_size": 16})}
# built-in architectures a plugin loss is tried on when the plugin has none that fits, in this order
_LOSS_HOSTS = ("ganzoo:vanilla", "ganzoo:wgan_gp", "ganzoo:dcgan")
SLOW_IMPORT_S = 1.0


@dataclass(frozen=True)
class Check:
    verdict: str  # "ok", "warn", "skip" or "FAIL"
    what: str
    detail: str = ""


def check_plugin(dist: str, *, device: str = "cpu", data_dir: Optional[str] = None) -> list[Check]:
    """Every check of distribution ``dist`` (see the module docstring), in order.

    Raises:
        ConfigError: no installed distribution of that name provides a ganzoo plugin.
    """
    wanted = _normalise(dist)
    points = [ep for ep in _entry_points() if ep.dist is not None and _normalise(ep.dist.name) == wanted]
    if not points:
        installed = sorted({ep.dist.name for ep in _entry_points() if ep.dist is not None
                            and _normalise(ep.dist.name) != BUILTIN_PACKAGE})
        raise ConfigError(f"no installed distribution named {dist!r} provides a ganzoo plugin (installed plugin "
                          f"distributions: {', '.join(installed) or 'none'}); pip install it first")
    checks = [_import_check(ep) for ep in points]
    registry = build_registry(load_plugins(only=[dist]))
    package = points[0].dist.name
    rejected = any(_normalise(f.package) == wanted for f in registry.failures)
    if rejected:  # everything that can be checked without the plugin loaded, as a compiler gives all its errors at once
        checks += _rejected_plugin_checks(registry, package, points)
        return checks + [Check("skip", "training, data and metric checks",
                               f"ganzoo cannot train with {package} until it loads: fix the load failures above")]
    checks += _loading_checks(registry, package)
    mine = [e for e in registry.entries() if _normalise(e.package) == wanted]
    unresolved = set()
    for entry in mine:
        for name, target in _lazy_targets(entry.spec):
            checks.append(_lazy_check(KIND_TITLES[entry.kind], entry.name, name, target))
            if checks[-1].verdict == "FAIL":
                unresolved.add((entry.kind, entry.name))
    for entry in mine:
        if (entry.kind, entry.name) in unresolved:
            checks.append(Check("skip", f"{KIND_TITLES[entry.kind]} {entry.name!r}: training, data and metric checks",
                                "a lazy target above does not resolve: fix it first"))
        else:
            checks += list(_ENTRY_CHECKS[entry.kind](registry, entry, device, data_dir))
    return checks


def render(checks: list[Check], dist: str) -> str:
    lines = [f"{c.verdict:<5} {c.what}" + (f": {c.detail}" if c.detail else "") for c in checks]
    counts = {v: sum(c.verdict == v for c in checks) for v in ("ok", "warn", "skip", "FAIL")}
    summary = ", ".join(f"{n} {v}" for v, n in counts.items() if n)
    verdict = "fails" if counts["FAIL"] else "passes"
    return "\n".join(lines + [f"{dist} {verdict} check-plugin ({summary})"])


def to_json(checks: list[Check]) -> list[dict[str, str]]:
    return [asdict(c) for c in checks]


# --------------------------------------------------------------------------------------------------- loading checks
_IMPORT_PROBE = """
import json, sys, time
started = time.perf_counter()
import ganzoo
ganzoo_s = time.perf_counter() - started
import importlib
importlib.import_module(sys.argv[1])
print(json.dumps({"seconds": time.perf_counter() - started - ganzoo_s, "torch": "torch" in sys.modules}))
"""


def _import_check(ep: metadata.EntryPoint) -> Check:
    """The entry point's module imported in a fresh interpreter (after ganzoo itself), timed, torch noticed."""
    what = f"import {ep.value} (entry point {ep.name!r})"
    module = ep.value.partition(":")[0]
    done = subprocess.run([sys.executable, "-c", _IMPORT_PROBE, module], capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return Check("FAIL", what, last)
    probe = json.loads(done.stdout.strip().splitlines()[-1])
    seconds = f"{probe['seconds']:.2f} s"
    if probe["torch"]:
        return Check("warn", what, f"{seconds}, imports torch, which every 'ganzoo list' then pays: import it inside "
                                   "the functions a spec calls (ganzoo.lazy)")
    if probe["seconds"] > SLOW_IMPORT_S:
        return Check("warn", what, f"{seconds} (every 'ganzoo list' pays it): import heavy modules lazily")
    return Check("ok", what, seconds)


def _loading_checks(registry: Registry, package: str) -> list[Check]:
    """API version, hook names and the hooks' registrations: the loader's own verdicts, for this package."""
    failures = [f for f in registry.failures if _normalise(f.package) == _normalise(package)]
    checks = [Check("FAIL", f"load {f.where}", f.error) for f in failures]
    mine = [e for e in registry.entries() if _normalise(e.package) == _normalise(package)]
    if not failures:
        by_kind: dict[str, list[str]] = {}
        for e in mine:
            by_kind.setdefault(KIND_TITLES[e.kind], []).append(e.name)
        listed = "; ".join(f"{kind}: {', '.join(names)}" for kind, names in by_kind.items()) or "nothing"
        verdict = "ok" if mine else "warn"
        checks.append(Check(verdict, f"API version {hookspecs.API_VERSION}, hook names, registration", listed))
    for entry in mine:
        shadowed = [e for e in registry.entries(entry.kind) if e.name == entry.name and e.package != entry.package]
        if shadowed:
            checks.append(Check("warn", f"{KIND_TITLES[entry.kind]} {entry.name!r}",
                                f"ganzoo also provides it, so users must write {entry.qualified_name!r}: "
                                "consider another name"))
    return checks


def _rejected_plugin_checks(registry: Registry, package: str, points: list[metadata.EntryPoint]) -> list[Check]:
    """A plugin the loader rejected: each of its problems on a line of its own (the loader stops at the first kind of
    problem and joins the rest), then the lazy targets of its hooks that are well formed, called here directly."""
    from ganzoo.errors import PluginError
    from ganzoo.plugins import check_api_version, hook_name_problems

    checks: list[Check] = []
    for ep in points:
        where = f"load {ep.name} = {ep.value}"
        try:
            plugin = ep.load()
        except Exception:  # its import check above already says why
            continue
        try:
            check_api_version(getattr(plugin, "GANZOO_API_VERSION", hookspecs.API_VERSION), package)
        except PluginError as exc:
            checks.append(Check("FAIL", where, str(exc)))
            continue  # hooks written for another contract cannot be called as this one's
        checks += [Check("FAIL", where, problem) for problem in hook_name_problems(plugin)]
        for hook_name, kind in hookspecs.HOOK_KINDS.items():
            hook = getattr(plugin, hook_name, None)
            if not callable(hook) or not hasattr(hook, f"{hookspecs.PROJECT}_impl"):
                continue  # absent, or named above as not marked
            collected: list[Any] = []
            try:
                hook(register=collected.append)
            except Exception as exc:  # the author's code raised: show what
                checks.append(Check("FAIL", f"{where}: {hook_name}", one_line(exc)))
                continue
            for spec in collected:
                name = getattr(spec, "name", "?")
                if not is_dataclass(spec):
                    checks.append(Check("FAIL", f"{where}: {hook_name}", f"registered a {type(spec).__name__}, "
                                                                         "not a ganzoo spec"))
                    continue
                checks += [_lazy_check(KIND_TITLES[kind], name, field_name, target)
                           for field_name, target in _lazy_targets(spec)]
    if not any(c.verdict == "FAIL" for c in checks):  # a problem found only once the hooks ran (a duplicate name, ...)
        checks = [Check("FAIL", f"load {f.where}", f.error) for f in registry.failures
                  if _normalise(f.package) == _normalise(package)] + checks
    return checks


def _lazy_targets(spec: Any) -> Iterator[tuple[str, str]]:
    for f in fields(spec):
        target = getattr(getattr(spec, f.name), "lazy_target", None)
        if target is not None:
            yield f.name, target
    penalty = getattr(spec, "penalty", None)
    if penalty is not None:
        yield from ((f"penalty.{name}", target) for name, target in _lazy_targets(penalty))


def _unresolved(target: str) -> str:
    """Why ``ganzoo.lazy(target)`` does not resolve (one line), or "" when it does."""
    from ganzoo.specs import resolve_lazy

    try:
        resolve_lazy(target)
    except Exception as exc:  # any import-time error of the target is the author's to see
        return one_line(exc).removeprefix("PluginError: ")
    return ""


def lazy_problems(specs: Iterable[Any]) -> list[str]:
    """Every ``ganzoo.lazy`` target of ``specs`` (e.g. ``registry.entries()`` or spec objects) that does not resolve,
    one line each; empty when all do. For a plugin's in-memory test: building a registry does not import the targets
    (``ganzoo list`` must stay light), so a misspelled one would otherwise surface only when training reaches it."""
    problems = []
    for item in specs:
        spec = item.spec if isinstance(item, Entry) else item
        problems += [f"{spec.name}.{field_name}: {why}" for field_name, target in _lazy_targets(spec)
                     if (why := _unresolved(target))]
    return problems


def _lazy_check(kind_title: str, name: str, field_name: str, target: str) -> Check:
    what = f"{kind_title} {name!r}: {field_name} = lazy({target!r})"
    why = _unresolved(target)
    return Check("FAIL", what, why) if why else Check("ok", what, "resolves")


# ----------------------------------------------------------------------------------------------------- entry checks
def _train_one_step(registry: Registry, what: str, options: dict[str, Any], device: str) -> Check:
    from ganzoo.train import train
    from ganzoo.train.config import resolve_config

    base = {"steps": 1, "batch_size": 16, "n_critic": 1, "val_every": 0, "sample_every": 0, "log_every": 1,
            "device": device}
    try:
        resolved = resolve_config(registry, {**base, **options})
        with tempfile.TemporaryDirectory(prefix="ganzoo-check-") as tmp, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # one step of a long schedule and the like: not the plugin's fault
            result = train(resolved, Path(tmp) / "run")
    except Exception as exc:  # the author's code raised: show what
        return Check("FAIL", what, one_line(exc))
    losses = {k: v for k, v in result.last.items() if k.endswith("_loss")}
    if result.status != "finished" or not losses or not all(math.isfinite(float(v)) for v in losses.values()):
        return Check("FAIL", what, f"status {result.status}, losses {losses}")
    return Check("ok", what, ", ".join(f"{k} {float(v):.4g}" for k, v in sorted(losses.items())))


def _arch_checks(registry: Registry, entry: Entry, device: str, data_dir: Optional[str]) -> Iterator[Check]:
    spec = entry.spec
    for kind in spec.data_kinds:
        dataset, extra = _DATA[kind]
        what = f"architecture {entry.name!r}: one training step on {dataset.partition(':')[2]} ({kind})"
        yield _train_one_step(registry, what, {"arch": entry.qualified_name, "dataset": dataset, **extra}, device)
        if spec.conditional and kind == "images":
            yield _train_one_step(registry, f"architecture {entry.name!r}: one conditional step on digits",
                                  {"arch": entry.qualified_name, "dataset": dataset, "conditional": True, **extra},
                                  device)


def _loss_checks(registry: Registry, entry: Entry, device: str, data_dir: Optional[str]) -> Iterator[Check]:
    loss = entry.spec
    own = [e.qualified_name for e in registry.entries("arch") if e.package == entry.package]
    for host in (*own, *_LOSS_HOSTS):
        arch = registry.get("arch", host)
        if loss.requires <= arch.capabilities:
            kind = "points" if "points" in arch.data_kinds else "images"
            dataset, extra = _DATA[kind]
            what = f"loss {entry.name!r}: one training step with {arch.name} on {dataset.partition(':')[2]}"
            yield _train_one_step(registry, what, {"arch": host, "loss": entry.qualified_name, "dataset": dataset,
                                                   **extra}, device)
            return
    yield Check("warn", f"loss {entry.name!r}: not trained", f"neither this package nor ganzoo has an architecture "
                f"with the capabilities it requires {sorted(loss.requires)}, so users need another plugin's")


def _dataset_checks(registry: Registry, entry: Entry, device: str, data_dir: Optional[str]) -> Iterator[Check]:
    from ganzoo.data import load_dataset
    from ganzoo.errors import DataMissingError
    from ganzoo.specs import DataRequest
    from ganzoo.train.validation import metric_misfit

    spec = entry.spec
    if spec.needs_data_dir and not data_dir:
        yield Check("skip", f"dataset {entry.name!r}", "it needs files: pass --data-dir DIR to check it")
        return
    loaded = {}
    for split in ("train", "val"):
        what = f"dataset {entry.name!r}: load the {split} split"
        request = DataRequest(data_dir=data_dir, image_size=16 if spec.kind == "images" else None, split=split)
        try:
            data = load_dataset(spec, request)
            problem = _data_problem(spec, data)
        except DataMissingError as exc:
            yield Check("skip", f"dataset {entry.name!r}", f"its data is not on this machine: {exc}")
            return
        except Exception as exc:
            yield Check("FAIL", what, one_line(exc))
            return
        if problem:
            yield Check("FAIL", what, problem)
            return
        loaded[split] = data
        labels = f", {data.info.num_classes} classes" if data.y is not None else ""
        yield Check("ok", what, f"{len(data.x)} samples of shape {tuple(data.info.shape)}{labels}")
    metric_name = spec.metric
    if metric_name:
        what = f"dataset {entry.name!r}: its validation metric {metric_name!r}"
        try:
            metric = registry.get("metric", metric_name)
        except Exception as exc:
            yield Check("FAIL", what, one_line(exc))
            return
        misfit = metric_misfit(metric, loaded["val"].info, loaded["val"].y)
        yield Check("FAIL", what, f"it cannot score this data: {misfit}") if misfit else Check("ok", what, "fits")


def _data_problem(spec: Any, data: Any) -> str:
    """What is wrong with a loaded split beyond what load_dataset checks, or ""."""
    import torch

    info = data.info
    if info.kind != spec.kind:
        return f"info.kind is {info.kind!r} but the spec says {spec.kind!r}"
    if not torch.isfinite(data.x).all():
        return "x holds NaN or infinite values"
    low, high = info.value_range
    outside = float(((data.x < low - 1e-4) | (data.x > high + 1e-4)).float().mean())
    # images must lie in their range; points may have tails (a Gaussian mixture has no bounds) but the scatter plots
    # drawn in value_range would cut off more than a few
    if outside > (0.0 if info.kind == "images" else 0.01):
        return (f"{outside:.1%} of the values lie outside info.value_range {info.value_range} (they span "
                f"[{float(data.x.min()):.4g}, {float(data.x.max()):.4g}])")
    if spec.has_labels != (data.y is not None):
        return f"has_labels is {spec.has_labels} but y is {'set' if data.y is not None else 'None'}"
    if data.y is not None and (int(data.y.min()) < 0 or int(data.y.max()) >= info.num_classes):
        return f"labels span [{int(data.y.min())}, {int(data.y.max())}], outside 0..info.num_classes-1"
    return ""


def _metric_checks(registry: Registry, entry: Entry, device: str, data_dir: Optional[str]) -> Iterator[Check]:
    import torch

    from ganzoo.data import load_dataset
    from ganzoo.errors import DataMissingError
    from ganzoo.specs import DataRequest, MetricInput
    from ganzoo.train.validation import metric_misfit, scores_of

    metric = entry.spec
    for kind in metric.data_kinds:
        dataset, extra = _DATA[kind]
        what = f"metric {entry.name!r}: score {dataset.partition(':')[2]} ({kind}) against a noisy copy"
        spec = registry.get("dataset", dataset)
        train_data = load_dataset(spec, DataRequest(split="train", **extra))
        val = load_dataset(spec, DataRequest(split="val", **extra))
        misfit = metric_misfit(metric, val.info, val.y)
        if misfit:
            yield Check("skip", what, f"it cannot score ganzoo's {spec.name}: {misfit}")
            continue
        n = min(500, len(val.x))
        noise = torch.Generator().manual_seed(0)
        fake = (val.x[:n] + 0.1 * torch.randn(val.x[:n].shape, generator=noise)).clamp(*val.info.value_range)
        labels = val.y[:n] if val.y is not None else None
        inp = MetricInput(fake=fake, real=val.x[:n], info=val.info, train=train_data.x, fake_labels=labels,
                          real_labels=labels, train_labels=train_data.y)
        try:
            scores = scores_of(metric, inp)
        except DataMissingError as exc:
            yield Check("skip", what, f"what it needs is not on this machine: {exc}")
            return
        except Exception as exc:
            yield Check("FAIL", what, one_line(exc).removeprefix("PluginError: "))
            continue
        bad = [k for k, v in scores.items() if not math.isfinite(v)]
        if bad:
            yield Check("FAIL", what, f"non-finite values for {', '.join(bad)}")
            continue
        yield Check("ok", what, f"{metric.primary} {scores[metric.primary]:.4g}")


_ENTRY_CHECKS: dict[str, Callable[[Registry, Entry, str, Optional[str]], Iterator[Check]]] = {
    "arch": _arch_checks, "loss": _loss_checks, "dataset": _dataset_checks, "metric": _metric_checks,
}
