"""Resolving a run's configuration: ``TrainConfig`` (``ganzoo.settings``, where each setting is declared) filled from
the base defaults, the architecture's paper defaults, the command line and ``--set KEY=VALUE``, and checked against the
chosen architecture, loss and dataset before anything runs."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

from ganzoo.errors import ConfigError
from ganzoo.registry import Registry
from ganzoo.settings import (
    DEFAULT_ARCH,
    LR_DECAYS,
    PRECISIONS,
    RESUMABLE_FIELDS,
    TRAINING_KEYS,
    TrainConfig,
    augment_policies,
    check_ranges,
)
from ganzoo.specs import DATA_KINDS, Architecture, DataRequest, Dataset, Loss, Metric, Penalty

__all__ = ["TrainConfig", "Resolved", "resolve_config", "resolve_resume", "resolve_run", "parse_set_items",
           "config_from_json", "data_request", "DEFAULT_ARCH", "LR_DECAYS", "PRECISIONS", "RESUMABLE_FIELDS",
           "ResumeChangeError"]


def data_request(config: TrainConfig, split: str = "train") -> DataRequest:
    """What the run of ``config`` asks of its dataset, for the ``split`` given."""
    return DataRequest(data_dir=config.data_dir, image_size=config.image_size, channels=config.channels, seed=config.seed,
                       split=split, options=config.data_options)


@dataclass
class Resolved:
    """A checked config with the specs it names. ``penalty`` is the loss's gradient penalty with the weight this run
    uses (the config's, else the loss's own), or None for a loss without one: decided here, once."""

    config: TrainConfig
    arch: Architecture
    loss: Loss
    dataset: Dataset
    metric: Optional[Metric]
    penalty: Optional[Penalty]
    # kind -> {"name", "package", "version"} of each part: config.json keeps it, so that a run whose plugin is gone
    # names the package to install
    providers: dict[str, dict[str, str]] = dataclasses.field(default_factory=dict)
    # what the trainer decided for this machine (``--precision auto``'s choice), said at the start and kept in config.json
    notes: list[str] = dataclasses.field(default_factory=list)


def _coerce(key: str, raw: str, default: Any) -> Any:
    """Parse ``raw`` as the type of ``default`` (bool, int, float, str, tuple of floats); with no default, as JSON or
    else the plain string."""
    try:
        if isinstance(default, bool):
            lowered = raw.strip().lower()
            if lowered not in ("true", "false", "1", "0", "yes", "no", "on", "off"):
                raise ValueError(raw)
            return lowered in ("true", "1", "yes", "on")
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
        if isinstance(default, tuple):
            return tuple(float(v) for v in raw.split(","))
        if isinstance(default, str):
            return raw
        if default is None:  # no default to type by (data options): JSON where it parses, the plain string otherwise
            try:
                return json.loads(raw)
            except json.JSONDecodeError:
                return raw
        return json.loads(raw)
    except (ValueError, json.JSONDecodeError):
        kinds = {bool: "true or false", int: "an integer", float: "a number", tuple: "comma-separated numbers"}
        kind = kinds.get(type(default), "a JSON value")
        default_text = f" (its default is {default!r})" if default is not None else ""
        raise ConfigError(f"--set {key}={raw!r}: expected {kind}{default_text}") from None


def parse_set_items(items: Sequence[str], hparam_defaults: Mapping[str, Any]) -> tuple[dict, dict, dict]:
    """Split ``KEY=VALUE`` items into (architecture hyper-parameters, data options, trainer fields)."""
    fields = {f.name: f for f in dataclasses.fields(TrainConfig)}
    base = TrainConfig()
    hparams, data_options, trainer = {}, {}, {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--set {item!r} must look like KEY=VALUE, e.g. --set hidden=256")
        if key.startswith("data."):
            data_options[key[5:]] = _coerce(key, raw, None)
        elif key in hparam_defaults:
            hparams[key] = _coerce(key, raw, hparam_defaults[key])
        elif key in fields and key not in ("hparams", "data_options"):
            trainer[key] = _coerce(key, raw, getattr(base, key))
        else:
            known = ", ".join(sorted(hparam_defaults)) or "none"
            raise ConfigError(f"--set {key}: not a setting of this architecture (its settings: {known}; "
                              f"data options go as data.KEY; trainer options as their flag names)")
    return hparams, data_options, trainer


def resolve_config(registry: Registry, options: Mapping[str, Any], set_items: Sequence[str] = ()) -> Resolved:
    """Build the full, explicit config of a new run and check that its parts fit together.

    Args:
        registry: where architecture, loss, dataset and metric names are looked up.
        options: command-line values; None means "not given".
        set_items: ``KEY=VALUE`` strings for hyper-parameters, data options (``data.KEY``) or trainer fields.
    """
    for key, kind in (("arch", "arch"), ("loss", "loss"), ("dataset", "dataset"), ("val_metric", "metric")):
        value = options.get(key)
        if value is not None and not str(value).strip():
            raise ConfigError(f"--{key.replace('_', '-')} is empty: name one (see 'ganzoo list --kind {kind}'), "
                              "or leave the option out for the default")
    arch: Architecture = registry.get("arch", options.get("arch") or DEFAULT_ARCH)
    hparams, data_options, trainer_sets = parse_set_items(set_items, arch.hyperparameters)
    explicit = {**trainer_sets, **{k: v for k, v in options.items() if v is not None}}
    # the loss and dataset are named once, here: what the user gave, else the architecture's defaults
    loss_name = explicit.pop("loss", "") or default_name(registry, "loss", arch.default_loss, arch)
    dataset_name = registry.current_name("dataset", explicit.pop("dataset", "")
                                         or default_name(registry, "dataset", arch.default_dataset, arch))
    config = TrainConfig(arch=arch.name, loss=loss_name, dataset=dataset_name)
    for_dataset = dataset_defaults(arch, dataset_name)
    dataset_hparams = {k: v for k, v in for_dataset.items() if k in arch.hyperparameters}
    trainer_defaults = {**training_defaults(arch, registry.get("dataset", dataset_name).kind),
                        **{k: v for k, v in for_dataset.items() if k not in dataset_hparams}}
    for key, value in trainer_defaults.items():
        if not hasattr(config, key):
            raise ConfigError(f"architecture {arch.name!r} sets unknown trainer option {key!r}")
        setattr(config, key, tuple(value) if key == "betas" else value)
    for key, value in explicit.items():
        setattr(config, key, tuple(value) if key == "betas" else value)
    if "penalty_weight" not in explicit and registry.get("loss", loss_name).penalty is None:
        config.penalty_weight = None  # the architecture's lambda is for its default loss, not for a penalty-free one
    config.arch = arch.name
    config.hparams = {**arch.hyperparameters, **dataset_hparams, **config.hparams, **hparams}
    config.data_options = {**config.data_options, **data_options}
    return _check(registry, config, arch)


def default_name(registry: Registry, kind: str, name: str, arch: Architecture) -> str:
    """An architecture's default loss or dataset, qualified when a plugin registers the same bare name: the
    architecture's own package's, else ganzoo's. A default the user never typed must not fail on another package's
    clash (a plugin's dataset named 'ring' would otherwise break a bare `ganzoo train`)."""
    providers = {e.package for e in registry.entries(kind) if e.name == name}
    if ":" in name or len(providers) <= 1:
        return name
    own = next((e.package for e in registry.entries("arch") if e.spec is arch), None)
    for package in (own, "ganzoo"):
        if package in providers:
            return f"{package}:{name}"
    return name  # still ambiguous: the lookup names every provider


def dataset_defaults(arch: Architecture, dataset_name: str) -> dict[str, Any]:
    """The architecture's settings for this dataset (``Architecture.dataset_defaults``), by its qualified name or, when
    the spec names it bare, by its bare name."""
    bare = dataset_name.rpartition(":")[2]
    return dict(arch.dataset_defaults.get(dataset_name, arch.dataset_defaults.get(bare, {})))


def training_defaults(arch: Architecture, data_kind: str) -> dict[str, Any]:
    """The architecture's trainer defaults, with its per-data-kind overrides (``training["points"]``, ...) applied."""
    flat = {k: v for k, v in arch.training.items() if k not in DATA_KINDS}
    return {**flat, **arch.training.get(data_kind, {})}


def effective_training_defaults(registry: Registry, arch: Architecture, data_kind: str) -> dict[str, Any]:
    """What a run of ``arch`` on data of ``data_kind`` uses for each setting an architecture may set
    (``TRAINING_KEYS``) when no flag is given: ganzoo's default, the architecture's, then its per-kind override; the
    penalty's weight is its default loss's when the architecture leaves it. For ``ganzoo list`` and ``--help``."""
    base = TrainConfig()
    values = {key: getattr(base, key) for key in TRAINING_KEYS}
    values.update(training_defaults(arch, data_kind))
    loss = registry.get("loss", default_name(registry, "loss", arch.default_loss, arch))
    penalty = effective_penalty(loss, values.get("penalty_weight"))
    values["penalty_weight"] = penalty.weight if penalty is not None else None
    return {key: values[key] for key in TRAINING_KEYS if values[key] is not None}


def effective_penalty(loss: Loss, weight: Optional[float]) -> Optional[Penalty]:
    """The penalty a run of ``loss`` applies: the loss's own, with ``weight`` where one is given."""
    if loss.penalty is None or weight is None:
        return loss.penalty
    return dataclasses.replace(loss.penalty, weight=weight)


def _check(registry: Registry, config: TrainConfig, arch: Architecture) -> Resolved:
    loss: Loss = registry.get("loss", config.loss)
    dataset: Dataset = registry.get("dataset", config.dataset)
    config.loss, config.dataset = loss.name, dataset.name  # drop any package: qualifier once resolved

    check_ranges(config)  # each setting against its own range (ganzoo.settings); below, the rules between parts
    if config.label_smoothing and not loss.label_smoothing:
        raise ConfigError(f"--label-smoothing has no meaning for loss {loss.name!r}: it applies to 'bce'")
    if config.penalty_weight is not None and loss.penalty is None:
        raise ConfigError(f"--penalty-weight needs a loss with a gradient penalty (e.g. wgan_gp), not {loss.name!r}")
    if config.mode_seeking and config.batch_size % 2:
        raise ConfigError(f"--mode-seeking compares pairs of samples, and --batch-size {config.batch_size} is odd: give "
                          "an even batch size, e.g. --batch-size 64")
    if config.penalty_every > 1 and loss.penalty is None:
        raise ConfigError(f"--penalty-every needs a loss with a gradient penalty (e.g. wgan_gp), not {loss.name!r}")

    missing = sorted(loss.requires - arch.capabilities)
    if missing:
        hint = ("a critic Lipschitz by construction (e.g. spectral normalisation); use --loss wgan_gp for a penalty instead"
                if "lipschitz" in missing else "a discriminator without BatchNorm (per-sample outputs); try --arch wgan_gp")
        raise ConfigError(f"loss {loss.name!r} does not fit architecture {arch.name!r}: it needs {hint}")
    if dataset.kind != "any" and dataset.kind not in arch.data_kinds:
        raise ConfigError(f"architecture {arch.name!r} models {' or '.join(arch.data_kinds)}, but dataset "
                          f"{dataset.name!r} holds {dataset.kind}: pick an image dataset such as --dataset digits")
    if augment_policies(config.augment) and dataset.kind == "points":
        raise ConfigError(f"--augment transforms images, and dataset {dataset.name!r} holds points: drop it")
    if config.conditional and not (arch.conditional and dataset.has_labels):
        what = f"architecture {arch.name!r}" if not arch.conditional else f"dataset {dataset.name!r} (it has no labels)"
        raise ConfigError(f"--conditional is not supported by {what}")
    if config.class_loss and not config.conditional:
        raise ConfigError("--class-loss trains D to name the classes of a conditional run: add --conditional, or drop it")
    if config.twin_classifier and not config.class_loss:
        raise ConfigError("--twin-classifier is a second class head beside --class-loss's: add --class-loss W, e.g. 1")

    metric = None
    if config.val_every:
        config.val_metric = config.val_metric or dataset.metric or "swd"  # the dataset's own, by its spec not its name
        metric = registry.get("metric", config.val_metric)
        config.val_metric = metric.name
    parts = {"arch": arch, "loss": loss, "dataset": dataset, **({"metric": metric} if metric is not None else {})}
    providers = {kind: _provider(registry, kind, spec) for kind, spec in parts.items()}
    return Resolved(config, arch, loss, dataset, metric, effective_penalty(loss, config.penalty_weight), providers)


def _provider(registry: Registry, kind: str, spec: Any) -> dict[str, str]:
    entry = registry.entry_of(kind, spec)
    return {"name": entry.name, "package": entry.package, "version": entry.version}


def config_from_json(data: Mapping[str, Any]) -> TrainConfig:
    """Rebuild a saved config; unknown keys (from a newer ganzoo) are an error rather than silently dropped."""
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"saved config has unknown settings {unknown}: it was written by a newer ganzoo")
    values = dict(data)
    if "betas" in values:
        values["betas"] = tuple(values["betas"])
    return TrainConfig(**values)


class ResumeChangeError(ConfigError):
    """An option given with --resume would change what the run computes."""


def resolve_resume(registry: Registry, run_dir: Any, options: Mapping[str, Any], set_items: Sequence[str] = ()) -> Resolved:
    """The saved config of the run in ``run_dir`` with the command line's resumable options applied (``--steps``, the
    cadences, ...); any other option that differs from the saved value is refused."""
    from ganzoo.train.run import check_installed, read_run_config  # torch-free config: the CLI reads it for --help

    saved = read_run_config(run_dir)
    check_installed(registry, saved, run_dir)
    config = config_from_json(saved["config"])
    if set_items:
        raise ResumeChangeError("--set cannot change a run being resumed; start a new run to change its settings")
    for key, value in options.items():
        if value is None:
            continue
        if key in RESUMABLE_FIELDS:
            setattr(config, key, value)
        elif value != getattr(config, key):
            flag = "--" + key.replace("_", "-")
            raise ResumeChangeError(f"{run_dir} was trained with {key} {getattr(config, key)!r}; {flag} {value!r} "
                                    "cannot change it when resuming")
    return check_saved(registry, config)


def resolve_run(registry: Registry, resume: Optional[Any], options: Mapping[str, Any],
                set_items: Sequence[str] = ()) -> Resolved:
    """What ``ganzoo train`` (and ``ganzoo.api.train``) will run: the run in ``resume`` continued with the resumable
    ``options`` (``resolve_resume``), or a new run from ``options`` and ``--set`` items (``resolve_config``)."""
    if resume is not None:
        return resolve_resume(registry, resume, options, set_items)
    return resolve_config(registry, options, set_items)


def check_saved(registry: Registry, config: TrainConfig) -> Resolved:
    """Resolve a saved config against the installed plugins (its architecture, loss and dataset must still exist)."""
    arch = registry.get("arch", config.arch)
    return _check(registry, config, arch)
