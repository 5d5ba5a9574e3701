"""The trainer's settings: one declaration each, in ``TrainConfig``.

A field of ``TrainConfig`` is a setting. Its ``setting(...)`` says everything else about it: the help text, the range it
must lie in, whether ``--resume`` may change it, whether an architecture's ``training`` may set it (the plugin API's
``TRAINING_KEYS``) and how the command line takes it. The click options of ``ganzoo train``, the range checks,
``RESUMABLE_FIELDS`` and ``TRAINING_KEYS`` are all made from these fields, so a new setting is one field here.

No torch and no plugin contract here: ``ganzoo.specs`` reads ``TRAINING_KEYS`` from this module.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from ganzoo.errors import ConfigError

__all__ = ["TrainConfig", "Setting", "Check", "setting", "settings", "TRAINING_KEYS", "RESUMABLE_FIELDS", "LR_DECAYS",
           "PRECISIONS", "AUGMENTATIONS", "DEFAULT_ARCH", "check_ranges"]

DEFAULT_ARCH = "wgan_gp"
LR_DECAYS = ("none", "linear")  # linear: both learning rates fall to 0 at the run's last step
# bf16 / fp16: autocast for the networks, the losses and the penalty in float32; auto: bf16 for images on a CPU with
# native bf16 (AMX or AVX-512 BF16), fp32 elsewhere (ganzoo.train.models.auto_precision)
PRECISIONS = ("fp32", "bf16", "fp16", "auto")
AUGMENTATIONS = ("color", "translation", "cutout")  # ganzoo.train.augment's policies
NO_AUGMENTATION = "none"  # the default; also turns off an architecture's augmentation ("" is read as none too)


def augment_policies(text: str) -> tuple[str, ...]:
    """``--augment``'s value -> its policies in their order of application (``AUGMENTATIONS``' order); ``"none"`` or
    ``""`` -> none; an unknown name raises ``ValueError``. The one reading of the setting, for its check, the config's
    rules and the training loop."""
    if text.strip() == NO_AUGMENTATION:
        return ()
    names = {p.strip() for p in text.split(",") if p.strip()}
    unknown = sorted(names - set(AUGMENTATIONS))
    if unknown:
        raise ValueError(f"unknown augmentation {', '.join(unknown)}")
    return tuple(p for p in AUGMENTATIONS if p in names)


def _augment_ok(text: str) -> bool:
    try:
        augment_policies(text)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class Check:
    """A range a setting's value must lie in. ``message`` is formatted with ``flag`` (how the user gives the setting:
    ``--steps`` or ``--set betas``) and ``value``."""

    ok: Callable[[Any], bool]
    message: str


AT_LEAST_ONE = Check(lambda v: v >= 1, "{flag} must be at least 1, got {value}")
OFF_OR_POSITIVE = Check(lambda v: v >= 0, "{flag} must be 0 (off) or positive, got {value}")
POSITIVE_FINITE = Check(lambda v: 0 < v < math.inf, "{flag} must be a positive finite number, got {value}")
OFF_OR_POSITIVE_FINITE = Check(lambda v: 0 <= v < math.inf, "{flag} {value} must be 0 (off) or a positive finite number")


def one_of(choices: tuple[str, ...]) -> Check:
    return Check(lambda v: v in choices, "{flag} {value!r} must be one of " + ", ".join(choices))


@dataclass(frozen=True)
class Setting:
    """What ``TrainConfig`` says about one of its fields besides its name, type and default.

    Attributes:
        help: the command line's help text, without the default (added from the field's default or, for a setting the
            architecture decides, a pointer to ``ganzoo list``).
        check: the range the value must lie in; settings that depend on other parts (a loss's penalty) are checked by
            ``ganzoo.train.config`` beside those parts.
        resumable: ``--resume`` may change it, because it does not change what the run computes.
        arch_may_set: an architecture's ``training`` (and ``dataset_defaults``) may set it: part of the plugin API.
        flag: how the command line takes it: ``"--name"`` (from the field's name) unless given, ``"--on/--off"`` for a
            switch, None for a setting given only as ``--set name=value``.
        choices: the allowed values, shown by the command line as a choice.
        path: the value names a file or folder (the command line completes it as one).
        default_text: the default as the help shows it, where the field's default is not what a run uses.
    """

    help: str
    check: Optional[Check] = None
    resumable: bool = False
    arch_may_set: bool = False
    flag: Optional[str] = ""
    choices: tuple[str, ...] = ()
    path: bool = False
    default_text: Optional[str] = None


def setting(default: Any = None, help: str = "", *, factory: Optional[Callable[[], Any]] = None,  # noqa: A002
            **about: Any) -> Any:
    """A ``TrainConfig`` field with its ``Setting`` (see there for ``about``)."""
    meta = {"setting": Setting(help=help, **about)}
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


def _device_ok(value: str) -> bool:
    return value in ("auto", "cpu", "cuda") or re.fullmatch(r"cuda:\d+", value) is not None


def _betas_ok(value: tuple[float, ...]) -> bool:
    return len(value) == 2 and all(0 <= b < 1 for b in value)


@dataclass
class TrainConfig:
    """Everything that defines a run. ``steps`` counts generator updates; each is preceded by ``n_critic`` critic updates.

    Empty ``loss`` / ``dataset`` / ``val_metric`` mean "the architecture's (or dataset's) default"; resolving the config
    (``ganzoo.train.config.resolve_config``) fills them in, so a saved config is always explicit.
    """

    arch: str = setting(DEFAULT_ARCH, "Architecture. See 'ganzoo list --kind arch'.")
    loss: str = setting("", "Loss.", default_text="the architecture's")
    dataset: str = setting("", "Dataset.", default_text="the architecture's: ring for wgan_gp and vanilla, digits for dcgan")
    data_dir: Optional[str] = setting(None, "Folder or file for datasets read from disk.", path=True)
    image_size: Optional[int] = setting(None, "Side of square images, a power of two.")
    channels: Optional[int] = setting(None, "1 (gray) or 3 (RGB).", choices=("1", "3"),
                                      check=Check(lambda v: v in (None, 1, 3), "{flag} {value} must be 1 or 3"))
    conditional: bool = setting(False, "Condition G and D on class labels.", flag="--conditional/--unconditional")
    steps: int = setting(2000, "Total generator steps of the run (also when resuming).", check=AT_LEAST_ONE,
                         resumable=True, arch_may_set=True)
    # the batch per process, which a run resumed on another number of processes may change to keep its global batch
    batch_size: int = setting(64, "Batch size per process.", check=AT_LEAST_ONE, resumable=True, arch_may_set=True)
    lr_g: float = setting(2e-4, "Generator learning rate (TTUR: may differ from --lr-d).", check=POSITIVE_FINITE,
                          arch_may_set=True)
    lr_d: float = setting(2e-4, "Discriminator learning rate.", check=POSITIVE_FINITE, arch_may_set=True)
    betas: tuple[float, float] = setting((0.5, 0.999), "Adam's betas.", arch_may_set=True, flag=None, check=Check(
        _betas_ok, "betas {value} must be two numbers in [0, 1), e.g. --set betas=0.5,0.999"))
    n_critic: int = setting(1, "Critic updates per generator update.", check=AT_LEAST_ONE, arch_may_set=True)
    seed: int = setting(0, "Seed of initialisation, noise and data order.")
    device: str = setting("auto", "auto, cpu, cuda or cuda:N.", resumable=True,
                          check=Check(_device_ok, "{flag} {value!r} must be auto, cpu, cuda or cuda:N"))
    ema: float = setting(0.999, "Generator weight average decay, 0 = off.", arch_may_set=True, check=Check(
        lambda v: 0 <= v < 1, "{flag} {value} must be in [0, 1): 0 turns the generator average off, 0.999 is typical"))
    label_smoothing: float = setting(0.0, "One-sided label smoothing for bce (e.g. 0.1).", arch_may_set=True,
                                     check=Check(lambda v: 0 <= v < 0.5, "{flag} {value} must be in [0, 0.5), e.g. 0.1"))
    mode_seeking: float = setting(0.0, "Mode-seeking regularisation of G (MSGAN, Mao et al. 2019), weighted by this: "
                                  "pairs of samples of one class are pushed apart in proportion to their noise, "
                                  "against mode collapse within a class. 0 = off, 1 is MSGAN's.",
                                  check=OFF_OR_POSITIVE_FINITE)
    class_loss: float = setting(0.0, "Auxiliary classifier (AC-GAN, Odena et al. 2017), weighted by this: D gains a head "
                                "that learns the classes of real images (cross-entropy), and G's loss adds that "
                                "head's cross-entropy on its samples of each class. Needs --conditional. 0 = off.",
                                check=OFF_OR_POSITIVE_FINITE)
    twin_classifier: bool = setting(False, "With --class-loss: TAC-GAN's twin classifier (Gong et al. 2019), a second "
                                    "head that learns the classes of generated images, whose cross-entropy G raises: "
                                    "it cancels AC-GAN's pull of the samples away from the class boundaries.",
                                    flag="--twin-classifier/--no-twin-classifier")
    # None: the loss's own weight (the architecture's lambda is for its default loss)
    penalty_weight: Optional[float] = setting(
        None, "Gradient-penalty lambda.", arch_may_set=True,
        default_text="the architecture's for the data kind, else the loss's: 'ganzoo list --kind arch' shows them",
        check=Check(lambda v: v is None or 0 <= v < math.inf, "{flag} {value} must be 0 or a positive finite number"))
    penalty_every: int = setting(1, "Lazy regularisation: the penalty on every K-th critic update, weighted by K.",
                                 check=AT_LEAST_ONE, arch_may_set=True)
    grad_clip: float = setting(0.0, "Clip gradient norms of G and D to this, 0 = off.", check=OFF_OR_POSITIVE_FINITE,
                               arch_may_set=True)
    lr_decay: str = setting("none", "Learning-rate schedule: linear falls to 0 at the last step.", choices=LR_DECAYS,
                            check=one_of(LR_DECAYS), arch_may_set=True)
    augment: str = setting(NO_AUGMENTATION, "Differentiable augmentation of D's inputs, real and generated (DiffAugment): a "
                           "comma-separated list of color, translation, cutout; none (or empty) for none.",
                           check=Check(_augment_ok,
                                       "{flag} {value!r}: give a comma-separated list of "
                                       + ", ".join(AUGMENTATIONS) + f", e.g. translation,cutout, or {NO_AUGMENTATION}"),
                           arch_may_set=True)
    precision: str = setting("fp32", "Mixed precision for the networks (autocast; fp16 adds loss scaling); losses and "
                             "penalty in float32. auto: bf16 for images on a CPU with native bf16, else fp32; the run's "
                             "config records what it chose.", choices=PRECISIONS, check=one_of(PRECISIONS),
                             arch_may_set=True)
    fused: bool = setting(True, "Run the losses and the penalty on ganzoo's compiled kernels (default) or on plain "
                          "PyTorch.", flag="--fused/--no-fused", resumable=True)
    log_every: int = setting(50, "Log losses every N steps.", check=OFF_OR_POSITIVE, resumable=True)
    sample_every: int = setting(500, "Write a sample picture every N steps, 0 = only at the end.", check=OFF_OR_POSITIVE,
                                resumable=True)
    checkpoint_every: int = setting(500, "Checkpoint every N steps (and always at the end).", check=OFF_OR_POSITIVE,
                                    resumable=True)
    val_every: int = setting(500, "Validate every N steps, 0 = off.", check=OFF_OR_POSITIVE, resumable=True)
    val_metric: str = setting("", "Validation metric.", default_text="the dataset's: modes for ring/grid, swd otherwise")
    val_samples: int = setting(2500, "Samples generated for each validation.", check=AT_LEAST_ONE, resumable=True)
    early_stop_patience: int = setting(0, "Stop after K validations without improvement, 0 = off.",
                                       check=OFF_OR_POSITIVE, resumable=True)
    # Non-finite guard (fp32 / bf16; fp16 has its loss scaler): checked every N steps and before anything is written.
    nonfinite_check_every: int = setting(10, "Check for NaN and inf every N steps, 0 = only before writing.", flag=None,
                                         check=OFF_OR_POSITIVE)
    nonfinite_patience: int = setting(3, "Bad windows in a row that are skipped before a rollback with half the "
                                      "learning rate.", flag=None, check=AT_LEAST_ONE)
    max_rollbacks: int = setting(3, "Rollbacks before the run stops as diverged.", flag=None, check=OFF_OR_POSITIVE)
    hparams: dict[str, Any] = setting(factory=dict, help="The architecture's hyper-parameters (--set KEY=VALUE).",
                                      flag=None)
    data_options: dict[str, Any] = setting(factory=dict, help="The dataset's options (--set data.KEY=VALUE).",
                                           flag=None)

    def to_json(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["betas"] = list(self.betas)
        return out


def settings() -> dict[str, Setting]:
    """Every setting of ``TrainConfig`` by field name, in the fields' order."""
    return {f.name: f.metadata["setting"] for f in dataclasses.fields(TrainConfig)}


def flag_of(name: str) -> str:
    """How the user gives the setting ``name``: its flag (``--lr-g``), or ``--set name`` where it has none."""
    flag = settings()[name].flag
    if flag is None:
        return f"--set {name}"
    return (flag or "--" + name.replace("_", "-")).split("/")[0]


def check_ranges(config: TrainConfig) -> None:
    """Raise ``ConfigError`` for the first setting outside its range, naming the flag and what it must be."""
    for name, about in settings().items():
        value = getattr(config, name)
        if about.check is None:
            continue
        try:
            ok = about.check.ok(value)
        except TypeError:  # a --set value of the wrong type (text where a number goes): out of range too
            ok = False
        if not ok:
            raise ConfigError(about.check.message.format(flag=flag_of(name), value=value))


# The trainer settings an Architecture's ``training`` may set (the paper's optimisation settings), directly or under
# "points" / "images": ``ganzoo.specs`` re-exports them. Part of the plugin API, so a rename is a breaking change, while
# the trainer's other options (logging, checkpoints, devices, ...) may change without one.
TRAINING_KEYS = tuple(name for name, about in settings().items() if about.arch_may_set)
# Settings that may change when a run is resumed without changing what it computes.
RESUMABLE_FIELDS = tuple(name for name, about in settings().items() if about.resumable)
