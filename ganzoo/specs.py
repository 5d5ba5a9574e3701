"""The public spec dataclasses a plugin registers, and the data records passed between them.

Nothing here imports torch: ``ganzoo list`` and ``ganzoo --help`` read specs without paying for it. Callables on a spec are
called only when that spec is used, so a plugin keeps its heavy imports inside them.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping, Optional, Protocol, runtime_checkable

from ganzoo.kinds import LOSS_KINDS, PENALTY_KINDS
from ganzoo.settings import TRAINING_KEYS

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = [
    "NAME_PATTERN",
    "DATA_KINDS",
    "TRAINING_KEYS",
    "DataInfo",
    "DataRequest",
    "LoadedData",
    "Dataset",
    "GanModels",
    "LinearChainCritic",
    "ClassifyingCritic",
    "Plan",
    "Schedule",
    "Architecture",
    "Penalty",
    "Loss",
    "MetricInput",
    "Metric",
    "validate_spec",
    "lazy",
    "resolve_lazy",
]

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
DATA_KINDS = ("points", "images")
# TRAINING_KEYS: the trainer settings an Architecture's ``training`` may set, declared with each setting in
# ganzoo.settings (``arch_may_set``); a part of the plugin API.


# ----------------------------------------------------------------------------------------------------------------- data
@dataclass(frozen=True, kw_only=True)
class DataInfo:
    """What a dataset holds, as the architectures and metrics need to know it.

    Attributes:
        kind: ``"points"`` (vectors, e.g. 2-D mixtures) or ``"images"`` (C, H, W).
        shape: the shape of one sample: ``(D,)`` for points, ``(C, H, W)`` for images.
        num_classes: number of label classes, 0 when the dataset has no labels.
        value_range: the range samples are scaled to; images are always ``(-1, 1)``.
        class_names: optional names of the classes, in label order.
        meta: dataset-specific facts, e.g. ``{"centres": [[x, y], ...], "sigma": 0.01}`` for Gaussian mixtures.
    """

    kind: str
    shape: tuple[int, ...]
    num_classes: int = 0
    value_range: tuple[float, float] = (-1.0, 1.0)
    class_names: tuple[str, ...] = ()
    meta: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class DataRequest:
    """What the user asked of a dataset.

    Attributes:
        data_dir: folder (or file, for single-file formats) to read; None for generated or bundled data.
        image_size: requested side length of square images (a power of two); None for the dataset's default.
        channels: 1 (gray) or 3 (RGB) for image datasets; None keeps the dataset's own.
        seed: seed for generated data and for the train / validation split.
        split: ``"train"`` or ``"val"``.
        options: dataset-specific options (``--set data.KEY=VALUE``).
    """

    data_dir: Optional[str] = None
    image_size: Optional[int] = None
    channels: Optional[int] = None
    seed: int = 0
    split: str = "train"
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(kw_only=True)
class LoadedData:
    """Tensors of one split: ``x`` float32 of shape ``(N, *info.shape)``, ``y`` int64 ``(N,)`` or None."""

    x: "torch.Tensor"
    y: Optional["torch.Tensor"]
    info: DataInfo


@dataclass(frozen=True, kw_only=True)
class Dataset:
    """A dataset plugin.

    Attributes:
        name: lowercase identifier used on the command line (``--dataset NAME``).
        description: one line for ``ganzoo list``.
        kind: ``"points"``, ``"images"``, or ``"any"`` when the files decide (the loaded ``DataInfo.kind`` says which).
        load: ``load(request: DataRequest) -> LoadedData``; raises ``ganzoo.errors.DataError`` for bad input.
        needs_data_dir: True when the data must come from ``--data-dir``.
        has_labels: whether samples carry class labels (conditional training needs them).
        metric: the validation metric for this dataset when ``--val-metric`` is not given (a metric name, qualified as
            ``package:name`` if needed); None for ganzoo's default, ``swd``.
        fetch: for data that is downloaded once (``ganzoo fetch NAME [--from SOURCE]``): ``fetch(source)`` puts it in
            ganzoo's cache (``source``: a file or URL to take it from, or None for the default) and returns one line
            saying what it did; ``load`` then reads only the cache and raises ``ganzoo.errors.DataMissingError``
            saying how to fetch when it is not there. None: nothing to fetch.
    """

    name: str
    description: str
    kind: str
    load: Callable[[DataRequest], LoadedData]
    needs_data_dir: bool = False
    has_labels: bool = False
    metric: Optional[str] = None
    fetch: Optional[Callable[[Optional[str]], str]] = None


# -------------------------------------------------------------------------------------------------------- architecture
@dataclass(kw_only=True)
class GanModels:
    """The networks an architecture builds.

    ``generator(z, y=None) -> x`` maps latent codes ``z`` of shape ``(B, latent_dim)`` (and labels when conditional) to
    samples of shape ``(B, *info.shape)``; ``discriminator(x, y=None) -> logits`` returns one raw score per sample, ``(B,)``.
    """

    generator: "torch.nn.Module"
    discriminator: "torch.nn.Module"
    latent_dim: int


@runtime_checkable
class LinearChainCritic(Protocol):
    """A capability a discriminator may offer: "I am a chain of Linear layers with one LeakyReLU slope between them".

    ``linear_chain()`` returns the Linear layers in order, the one-logit head last, and the slope (>= 0), or None when
    the network is not such a chain right now (a label projection, a LayerNorm). A critic that offers it promises that
    its ``forward(x, y)`` computes exactly ``head(leaky(...leaky(L1(x.flatten(1)))))``; the trainer then takes the
    critic's gradients, penalty included, from ``ganzoo.ops.mlp_critic_grads``'s hand-derived formulas instead of a
    double backward (about 1.5x faster on the ring: README, "Fused kernels"), in float32 or float64 without mixed
    precision or a schedule. ``ganzoo.nets.MLPDiscriminator`` offers it for itself only: a subclass may change
    ``forward``, so it must offer its own.
    """

    def linear_chain(self) -> "Optional[tuple[list[torch.nn.Linear], float]]": ...


@runtime_checkable
class ClassifyingCritic(Protocol):
    """A capability a conditional discriminator may offer for ``--class-loss`` (AC-GAN, Odena et al. 2017).

    ``add_class_head(outputs)`` gives it a linear head of ``outputs`` class logits (the run's classes, twice with
    ``--twin-classifier``) on the features its logit is read from. The trainer calls it once, before the optimizers,
    when a run asks for the loss; a network built without it is unchanged, so runs without the loss keep their
    weights. After it, ``forward(x, y, classes=True)`` returns the logits and the class logits, shape (B, outputs),
    of one pass; ``forward(x, y)`` stays the plain logits. ``add_class_head`` may raise ``NotImplementedError`` to
    decline. ``ganzoo.nets.ConvDiscriminator`` offers it for itself only (a subclass may change ``forward``).
    """

    def add_class_head(self, outputs: int) -> None: ...


@dataclass(frozen=True, kw_only=True)
class Plan:
    """What an architecture's schedule asks of the trainer for one training iteration.

    Attributes:
        stage: an index that changes whenever new network parts come into play; on each change the trainer starts the
            optimizers afresh when ``reset_optimizers`` is set.
        shape: the shape of one sample the networks make and take now (e.g. ``(1, 8, 8)`` while an 8x8 block grows
            in); the trainer hands real batches through ``Schedule.real`` to get them to this shape.
        batch_size: the batch size for this iteration, or None for the run's ``--batch-size``.
        values: numbers the trainer logs with every record and saves in checkpoints (e.g. ``alpha``, ``resolution``).
        label: a few words for logs and sample pictures, e.g. ``"8x8 fade-in"``.
        complete: True once the schedule has reached its final state (the trainer warns when ``--steps`` ends before).
        reset_optimizers: whether entering this stage discards the optimizers' moments.
    """

    stage: int
    shape: tuple[int, ...]
    batch_size: Optional[int] = None
    values: Mapping[str, float] = field(default_factory=dict)
    label: str = ""
    complete: bool = True
    reset_optimizers: bool = False


class Schedule(Protocol):
    """Changes the networks and the data as training goes (progressive growing and the like).

    Every method is a pure function of its arguments: the trainer calls ``plan`` with the number of real samples shown
    to the discriminator so far, which the checkpoint stores, so a resumed run gets the very same plans.
    """

    def plan(self, images: int) -> Plan:
        """The plan for the iteration that starts after ``images`` real samples."""

    def apply(self, network: "torch.nn.Module", plan: Plan) -> None:
        """Put the generator, its average or the discriminator in the state ``plan`` describes (stage, fade-in alpha)."""

    def real(self, x: "torch.Tensor", plan: Plan) -> "torch.Tensor":
        """A batch of full-size real samples as the discriminator must see them under ``plan`` (``plan.shape``)."""


@dataclass(frozen=True, kw_only=True)
class Architecture:
    """A GAN architecture plugin.

    Attributes:
        name: lowercase identifier (``--arch NAME``).
        description: one line for ``ganzoo list``.
        build: ``build(info: DataInfo, hparams: Mapping[str, Any], num_classes: int) -> GanModels``; ``num_classes`` is 0
            for unconditional training.
        hyperparameters: the architecture's own settings with their defaults (``--set KEY=VALUE`` overrides, typed by the
            default's type).
        training: trainer defaults from the paper (``lr_g``, ``lr_d``, ``betas``, ``n_critic``, ``batch_size``, ...); a nested
            mapping under ``"points"`` or ``"images"`` overrides them for that kind of data.
        dataset_defaults: settings for one dataset, by its name: trainer settings (``training``'s keys) and
            hyperparameters, over ``training`` and ``hyperparameters`` and under the user's flags; ``ganzoo list``
            shows them. For a dataset that needs more than its kind's defaults (e.g. wgan_gp's wider nets on ``grid``).
        default_loss: loss used when ``--loss`` is not given.
        default_dataset: dataset used when ``--dataset`` is not given.
        data_kinds: the dataset kinds the networks can model.
        capabilities: what the discriminator guarantees, matched against ``Loss.requires``: ``"penalty"`` means per-sample
            outputs with no batch-coupling layers (so gradient penalties are valid); ``"lipschitz"`` means the critic is
            constrained by construction (e.g. spectral normalisation).
        conditional: whether ``build`` supports ``num_classes > 0``.
        schedule: for architectures whose networks change during training (progressive growing):
            ``schedule(info: DataInfo, hparams: Mapping[str, Any], batch_size: int) -> Schedule``, called once per run.
            The trainer asks it for a ``Plan`` before each iteration.
        paper: citation shown in the docs.
    """

    name: str
    description: str
    build: Callable[..., GanModels]
    hyperparameters: Mapping[str, Any] = field(default_factory=dict)
    training: Mapping[str, Any] = field(default_factory=dict)
    dataset_defaults: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    default_loss: str = "bce"
    default_dataset: str = "ring"
    data_kinds: tuple[str, ...] = DATA_KINDS
    capabilities: frozenset[str] = frozenset()
    conditional: bool = True
    schedule: Optional[Callable[..., Any]] = None
    paper: str = ""


# ---------------------------------------------------------------------------------------------------------------- loss
@dataclass(frozen=True, kw_only=True)
class Penalty:
    """A gradient penalty on g = dD(x)/dx, with per-sample norms over all non-batch dimensions.

    Attributes:
        kind: ``"two_sided"`` (``weight * mean (||g|| - center)^2``, WGAN-GP), ``"one_sided"``
            (``weight * mean max(0, ||g|| - center)^2``), ``"r1"`` (``weight / 2 * mean ||g||^2`` on real data) or ``"r2"``
            (the same on fake data).
        weight: lambda (10 in WGAN-GP).
        center: the target norm for the two- and one-sided forms.
    """

    kind: str = "two_sided"
    weight: float = 10.0
    center: float = 1.0

    @property
    def on(self) -> str:
        """Where the gradient is taken: interpolates between real and fake, real samples, or fake samples."""
        return {"r1": "real", "r2": "fake"}.get(self.kind, "interpolates")


@dataclass(frozen=True, kw_only=True)
class Loss:
    """An adversarial loss plugin.

    Attributes:
        name: lowercase identifier (``--loss NAME``).
        description: one line for ``ganzoo list``.
        discriminator: ``discriminator(real_logits, fake_logits, label_smoothing=0.0) -> scalar tensor`` to minimise.
            Give either this or ``kind``, never both.
        generator: ``generator(fake_logits) -> scalar tensor`` to minimise, or ``generator(fake_logits, real_logits)``
            when ``generator_takes_real``. Optional with ``kind`` (its standard generator loss is used).
        penalty: a gradient penalty the trainer adds to the discriminator loss, or None.
        requires: capabilities the architecture must have (see ``Architecture.capabilities``).
        label_smoothing: whether one-sided label smoothing means anything for this loss.
        kind: ``"bce"``, ``"hinge"`` or ``"wasserstein"``: the loss *is* ganzoo's standard form of that kind, which the
            trainer runs on the fused kernels (with the penalty, as one op). Give either this or ``discriminator``.
        generator_takes_real: whether the generator's loss needs D's scores on real data (relativistic losses): the
            generator step then scores the critic's last real batch with the current D, without gradient, and passes
            them as ``real_logits``.
    """

    name: str
    description: str
    discriminator: Optional[Callable[..., Any]] = None
    generator: Optional[Callable[..., Any]] = None
    penalty: Optional[Penalty] = None
    requires: frozenset[str] = frozenset()
    label_smoothing: bool = False
    kind: Optional[str] = None
    generator_takes_real: bool = False

    def discriminator_loss(self) -> Callable[..., Any]:
        """The critic's loss to call: the plugin's ``discriminator``, or ganzoo's standard form of ``kind``."""
        if self.discriminator is not None:
            return self.discriminator
        return functools.partial(_STANDARD_DISCRIMINATOR_LOSS, self.kind)

    def generator_loss(self) -> Callable[..., Any]:
        """The generator's loss to call: the plugin's ``generator``, or ganzoo's standard form of ``kind``."""
        if self.generator is not None:
            return self.generator
        return functools.partial(_STANDARD_GENERATOR_LOSS, self.kind)


# -------------------------------------------------------------------------------------------------------------- metric
@dataclass(kw_only=True)
class MetricInput:
    """What a metric sees: the samples to score (``fake``), the real held-out samples they are compared with (``real``),
    the real training samples and the dataset's facts.

    ``fake_labels`` are the classes the generator was asked for (conditional runs) or None; ``real_labels`` and
    ``train_labels`` are the datasets' labels when it has them (a metric may train a classifier on them).
    ``ganzoo eval`` also calls a metric with real training samples as ``fake``: that score is the floor a generator
    is read against.
    """

    fake: "torch.Tensor"
    real: "torch.Tensor"
    info: DataInfo
    train: Optional["torch.Tensor"] = None
    fake_labels: Optional["torch.Tensor"] = None
    seed: int = 0
    real_labels: Optional["torch.Tensor"] = None
    train_labels: Optional["torch.Tensor"] = None


@dataclass(frozen=True, kw_only=True)
class Metric:
    """A quality-metric plugin.

    Attributes:
        name: lowercase identifier (``--metric NAME``).
        description: one line for ``ganzoo list``.
        compute: ``compute(inp: MetricInput) -> Mapping[str, float]``; must include the ``primary`` key.
        primary: the key early stopping and ``best`` checkpoints follow.
        higher_is_better: direction of ``primary``.
        data_kinds: dataset kinds the metric applies to.
        needs_meta: keys the dataset's ``DataInfo.meta`` must hold (e.g. ``("centres", "sigma")``).
        needs_labels: whether the dataset must have class labels (the metric reads ``train_labels``/``real_labels``).
        fetch: for a metric that needs a network or data downloaded once (``ganzoo fetch NAME``), as
            ``Dataset.fetch``: ``compute`` then raises ``ganzoo.errors.DataMissingError`` saying how to fetch when it
            is missing. Such a metric runs in ``ganzoo eval`` only when named (``--metric NAME``). None: nothing to
            fetch.
    """

    name: str
    description: str
    compute: Callable[[MetricInput], Mapping[str, float]]
    primary: str
    higher_is_better: bool
    data_kinds: tuple[str, ...] = DATA_KINDS
    needs_meta: tuple[str, ...] = ()
    needs_labels: bool = False
    fetch: Optional[Callable[[Optional[str]], str]] = None


_SPEC_FIELDS_CALLABLE = {
    "Architecture": ("build",),  # and schedule, when given (checked in validate_spec)
    "Loss": (),  # discriminator and generator, unless kind stands for them (checked in validate_spec)
    "Dataset": ("load",),
    "Metric": ("compute",),
}


def validate_spec(spec: Any) -> None:
    """Check a spec's name, description, kinds and callables; raise ``PluginError`` naming the field at fault."""
    from ganzoo.errors import PluginError

    kind = type(spec).__name__
    if kind not in _SPEC_FIELDS_CALLABLE:
        raise PluginError(f"registered a {kind}, expected one of Architecture, Loss, Dataset, Metric")
    name = getattr(spec, "name", None)
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise PluginError(f"{kind} name {name!r} is invalid: use a lowercase identifier such as 'my_gan'")
    if not isinstance(spec.description, str) or not spec.description.strip():
        raise PluginError(f"{kind} {name!r} needs a one-line description")
    for attr in _SPEC_FIELDS_CALLABLE[kind]:
        if not callable(getattr(spec, attr)):
            raise PluginError(f"{kind} {name!r}: field '{attr}' must be callable")
    kinds, allowed = ((spec.kind,), DATA_KINDS + ("any",)) if kind == "Dataset" else (getattr(spec, "data_kinds", ()), DATA_KINDS)
    for k in kinds:
        if k not in allowed:
            raise PluginError(f"{kind} {name!r}: data kind {k!r} is not one of {', '.join(allowed)}")
    for optional in ("schedule", "fetch"):
        value = getattr(spec, optional, None)
        if value is not None and not callable(value):
            raise PluginError(f"{kind} {name!r}: field '{optional}' must be callable or None")
    if kind == "Architecture":
        _validate_training(spec)
    if kind == "Loss":
        _validate_loss(spec)
    if kind == "Dataset" and spec.metric is not None and (
            not isinstance(spec.metric, str) or not NAME_PATTERN.match(spec.metric.rpartition(":")[2])):
        raise PluginError(f"Dataset {name!r}: metric must be None or a metric name such as 'swd', got {spec.metric!r}")
    for attr in ("capabilities", "requires"):
        values = getattr(spec, attr, None)
        if values is None:
            continue
        if not isinstance(values, frozenset) or not all(isinstance(v, str) and NAME_PATTERN.match(v) for v in values):
            raise PluginError(f"{kind} {name!r}: {attr} must be a frozenset of lowercase identifiers such as "
                              f"frozenset({{'penalty'}}), got {values!r}")
    if kind == "Loss" and spec.penalty is not None:
        if not isinstance(spec.penalty, Penalty) or spec.penalty.kind not in PENALTY_KINDS:
            raise PluginError(f"Loss {name!r}: penalty must be a Penalty with kind {', '.join(PENALTY_KINDS)}")


def _validate_training(spec: "Architecture") -> None:
    from ganzoo.errors import PluginError

    layers = [("", spec.training)] + [(f"[{k!r}]", v) for k, v in spec.training.items() if k in DATA_KINDS]
    for where, mapping in layers:
        if not isinstance(mapping, Mapping):
            raise PluginError(f"Architecture {spec.name!r}: training{where} must be a mapping of trainer settings")
        for key in mapping:
            if key not in TRAINING_KEYS and not (where == "" and key in DATA_KINDS):
                raise PluginError(f"Architecture {spec.name!r}: training{where} sets {key!r}, which an architecture "
                                  f"may not set; the settings it may: {', '.join(TRAINING_KEYS)}")
    if not isinstance(spec.dataset_defaults, Mapping):
        raise PluginError(f"Architecture {spec.name!r}: dataset_defaults must map dataset names to settings")
    for dataset, settings in spec.dataset_defaults.items():
        if not isinstance(settings, Mapping):
            raise PluginError(f"Architecture {spec.name!r}: dataset_defaults[{dataset!r}] must be a mapping of settings")
        for key in settings:
            if key not in TRAINING_KEYS and key not in spec.hyperparameters:
                raise PluginError(f"Architecture {spec.name!r}: dataset_defaults[{dataset!r}] sets {key!r}, which is "
                                  f"neither a trainer setting ({', '.join(TRAINING_KEYS)}) nor one of its hyperparameters")


def _validate_loss(spec: "Loss") -> None:
    from ganzoo.errors import PluginError

    name = spec.name
    if spec.kind is not None and spec.kind not in LOSS_KINDS:
        raise PluginError(f"Loss {name!r}: kind must be None or one of {', '.join(map(repr, LOSS_KINDS))}, "
                          f"got {spec.kind!r}")
    if spec.kind is not None and spec.discriminator is not None:
        raise PluginError(f"Loss {name!r} gives both kind={spec.kind!r} and a discriminator: give one (kind runs "
                          f"ganzoo's {spec.kind} on the fused kernels, discriminator runs yours)")
    required = ("discriminator", "generator") if spec.kind is None else ()
    for attr in ("discriminator", "generator"):
        value = getattr(spec, attr)
        if value is None and attr in required:
            raise PluginError(f"Loss {name!r}: field '{attr}' is required without a kind")
        if value is not None and not callable(value):
            raise PluginError(f"Loss {name!r}: field '{attr}' must be callable")


def lazy(target: str) -> Callable[..., Any]:
    """A callable that imports ``"package.module:function"`` on its first call and forwards to it.

    Plugins use it for spec callables so that listing plugins never imports torch or other heavy modules.
    """
    module_name, _, attr = target.partition(":")
    if not module_name or not attr:
        raise ValueError(f"lazy target {target!r} must look like 'package.module:function'")
    resolved: list[Callable[..., Any]] = []

    def call(*args: Any, **kwargs: Any) -> Any:
        if not resolved:
            resolved.append(resolve_lazy(target))
        return resolved[0](*args, **kwargs)

    call.__name__ = attr
    call.__qualname__ = attr
    call.__doc__ = f"Calls {target} (imported on first use)."
    call.lazy_target = target  # type: ignore[attr-defined]  # what a plugin check resolves ahead of time
    return call


def resolve_lazy(target: str) -> Callable[..., Any]:
    """Import ``"package.module:function"`` and return the function; a target that does not resolve raises
    ``PluginError`` naming it (not an AttributeError from deep inside a training run)."""
    import importlib

    from ganzoo.errors import PluginError

    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise PluginError(f"lazy target {target!r}: module {module_name!r} cannot be imported ({exc})") from exc
    try:
        value = getattr(module, attr)
    except AttributeError:
        close = [n for n in dir(module) if not n.startswith("_")]
        import difflib

        hint = difflib.get_close_matches(attr, close, n=1)
        suggestion = f"; did you mean {module_name}:{hint[0]}?" if hint else ""
        raise PluginError(f"lazy target {target!r}: module {module_name!r} has no {attr!r}{suggestion}") from None
    if not callable(value):
        raise PluginError(f"lazy target {target!r} is a {type(value).__name__}, not a function")
    return value


# The standard losses a Loss's ``kind`` stands for; created once, so each training step reuses the resolved function.
_STANDARD_DISCRIMINATOR_LOSS = lazy("ganzoo.ops:discriminator_loss")
_STANDARD_GENERATOR_LOSS = lazy("ganzoo.ops:generator_loss")
