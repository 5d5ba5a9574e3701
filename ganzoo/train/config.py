"""Training configuration: one typed dataclass, resolved from the base defaults, the architecture's paper defaults, the
command line and ``--set KEY=VALUE``; checked against the chosen architecture, loss and dataset before anything runs."""

from __future__ import annotations

import dataclasses
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

from ganzoo.errors import ConfigError
from ganzoo.registry import Registry
from ganzoo.specs import DATA_KINDS, TRAINING_KEYS, Architecture, DataRequest, Dataset, Loss, Metric

__all__ = ["TrainConfig", "Resolved", "resolve_config", "resolve_resume", "parse_set_items", "config_from_json",
           "DEFAULT_ARCH", "ResumeChangeError"]

DEFAULT_ARCH = "wgan_gp"
LR_DECAYS = ("none", "linear")  # linear: both learning rates fall to 0 at the run's last step
PRECISIONS = ("fp32", "bf16", "fp16")  # bf16 / fp16: autocast for the networks; losses and the penalty stay float32


@dataclass
class TrainConfig:
    """Everything that defines a run. ``steps`` counts generator updates; each is preceded by ``n_critic`` critic updates.

    Empty ``loss`` / ``dataset`` / ``val_metric`` mean "the architecture's (or dataset's) default"; ``resolve_config``
    fills them in, so a saved config is always explicit.
    """

    arch: str = DEFAULT_ARCH
    loss: str = ""
    dataset: str = ""
    data_dir: Optional[str] = None
    image_size: Optional[int] = None
    channels: Optional[int] = None
    conditional: bool = False
    steps: int = 2000
    batch_size: int = 64
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    n_critic: int = 1
    seed: int = 0
    device: str = "auto"
    ema: float = 0.999
    label_smoothing: float = 0.0
    penalty_weight: Optional[float] = None
    penalty_every: int = 1
    grad_clip: float = 0.0
    lr_decay: str = "none"
    precision: str = "fp32"
    fused: bool = True
    log_every: int = 50
    sample_every: int = 500
    checkpoint_every: int = 500
    val_every: int = 500
    val_metric: str = ""
    val_samples: int = 2500
    early_stop_patience: int = 0
    # Non-finite guard (fp32 / bf16; fp16 has its loss scaler): checked every N steps and before anything is written.
    nonfinite_check_every: int = 10
    nonfinite_patience: int = 3   # bad windows in a row that are skipped before a rollback with half the learning rate
    max_rollbacks: int = 3        # rollbacks before the run stops as diverged
    hparams: dict[str, Any] = field(default_factory=dict)
    data_options: dict[str, Any] = field(default_factory=dict)

    def data_request(self, split: str = "train") -> DataRequest:
        """What this run asks of its dataset, for the ``split`` given."""
        return DataRequest(data_dir=self.data_dir, image_size=self.image_size, channels=self.channels, seed=self.seed,
                           split=split, options=self.data_options)

    def to_json(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["betas"] = list(self.betas)
        return out


# Settings that may change when a run is resumed without changing what it computes.
# batch_size: the batch per process, which a run resumed on another number of processes may change to keep its global batch
RESUMABLE_FIELDS = ("steps", "device", "fused", "log_every", "sample_every", "checkpoint_every", "val_every", "val_samples",
                    "early_stop_patience", "batch_size")


@dataclass
class Resolved:
    config: TrainConfig
    arch: Architecture
    loss: Loss
    dataset: Dataset
    metric: Optional[Metric]


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
        kind = type(default).__name__ if default is not None else "JSON value"
        raise ConfigError(f"--set {key}={raw!r}: expected a {kind}") from None


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
    config = TrainConfig(arch=arch.name)
    dataset_name = options.get("dataset") or default_name(registry, "dataset", arch.default_dataset, arch)
    kind = registry.get("dataset", dataset_name).kind
    for_dataset = dataset_defaults(arch, dataset_name)
    dataset_hparams = {k: v for k, v in for_dataset.items() if k in arch.hyperparameters}
    trainer_defaults = {**training_defaults(arch, kind),
                        **{k: v for k, v in for_dataset.items() if k not in dataset_hparams}}
    for key, value in trainer_defaults.items():
        if not hasattr(config, key):
            raise ConfigError(f"architecture {arch.name!r} sets unknown trainer option {key!r}")
        setattr(config, key, tuple(value) if key == "betas" else value)
    hparams, data_options, trainer_sets = parse_set_items(set_items, arch.hyperparameters)
    explicit = {**trainer_sets, **{k: v for k, v in options.items() if v is not None}}
    for key, value in explicit.items():
        setattr(config, key, tuple(value) if key == "betas" else value)
    default_loss = default_name(registry, "loss", arch.default_loss, arch)
    if "penalty_weight" not in explicit and registry.get("loss", config.loss or default_loss).penalty is None:
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
    settings = {key: getattr(base, key) for key in TRAINING_KEYS}
    settings.update(training_defaults(arch, data_kind))
    if settings.get("penalty_weight") is None:
        loss = registry.get("loss", default_name(registry, "loss", arch.default_loss, arch))
        settings["penalty_weight"] = loss.penalty.weight if loss.penalty is not None else None
    return {key: settings[key] for key in TRAINING_KEYS if settings[key] is not None}


def _check(registry: Registry, config: TrainConfig, arch: Architecture) -> Resolved:
    config.loss = config.loss or default_name(registry, "loss", arch.default_loss, arch)
    config.dataset = config.dataset or default_name(registry, "dataset", arch.default_dataset, arch)
    loss: Loss = registry.get("loss", config.loss)
    dataset: Dataset = registry.get("dataset", config.dataset)
    config.loss, config.dataset = loss.name, dataset.name  # drop any package: qualifier once resolved

    for name in ("steps", "batch_size", "n_critic", "val_samples", "penalty_every"):
        if getattr(config, name) < 1:
            raise ConfigError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(config, name)}")
    if config.nonfinite_patience < 1:
        raise ConfigError(f"--set nonfinite_patience={config.nonfinite_patience} must be at least 1")
    for name in ("nonfinite_check_every", "max_rollbacks"):
        if getattr(config, name) < 0:
            raise ConfigError(f"--set {name}={getattr(config, name)} must be 0 or positive")
    for name in ("log_every", "sample_every", "checkpoint_every", "val_every", "early_stop_patience"):
        if getattr(config, name) < 0:
            raise ConfigError(f"--{name.replace('_', '-')} must be 0 (off) or positive, got {getattr(config, name)}")
    for name in ("lr_g", "lr_d"):
        if not 0 < getattr(config, name) < math.inf:
            raise ConfigError(f"--{name.replace('_', '-')} must be a positive finite number, got {getattr(config, name)}")
    if len(config.betas) != 2 or not all(0 <= b < 1 for b in config.betas):
        raise ConfigError(f"betas {config.betas} must be two numbers in [0, 1), e.g. --set betas=0.5,0.999")
    if not 0 <= config.ema < 1:
        raise ConfigError(f"--ema {config.ema} must be in [0, 1): 0 turns the generator average off, 0.999 is typical")
    if not 0 <= config.label_smoothing < 0.5:
        raise ConfigError(f"--label-smoothing {config.label_smoothing} must be in [0, 0.5), e.g. 0.1")
    if config.label_smoothing and not loss.label_smoothing:
        raise ConfigError(f"--label-smoothing has no meaning for loss {loss.name!r}: it applies to 'bce'")
    if config.penalty_weight is not None and (loss.penalty is None or not 0 <= config.penalty_weight < math.inf):
        raise ConfigError(f"--penalty-weight needs a loss with a gradient penalty (e.g. wgan_gp) and a value >= 0, "
                          f"got loss {loss.name!r} and {config.penalty_weight}")
    if config.penalty_every > 1 and loss.penalty is None:
        raise ConfigError(f"--penalty-every needs a loss with a gradient penalty (e.g. wgan_gp), not {loss.name!r}")
    if config.precision not in PRECISIONS:
        raise ConfigError(f"--precision {config.precision!r} must be one of {', '.join(PRECISIONS)}")
    if config.lr_decay not in LR_DECAYS:
        raise ConfigError(f"--lr-decay {config.lr_decay!r} must be one of {', '.join(LR_DECAYS)}")
    if not 0 <= config.grad_clip < math.inf:
        raise ConfigError(f"--grad-clip {config.grad_clip} must be 0 (off) or a positive finite number")
    if config.device not in ("auto", "cpu", "cuda") and not re.fullmatch(r"cuda:\d+", config.device):
        raise ConfigError(f"--device {config.device!r} must be auto, cpu, cuda or cuda:N")
    if config.channels not in (None, 1, 3):
        raise ConfigError(f"--channels {config.channels} must be 1 or 3")

    missing = sorted(loss.requires - arch.capabilities)
    if missing:
        hint = ("a critic Lipschitz by construction (e.g. spectral normalisation); use --loss wgan_gp for a penalty instead"
                if "lipschitz" in missing else "a discriminator without BatchNorm (per-sample outputs); try --arch wgan_gp")
        raise ConfigError(f"loss {loss.name!r} does not fit architecture {arch.name!r}: it needs {hint}")
    if dataset.kind != "any" and dataset.kind not in arch.data_kinds:
        raise ConfigError(f"architecture {arch.name!r} models {' or '.join(arch.data_kinds)}, but dataset "
                          f"{dataset.name!r} holds {dataset.kind}: pick an image dataset such as --dataset digits")
    if config.conditional and not (arch.conditional and dataset.has_labels):
        what = f"architecture {arch.name!r}" if not arch.conditional else f"dataset {dataset.name!r} (it has no labels)"
        raise ConfigError(f"--conditional is not supported by {what}")

    metric = None
    if config.val_every:
        config.val_metric = config.val_metric or dataset.metric or "swd"  # the dataset's own, by its spec not its name
        metric = registry.get("metric", config.val_metric)
        config.val_metric = metric.name
    return Resolved(config, arch, loss, dataset, metric)


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
    """An option given with --resume would change what the run computes (a usage error: exit 2)."""


def resolve_resume(registry: Registry, run_dir: Any, options: Mapping[str, Any], set_items: Sequence[str] = ()) -> Resolved:
    """The saved config of the run in ``run_dir`` with the command line's resumable options applied (``--steps``, the
    cadences, ...); any other option that differs from the saved value is refused."""
    from ganzoo.train.run import read_run_config  # torch-free config: the CLI reads its defaults for --help

    config = config_from_json(read_run_config(run_dir)["config"])
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
