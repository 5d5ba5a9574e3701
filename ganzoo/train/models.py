"""The networks of a run and what is made with them: building and checking an architecture's networks, everything that
learns in a run (networks, DDP wrappers, optimizers, loss scalers, generator average), and drawing samples."""

from __future__ import annotations

import contextlib
import copy
from dataclasses import dataclass
from typing import Any, Iterator, Optional

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from ganzoo.errors import ConfigError, PluginError
from ganzoo.seeding import torch_seeded
from ganzoo.specs import Architecture, ClassifyingCritic, DataInfo, GanModels, LinearChainCritic, Plan, Schedule
from ganzoo.train import distributed
from ganzoo.train.auxiliary import ClassLoss
from ganzoo.train.config import TrainConfig
from ganzoo.train.state import TrainState

__all__ = ["pick_device", "native_bf16", "auto_precision", "check_models", "build_models", "Networks", "build_networks",
           "generate", "ema_decay", "update_ema", "standing_statistics", "eval_mode"]


def classes_in_turn(n: int, num_classes: int) -> Optional[torch.Tensor]:
    """Labels for ``n`` samples that take the classes in turn (0, 1, ..., C-1, 0, ...), or None for an unconditional
    run (``num_classes`` 0): what pictures, validation and evaluation draw a conditional generator with."""
    return torch.arange(n) % num_classes if num_classes else None


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda was asked for, but torch sees no CUDA device: use --device cpu or auto")
    return device


def native_bf16() -> Optional[str]:
    """The CPU feature that runs bf16 products natively (AMX, or AVX-512 BF16), or None: without one, oneDNN emulates
    bf16 with float32 instructions and autocast costs time instead of saving it."""
    for name, probe in (("AMX", "_is_amx_tile_supported"), ("AVX-512 BF16", "_is_avx512_bf16_supported")):
        check = getattr(torch.cpu, probe, None)  # private probes of torch's cpuinfo: absent in some builds
        try:
            if check is not None and check():
                return name
        except RuntimeError:
            pass
    return None


def auto_precision(data_kind: str, device: torch.device) -> tuple[str, str]:
    """What ``--precision auto`` runs, and why: bf16 autocast for images on a CPU with native bf16, where dcgan's 32x32
    step is 1.4x (AVX-512 BF16, Zen 4) to 2.1x (AMX, Xeon) its float32 step with FID within the seeds' spread
    (benchmarks/RESULTS.md); float32 everywhere else: points run on the float32 fused MLP kernels, a CPU
    without native bf16 would emulate it, and bf16 on CUDA has not been measured against float32 yet."""
    if device.type != "cpu":
        return "fp32", f"bf16 on {device.type} is not measured yet, so auto keeps float32 there"
    if data_kind != "images":
        return "fp32", f"auto trains {data_kind} in float32"
    feature = native_bf16()
    if feature is None:
        return "fp32", "this CPU has no native bf16 (AMX or AVX-512 BF16), where bf16 would be slower"
    return "bf16", f"this CPU has native bf16 ({feature}); --precision fp32 trains in float32"


@contextlib.contextmanager
def eval_mode(module: nn.Module) -> Iterator[None]:
    was_training = module.training
    module.eval()
    try:
        yield
    finally:
        module.train(was_training)


def check_models(models: Any, arch: str, info: DataInfo, device: torch.device, num_classes: int,
                 shape: Optional[tuple[int, ...]] = None) -> GanModels:
    """Move the networks to ``device`` and check that they keep the contract on a batch of two: the generator makes
    samples of ``shape`` (default: the data's; a schedule's plan says otherwise) and the discriminator takes them and
    returns one logit each."""
    shape = tuple(info.shape if shape is None else shape)
    if not isinstance(models, GanModels):
        raise PluginError(f"architecture {arch!r} built {type(models).__name__}, expected GanModels")
    models.generator.to(device)
    models.discriminator.to(device)
    z = torch.zeros(2, models.latent_dim, device=device)
    y = torch.zeros(2, dtype=torch.long, device=device) if num_classes else None
    with torch.no_grad(), eval_mode(models.generator), eval_mode(models.discriminator):
        sample = _contract_call(arch, "generator", models.generator, z, y, f"latent batch of shape {tuple(z.shape)}")
        if tuple(sample.shape[1:]) != shape:
            raise PluginError(f"architecture {arch!r}: generator makes {tuple(sample.shape[1:])}, expected {shape}")
        logits = _contract_call(arch, "discriminator", models.discriminator, sample, y,
                                f"batch of 2 samples of shape {shape}")
    if tuple(logits.shape) != (2,):
        raise PluginError(f"architecture {arch!r}: discriminator must return one logit per sample, got {tuple(logits.shape)}")
    return models


def _contract_call(arch: str, role: str, network: Any, x: torch.Tensor, y: Optional[torch.Tensor],
                   given: str) -> torch.Tensor:
    try:
        return network(x, y)
    except Exception as exc:  # the plugin's network: say which one failed on what, not torch's words alone
        text = " ".join(str(exc).split())
        raise PluginError(f"architecture {arch!r}: the {role} failed on a {given}: {type(exc).__name__}: {text}") from exc


def build_models(arch: Architecture, cfg: TrainConfig, info: DataInfo, device: torch.device, num_classes: int,
                 images: int) -> tuple[GanModels, Optional[Schedule]]:
    """The architecture's networks (initialised from the global generator) and its schedule, if any, put in the state
    its plan gives after ``images`` real samples, on ``device`` and checked against the contract."""
    models = arch.build(info, dict(cfg.hparams), num_classes)
    schedule: Optional[Schedule] = arch.schedule(info, dict(cfg.hparams), cfg.batch_size) if arch.schedule else None
    shape = None
    if schedule is not None:
        plan = schedule.plan(images)
        for network in (models.generator, models.discriminator):
            schedule.apply(network, plan)
        shape = plan.shape
    return check_models(models, arch.name, info, device, num_classes, shape), schedule


@dataclass
class Networks:
    """Everything that learns in a run: G and D, the generator average, their optimizers and fp16 loss scalers.

    ``G_ddp`` / ``D_ddp`` are the networks whose gradients DDP averages across ranks (the plain networks in one
    process). Each phase calls the network it does not train unwrapped, so no rank waits for gradients that phase
    never makes.
    """

    G: nn.Module
    D: nn.Module
    G_ema: Optional[nn.Module]
    G_ddp: nn.Module
    D_ddp: nn.Module
    latent_dim: int
    schedule: Optional[Schedule]
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    scaler_g: torch.amp.GradScaler
    scaler_d: torch.amp.GradScaler
    amp_dtype: Optional[torch.dtype]
    device: torch.device
    # D as Linear layers (head last) and their LeakyReLU slope when the critic step can take its gradients from
    # ganzoo.ops.mlp_critic_grads instead of a double backward: a built-in MLP critic in float32
    critic_layers: Optional[tuple[list[nn.Linear], float]] = None
    num_classes: int = 0
    # whether G_ema's BatchNorm statistics are still G's copies (see ``standing_statistics``)
    average_statistics_stale: bool = True

    def autocast(self) -> contextlib.AbstractContextManager:
        """The networks' forward passes in the run's precision (losses and the penalty stay float32)."""
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def sampler(self) -> nn.Module:
        """The generator pictures and validation draw from: the average when the run keeps one, with its own
        BatchNorm statistics (``settle_average``)."""
        self.settle_average()
        return self.G_ema if self.G_ema is not None else self.G

    def update_average(self, decay: float) -> None:
        if self.G_ema is not None:
            update_ema(self.G_ema, self.G, decay)
            self.average_statistics_stale = True

    def settle_average(self) -> None:
        """Give the generator average BatchNorm statistics of its own before anything samples or saves it. Cheap
        (a few dozen forward passes, at most once per update of the average); training never reads them."""
        if self.G_ema is not None and self.average_statistics_stale:
            standing_statistics(self.G_ema, self.latent_dim, self.num_classes, self.device)
            self.average_statistics_stale = False

    def modules(self) -> dict[str, Optional[nn.Module]]:
        """Every network, by name (the non-finite guard's snapshot; checkpoint.py keeps the file's own layout)."""
        return {"G": self.G, "D": self.D, "G_ema": self.G_ema}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"opt_g": self.opt_g, "opt_d": self.opt_d}

    def scaler_states(self) -> Optional[dict[str, Any]]:
        return {"d": self.scaler_d.state_dict(), "g": self.scaler_g.state_dict()} if self.scaler_d.is_enabled() else None

    def load_scaler_states(self, states: Optional[dict[str, Any]]) -> None:
        if states and self.scaler_d.is_enabled():
            self.scaler_d.load_state_dict(states["d"])
            self.scaler_g.load_state_dict(states["g"])

    def follow_schedule(self, state: TrainState) -> Optional[Plan]:
        """The schedule's plan for this iteration (a pure function of the images seen), with every network put in its
        state (stage, fade-in); a new stage may reset the optimizers. None without a schedule."""
        if self.schedule is None:
            return None
        plan = self.schedule.plan(state.images)
        if plan.stage != state.stage:
            if state.stage is not None and plan.reset_optimizers:
                self.opt_g.state.clear()
                self.opt_d.state.clear()
            state.stage = plan.stage
        for network in (self.G, self.D, self.G_ema):
            if network is not None:
                self.schedule.apply(network, plan)
        return plan

    def set_learning_rates(self, cfg: TrainConfig, step: int, lr_scale: float) -> None:
        """The learning rates at ``step``: a function of the step and the guard's scale alone, so resuming needs no
        scheduler state."""
        if cfg.lr_decay != "linear" and lr_scale == 1.0:
            return
        decay = 1.0 - step / cfg.steps if cfg.lr_decay == "linear" else 1.0
        for opt, base in ((self.opt_g, cfg.lr_g), (self.opt_d, cfg.lr_d)):
            for group in opt.param_groups:
                group["lr"] = base * decay * lr_scale


def build_networks(arch: Architecture, cfg: TrainConfig, info: DataInfo, device: torch.device, num_classes: int,
                   world: distributed.World) -> Networks:
    """A new run's networks, initialised from ``cfg.seed``, with their optimizers, scalers and DDP wrappers."""
    with torch_seeded(cfg.seed):  # network initialisation is the only user of the global generator
        models, schedule = build_models(arch, cfg, info, device, num_classes, images=0)
        classes = class_loss(cfg)
        if classes is not None:
            add_class_head(models.discriminator, arch.name, classes.head_outputs(num_classes))
    G, D = models.generator, models.discriminator
    G_ema = copy.deepcopy(G).requires_grad_(False).eval() if cfg.ema > 0 else None
    amp_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(cfg.precision)
    if channels_last_pays(info, device, amp_dtype):
        for network in (G, D, G_ema):
            if network is not None:
                network.to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # torch's stubs omit it
    G_ddp, D_ddp = G, D
    if world.active:
        ids = [device.index] if device.type == "cuda" else None
        # a growing network leaves its future blocks unused until their stage
        D_ddp = DistributedDataParallel(D, device_ids=ids, find_unused_parameters=schedule is not None)
        G_ddp = DistributedDataParallel(G, device_ids=ids, find_unused_parameters=schedule is not None)
    # fp16 scales the losses (and the penalty's inner gradient) so that small gradients do not flush to zero
    fp16 = cfg.precision == "fp16"
    return Networks(G=G, D=D, G_ema=G_ema, G_ddp=G_ddp, D_ddp=D_ddp, latent_dim=models.latent_dim,
                    schedule=schedule,
                    opt_g=_adam(G, cfg.lr_g, cfg.betas, device), opt_d=_adam(D, cfg.lr_d, cfg.betas, device),
                    scaler_g=torch.amp.GradScaler(device.type, enabled=fp16),
                    scaler_d=torch.amp.GradScaler(device.type, enabled=fp16),
                    amp_dtype=amp_dtype, device=device,
                    critic_layers=_critic_layers(D, amp_dtype, schedule), num_classes=num_classes)


def class_loss(cfg: TrainConfig) -> Optional[ClassLoss]:
    """The run's auxiliary-classifier terms, or None without ``--class-loss``."""
    return ClassLoss(cfg.class_loss, cfg.twin_classifier) if cfg.class_loss else None


def add_class_head(D: nn.Module, arch: str, outputs: int) -> None:
    """The classifier head on D for ``--class-loss``: only a critic that offers one (``ClassifyingCritic``)."""
    refusal = ConfigError(f"--class-loss needs a discriminator that can classify, and architecture {arch!r}'s cannot: "
                          "use --arch dcgan or --arch wgan_gp on images, or drop --class-loss")
    if not isinstance(D, ClassifyingCritic) or not callable(D.add_class_head):
        raise refusal
    try:
        D.add_class_head(outputs)
    except NotImplementedError:
        raise refusal from None


def channels_last_pays(info: DataInfo, device: torch.device, amp_dtype: Optional[torch.dtype]) -> bool:
    """Whether image networks run in NHWC: oneDNN's CPU convolutions run the digits training iteration ~10% faster in
    it, and tensor cores want it in half precision (benchmarks/RESULTS.md). The data stays NCHW: each convolution
    follows its weight's layout. CUDA in float32 keeps NCHW (not measured)."""
    return info.kind == "images" and (device.type == "cpu" or amp_dtype is not None)


def _critic_layers(D: nn.Module, amp_dtype: Optional[torch.dtype],
                   schedule: Optional[Schedule]) -> Optional[tuple[list[nn.Linear], float]]:
    """D's layers for the hand-derived critic gradient, when D offers them (``ganzoo.specs.LinearChainCritic``: the
    built-in MLP critic, or a plugin's), or None where the double backward stays: a critic that does not, mixed
    precision and schedules (the op computes in the parameters' own float32 or float64). Under DDP the critic step
    averages the gradients across ranks itself (``distributed.average_gradients``)."""
    if not isinstance(D, LinearChainCritic) or not callable(D.linear_chain) or amp_dtype is not None or schedule is not None:
        return None
    chain = D.linear_chain()
    if chain is None or any(p.dtype not in (torch.float32, torch.float64) for p in D.parameters()):
        return None
    layers, slope = chain
    if not layers or not all(isinstance(m, nn.Linear) and m.bias is not None for m in layers) or slope < 0:
        raise PluginError(f"{type(D).__name__}.linear_chain() must return ([nn.Linear with bias, ...], slope >= 0) or "
                          f"None, got {len(layers)} layers and slope {slope}")
    return list(layers), float(slope)


def _adam(network: nn.Module, lr: float, betas: tuple[float, float], device: torch.device) -> torch.optim.Adam:
    """Adam with torch's fused kernel where it has one (CPU, CUDA): the same update within float rounding, about 3x
    faster than the per-tensor loop that is torch's CPU default (benchmarks/RESULTS.md)."""
    optimizer = torch.optim.Adam(network.parameters(), lr=lr, betas=betas, fused=device.type in ("cpu", "cuda"))
    optimizer.register_load_state_dict_post_hook(_state_in_parameter_layout)
    return optimizer


def _state_in_parameter_layout(optimizer: torch.optim.Optimizer) -> None:
    """Give each loaded state tensor its parameter's memory layout. A checkpoint stores them contiguous, and the fused
    Adam kernel pairs a parameter's elements with its state's by position in memory: a channels_last weight with a
    contiguous exp_avg resumed to wrong updates (torch 2.13, CPU; seen as a resumed run that left the straight one)."""
    for parameter, entries in optimizer.state.items():
        for key, value in entries.items():
            if (isinstance(value, torch.Tensor) and value.shape == parameter.shape
                    and value.stride() != parameter.stride()):
                entries[key] = torch.empty_like(parameter, dtype=value.dtype).copy_(value)


def ema_decay(target: float, updates: int) -> float:
    """Warm-up: the average starts short (it would otherwise drag the random initial weights along for thousands of
    steps) and lengthens towards ``target``: min(target, (1 + t) / (10 + t))."""
    return min(target, (1.0 + updates) / (10.0 + updates))


@torch.no_grad()
def update_ema(ema: nn.Module, model: nn.Module, decay: float) -> None:
    """Move the average's parameters towards the model's; its buffers (power-iteration vectors, BatchNorm statistics)
    become copies of the model's, which ``standing_statistics`` replaces for BatchNorm before the average is used."""
    torch._foreach_lerp_(list(ema.parameters()), list(model.parameters()), 1.0 - decay)
    buffers = list(ema.buffers())
    if buffers:
        torch._foreach_copy_(buffers, list(model.buffers()))


STANDING_BATCHES = 32
STANDING_SEED = 20181004  # its own noise stream: the training noise, and so the run, stays as it was


@torch.no_grad()
def standing_statistics(generator: nn.Module, latent_dim: int, num_classes: int, device: torch.device,
                        batches: int = STANDING_BATCHES, batch_size: int = 64) -> None:
    """Re-estimate every BatchNorm layer's running statistics of ``generator`` from its own activations ("standing
    statistics", Brock et al. 2019): the mean over ``batches`` batches of fresh latents (classes in turn), in float32.

    A generator average copies the training generator's running statistics, which belong to other weights: after
    dcgan's 7,000 default steps the copied variances were 0.5-1.4x the average's own per channel (median 1.05-1.10x
    per layer; benchmarks/RESULTS.md), so its eval-mode samples were normalised with another network's scale.
    Without BatchNorm layers this does nothing."""
    norms = [m for m in generator.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]
    if not norms:
        return
    momenta = [m.momentum for m in norms]
    was_training = [m.training for m in norms]
    noise = torch.Generator().manual_seed(STANDING_SEED)
    labels = classes_in_turn(batches * batch_size, num_classes)
    try:
        for m in norms:
            m.reset_running_stats()
            m.momentum = None  # a cumulative average over the batches, each weighted equally
            m.train()
        for i in range(batches):
            z = torch.randn(batch_size, latent_dim, generator=noise).to(device)
            y = labels[i * batch_size:(i + 1) * batch_size].to(device) if labels is not None else None
            generator(z, y)
    finally:
        for m, momentum, training in zip(norms, momenta, was_training):
            m.momentum = momentum
            m.train(training)


@torch.no_grad()
def generate(generator: nn.Module, n: int, latent_dim: int, device: torch.device, gen: torch.Generator,
             labels: Optional[torch.Tensor] = None, batch: int = 500, noise_scale: float = 1.0) -> torch.Tensor:
    """``n`` samples (on the CPU) from ``generator`` in eval mode, with noise drawn from ``gen`` and multiplied by
    ``noise_scale`` (the truncation trick's knob: below 1 the typical samples, above 1 more of the spread)."""
    out = []
    with eval_mode(generator):
        for start in range(0, n, batch):
            count = min(batch, n - start)
            z = torch.randn(count, latent_dim, generator=gen).to(device)
            if noise_scale != 1.0:
                z = z * noise_scale
            y = labels[start:start + count].to(device) if labels is not None else None
            out.append(generator(z, y).float().cpu())
    return torch.cat(out)
