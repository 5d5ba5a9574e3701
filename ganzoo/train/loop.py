"""The adversarial training loop.

One function, read top to bottom: set-up (data, networks, optimizers, resume), then per step (1) critic updates,
(2) a generator update, (3) log / sample / validate / checkpoint. Every random draw comes from one explicit generator whose
state is checkpointed, and the data order is a function of the batch counter, so a run is deterministic on the CPU and a
resumed run continues bit for bit.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
import math
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Protocol

import torch
from torch import nn
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel

from ganzoo import __version__
from ganzoo.data.common import load_dataset
from ganzoo.errors import CheckpointError, ConfigError, GanzooWarning, PluginError
from ganzoo.ops import critic_tail, default_impl, gradient_penalty, interpolate
from ganzoo.registry import Registry
from ganzoo.specs import Architecture, DataInfo, GanModels, MetricInput, Plan, Schedule
from ganzoo.train.checkpoint import flatten_optimizer, load_checkpoint, save_checkpoint, unflatten_optimizer
from ganzoo.train import distributed
from ganzoo.train.config import Resolved, TrainConfig
from ganzoo.train.run import (
    METRICS_FILE,
    checkpoint_path,
    clean_temp_files,
    read_metrics,
    truncate_metrics,
    write_run_config,
)

__all__ = ["TrainResult", "ProgressSink", "train", "pick_device", "generate", "check_models", "build_models", "Batches",
           "ema_decay", "images_seen", "metric_misfit", "at_data_size"]

# Offsets that give the noise stream and the fixed preview / validation noise their own seeds.
_NOISE_SEED, _PREVIEW_SEED, _VAL_SEED = 1_000_003, 2_000_003, 3_000_017
PREVIEW_IMAGES, PREVIEW_POINTS = 64, 2500


class ProgressSink(Protocol):
    """Where the loop reports progress (the CLI draws a tqdm bar); the loop itself never prints."""

    def start(self, total: int, initial: int) -> None: ...
    def update(self, step: int, record: Optional[dict[str, Any]]) -> None: ...
    def close(self) -> None: ...


@dataclass
class TrainResult:
    run_dir: Path
    step: int
    status: str  # "finished", "interrupted", "early_stopped" or "diverged" (non-finite values survived every rollback)
    last: dict[str, Any] = field(default_factory=dict)
    best: Optional[dict[str, Any]] = None


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda was asked for, but torch sees no CUDA device: use --device cpu or auto")
    return device


class Batches:
    """The run's endless sequence of sample indices, a pure function of the position in it: epoch ``e`` visits the data
    in a permutation seeded by (seed, e)."""

    def __init__(self, n: int, seed: int):
        self.n, self.seed = n, seed
        self._cache: dict[int, torch.Tensor] = {}

    def _perm(self, epoch: int) -> torch.Tensor:
        if epoch not in self._cache:
            if len(self._cache) > 2:
                self._cache.clear()
            gen = torch.Generator().manual_seed(self.seed * 1_000_033 + epoch)
            self._cache[epoch] = torch.randperm(self.n, generator=gen)
        return self._cache[epoch]

    def take(self, position: int, count: int) -> torch.Tensor:
        """The ``count`` sample indices from ``position`` on in the run's endless sequence of epochs (batch sizes may
        change during a run: a schedule's batches are slices of the same sequence)."""
        positions = torch.arange(position, position + count)
        epochs = positions // self.n
        out = torch.empty(count, dtype=torch.long)
        for epoch in epochs.unique().tolist():
            mask = epochs == epoch
            out[mask] = self._perm(epoch)[positions[mask] % self.n]
        return out


def ema_decay(target: float, updates: int) -> float:
    """Warm-up: the average starts short (it would otherwise drag the random initial weights along for thousands of
    steps) and lengthens towards ``target``: min(target, (1 + t) / (10 + t))."""
    return min(target, (1.0 + updates) / (10.0 + updates))


@torch.no_grad()
def update_ema(ema: nn.Module, model: nn.Module, decay: float) -> None:
    for p_ema, p in zip(ema.parameters(), model.parameters()):
        p_ema.lerp_(p, 1.0 - decay)
    for b_ema, b in zip(ema.buffers(), model.buffers()):
        b_ema.copy_(b)


@contextlib.contextmanager
def _eval_mode(module: nn.Module) -> Iterator[None]:
    was_training = module.training
    module.eval()
    try:
        yield
    finally:
        module.train(was_training)


@torch.no_grad()
def generate(generator: nn.Module, n: int, latent_dim: int, device: torch.device, gen: torch.Generator,
             labels: Optional[torch.Tensor] = None, batch: int = 500) -> torch.Tensor:
    """``n`` samples (on the CPU) from ``generator`` in eval mode, with noise drawn from ``gen``."""
    out = []
    with _eval_mode(generator):
        for start in range(0, n, batch):
            count = min(batch, n - start)
            z = torch.randn(count, latent_dim, generator=gen).to(device)
            y = labels[start:start + count].to(device) if labels is not None else None
            out.append(generator(z, y).float().cpu())
    return torch.cat(out)


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
    with torch.no_grad(), _eval_mode(models.generator), _eval_mode(models.discriminator):
        sample = models.generator(z, y)
        logits = models.discriminator(sample, y)
    if tuple(sample.shape[1:]) != shape:
        raise PluginError(f"architecture {arch!r}: generator makes {tuple(sample.shape[1:])}, expected {shape}")
    if tuple(logits.shape) != (2,):
        raise PluginError(f"architecture {arch!r}: discriminator must return one logit per sample, got {tuple(logits.shape)}")
    return models


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


def images_seen(state: dict[str, Any], batch_size: int) -> int:
    """Real samples shown to D before a checkpoint; those from before schedules existed had one batch size throughout."""
    return int(state.get("images", state["batches"] * batch_size))


def train(resolved: Resolved, run_dir: Path, *, resume: bool = False, progress: Optional[ProgressSink] = None,
          stop_requested: Callable[[], bool] = lambda: False) -> TrainResult:
    """Train (or resume) the run in ``run_dir``.

    Args:
        resolved: the checked config and the specs it names (``ganzoo.train.config.resolve_config``).
        run_dir: the run folder; for a new run it must not hold a run yet.
        resume: continue from ``run_dir/checkpoints/last.safetensors`` up to ``config.steps``.
        progress: receives the step count and each logged record.
        stop_requested: polled after each step; when it returns True the loop checkpoints and stops ("interrupted").

    Returns:
        Where the run stopped and why, with its last logged record and best validation.
    """
    cfg: TrainConfig = resolved.config
    arch, loss, penalty, metric = resolved.arch, resolved.loss, resolved.loss.penalty, resolved.metric
    if penalty is not None and cfg.penalty_weight is not None:
        penalty = dataclasses.replace(penalty, weight=cfg.penalty_weight)
    device = pick_device(cfg.device)
    # several processes (torchrun): rank 0 writes the run folder; each rank works on its slice of every global batch
    world = distributed.setup(device.type)
    if world.active and device.type == "cuda":
        device = torch.device("cuda", world.local_rank)

    # ---------------------------------------------------------------------------------------------- data and networks
    data = load_dataset(resolved.dataset, cfg.data_request())
    info = data.info
    if cfg.batch_size > len(data.x):
        raise ConfigError(f"--batch-size {cfg.batch_size} is larger than the dataset ({len(data.x)} samples): "
                          f"use at most {len(data.x)}")
    num_classes = info.num_classes if cfg.conditional else 0
    if cfg.conditional and (data.y is None or num_classes < 2):
        raise ConfigError(f"--conditional needs class labels, and dataset {cfg.dataset!r} has none here")
    x_all = data.x.to(device)
    y_all = data.y.to(device) if num_classes else None

    torch.manual_seed(cfg.seed)  # network initialisation is the only user of the global generator
    models, schedule = build_models(arch, cfg, info, device, num_classes, images=0)
    if schedule is not None:
        _warn_if_schedule_unfinished(schedule, cfg, arch.name)
    G, D, latent = models.generator, models.discriminator, models.latent_dim
    G_ema = copy.deepcopy(G).requires_grad_(False).eval() if cfg.ema > 0 else None
    # Mixed precision: the networks' forward passes under autocast, every loss and the penalty in float32; fp16 also
    # scales the losses (and the penalty's inner gradient) so that small gradients do not flush to zero.
    amp_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(cfg.precision)
    scaler_d = torch.amp.GradScaler(device.type, enabled=cfg.precision == "fp16")
    scaler_g = torch.amp.GradScaler(device.type, enabled=cfg.precision == "fp16")
    # fp16: an overflow is expected now and then (the scaler skips that step and lowers its scale), so the logged means
    # leave non-finite values out and count them as "amp_skipped" instead of turning a whole window into NaN
    skip_nonfinite = cfg.precision == "fp16"

    def autocast() -> contextlib.AbstractContextManager:
        return torch.autocast(device.type, dtype=amp_dtype) if amp_dtype is not None else contextlib.nullcontext()

    if amp_dtype is not None and device.type == "cuda" and info.kind == "images":
        # tensor cores want NHWC: convolutions in half precision run fastest in channels_last
        for network in (G, D, G_ema):
            if network is not None:
                network.to(memory_format=torch.channels_last)
    # The networks whose gradients DDP averages across ranks: D in the critic phase, G in the generator phase. The other
    # network is called unwrapped in each phase, so no rank waits for gradients that phase never makes. A growing
    # network leaves its future blocks unused until their stage.
    D_train, G_train = D, G
    if world.active:
        ids = [device.index] if device.type == "cuda" else None
        D_train = DistributedDataParallel(D, device_ids=ids, find_unused_parameters=schedule is not None)
        G_train = DistributedDataParallel(G, device_ids=ids, find_unused_parameters=schedule is not None)
    opt_g = torch.optim.Adam(G.parameters(), lr=cfg.lr_g, betas=cfg.betas)
    opt_d = torch.optim.Adam(D.parameters(), lr=cfg.lr_d, betas=cfg.betas)
    noise = torch.Generator().manual_seed(cfg.seed + _NOISE_SEED)
    batches = Batches(len(x_all), cfg.seed)
    # images: real samples shown to D so far (a schedule's clock); stage: the schedule's stage of the last iteration
    counters: dict[str, Any] = {"step": 0, "batches": 0, "images": 0, "stage": None, "best": None, "bad_validations": 0,
                                "lr_scale": 1.0, "rollbacks": 0}

    providers = {"arch": arch.name, "loss": loss.name, "dataset": cfg.dataset}
    if resume:
        _restore(run_dir, cfg, G, D, G_ema, opt_g, opt_d, noise, counters, device)
        for scaler, key in ((scaler_d, "d"), (scaler_g, "g")):
            if scaler.is_enabled() and counters.get("amp"):
                scaler.load_state_dict(counters["amp"][key])
        if world.main:
            clean_temp_files(run_dir)
            truncate_metrics(run_dir, counters["step"])
    elif world.main:
        write_run_config(run_dir, cfg.to_json(), info, providers, __version__)

    val_real = val_labels = None
    if metric is not None:
        why = metric_misfit(metric, info, data.y)
        if why:
            raise ConfigError(f"metric {metric.name!r} cannot score dataset {cfg.dataset!r} ({why}): use --val-metric swd")
        val_data = load_dataset(resolved.dataset, cfg.data_request("val"))
        val_real, val_labels = val_data.x, val_data.y
    preview_n = PREVIEW_IMAGES if info.kind == "images" else PREVIEW_POINTS
    preview_labels = torch.arange(preview_n) % num_classes if num_classes else None
    sample_model = G_ema if G_ema is not None else G
    guard = (NonFiniteGuard(cfg, {"G": G, "D": D, "G_ema": G_ema}, {"opt_g": opt_g, "opt_d": opt_d}, counters, device)
             if cfg.nonfinite_check_every and cfg.precision != "fp16" else None)

    def save(which: str) -> None:
        if scaler_d.is_enabled():
            counters["amp"] = {"d": scaler_d.state_dict(), "g": scaler_g.state_dict()}
        _save(run_dir, which, cfg, G, D, G_ema, opt_g, opt_d, noise, counters, plan)

    def write_samples(step: int) -> None:
        # at the generator's current size: a growing generator's pictures show the stage it has reached
        fake = generate(sample_model, preview_n, latent, device, torch.Generator().manual_seed(cfg.seed + _PREVIEW_SEED),
                        preview_labels)
        _picture(run_dir / "samples" / f"step_{step:06d}.png", fake, data.x, info, num_classes, step)

    log = (run_dir / METRICS_FILE).open("a") if world.main else None
    writer = _tensorboard(run_dir) if world.main else None
    sums: dict[str, torch.Tensor] = {}
    counts: dict[str, int] = {}
    window_start, window_images = time.perf_counter(), 0
    status, record, step = "finished", {}, counters["step"]
    plan: Optional[Plan] = None
    batch_size = cfg.batch_size
    if not world.main:
        progress = None
    if progress:
        progress.start(cfg.steps, step)
    with default_impl("auto" if cfg.fused else "ref"):  # --no-fused: every op on the PyTorch reference
        try:
            while step < cfg.steps:
                # (0) the schedule's plan for this iteration: stage, fade-in, batch size (a pure function of images seen)
                if schedule is not None:
                    plan = schedule.plan(counters["images"])
                    if plan.stage != counters["stage"]:
                        if counters["stage"] is not None and plan.reset_optimizers:
                            opt_g.state.clear()
                            opt_d.state.clear()
                        counters["stage"] = plan.stage
                    for network in (G, D, G_ema):
                        if network is not None:
                            schedule.apply(network, plan)
                    batch_size = plan.batch_size or cfg.batch_size
                mine = world.part(batch_size * world.size)  # this rank's slice of each global batch
                global_batch = batch_size * world.size

                if cfg.lr_decay == "linear" or counters["lr_scale"] != 1.0:
                    # a function of the step and the rollbacks' scale alone: resuming needs no scheduler state
                    decay = 1.0 - step / cfg.steps if cfg.lr_decay == "linear" else 1.0
                    for opt, base in ((opt_g, cfg.lr_g), (opt_d, cfg.lr_d)):
                        for group in opt.param_groups:
                            group["lr"] = base * decay * counters["lr_scale"]

                # (1) critic: n_critic updates of D on real batches and detached fakes
                D.requires_grad_(True)
                for _ in range(cfg.n_critic):
                    idx = batches.take(counters["images"], global_batch)[mine].to(device)
                    counters["batches"] += 1
                    counters["images"] += global_batch
                    window_images += global_batch
                    real = x_all[idx] if schedule is None else schedule.real(x_all[idx], plan)
                    y = y_all[idx] if num_classes else None
                    with autocast():
                        with torch.no_grad():
                            fake = G(torch.randn(global_batch, latent, generator=noise)[mine].to(device), y).float()
                        d_real, d_fake = D_train(real, y).float(), D_train(fake, y).float()
                    smoothing = {"label_smoothing": cfg.label_smoothing} if loss.label_smoothing else {}
                    # lazy regularisation: the penalty on every penalty_every-th critic update only, weighted by penalty_every
                    step_penalty = penalty if penalty is not None and (counters["batches"] - 1) % cfg.penalty_every == 0 else None
                    if step_penalty is not None and cfg.penalty_every > 1:
                        step_penalty = dataclasses.replace(step_penalty, weight=step_penalty.weight * cfg.penalty_every)
                    if step_penalty is not None and loss.kind is not None:
                        # the standard loss + penalty as one op (fused unless --no-fused); stats come from the same pass
                        grad = _penalty_grad(D_train, step_penalty, real, fake, y, noise, world, autocast, scaler_d)
                        total, stats = critic_tail(d_real, d_fake, grad, loss.kind, step_penalty.kind, step_penalty.weight,
                                                   step_penalty.center, cfg.label_smoothing)
                        gp = stats[3]
                        d_loss = total.detach() - gp
                        _accumulate(sums, counts, skip_nonfinite, gp=gp)
                    else:
                        d_loss = loss.discriminator(d_real, d_fake, **smoothing)
                        total = d_loss
                        if step_penalty is not None:
                            grad = _penalty_grad(D_train, step_penalty, real, fake, y, noise, world, autocast, scaler_d)
                            gp = gradient_penalty(grad, step_penalty.kind, step_penalty.weight, step_penalty.center)
                            total = d_loss + gp
                            _accumulate(sums, counts, skip_nonfinite, gp=gp)
                    opt_d.zero_grad(set_to_none=True)
                    scaler_d.scale(total).backward()
                    if guard is not None:
                        guard.watch(total, D.parameters())
                    if cfg.grad_clip:
                        scaler_d.unscale_(opt_d)
                        nn.utils.clip_grad_norm_(D.parameters(), cfg.grad_clip)
                    scaler_d.step(opt_d)
                    scaler_d.update()
                    _accumulate(sums, counts, skip_nonfinite, d_loss=d_loss, d_real=d_real.mean(), d_fake=d_fake.mean())

                # (2) generator: one update through a frozen D
                D.requires_grad_(False)
                y_fake = (torch.randint(num_classes, (global_batch,), generator=noise)[mine].to(device)
                          if num_classes else None)
                z = torch.randn(global_batch, latent, generator=noise)[mine].to(device)
                with autocast():
                    g_logits = D(G_train(z, y_fake), y_fake).float()
                g_loss = loss.generator(g_logits)
                opt_g.zero_grad(set_to_none=True)
                scaler_g.scale(g_loss).backward()
                if guard is not None:
                    guard.watch(g_loss, G.parameters())
                if cfg.grad_clip:
                    scaler_g.unscale_(opt_g)
                    nn.utils.clip_grad_norm_(G.parameters(), cfg.grad_clip)
                scaler_g.step(opt_g)
                scaler_g.update()
                if G_ema is not None:
                    update_ema(G_ema, G, ema_decay(cfg.ema, step))
                _accumulate(sums, counts, skip_nonfinite, g_loss=g_loss)
                step += 1
                counters["step"] = step

                # (3) log / sample / validate / checkpoint
                last_step = step == cfg.steps
                record = {}
                if guard is not None and guard.due(step, last_step):
                    event = guard.check(step, counters, world)
                    if event is not None:
                        if world.main:
                            _write_record(log, writer, event)
                        if event["action"] == "stop":
                            status = "diverged"
                            break
                        step = counters["step"]
                        sums.clear()
                        counts.clear()
                        continue
                if (cfg.log_every and step % cfg.log_every == 0) or last_step:
                    sums = distributed.mean_across(sums, world)  # every rank logs at the same steps
                    distributed.check_in_sync({"G": G, "D": D}, world, step)
                    elapsed = time.perf_counter() - window_start
                    record = {"step": step, **_means(sums, counts),
                              "samples_per_s": window_images / max(elapsed, 1e-9)}
                    if plan is not None:
                        record.update({"images": counters["images"], **plan.values})
                    if not all(math.isfinite(v) for v in record.values()):
                        record["nonfinite"] = True
                    if world.main:
                        _write_record(log, writer, record)
                    sums.clear()
                    counts.clear()
                    window_start, window_images = time.perf_counter(), 0
                if world.main and ((cfg.sample_every and step % cfg.sample_every == 0) or last_step):
                    write_samples(step)
                if world.main and metric is not None and ((cfg.val_every and step % cfg.val_every == 0) or last_step):
                    fake = generate(sample_model, cfg.val_samples, latent, device,
                                    torch.Generator().manual_seed(cfg.seed + _VAL_SEED),
                                    torch.arange(cfg.val_samples) % num_classes if num_classes else None)
                    fake = at_data_size(fake, info)  # a growing generator is judged at the data's size
                    scores = {k: float(v) for k, v in metric.compute(MetricInput(
                        fake, val_real, info, data.x, seed=cfg.seed, real_labels=val_labels, train_labels=data.y)).items()}
                    value = scores[metric.primary]
                    best = counters["best"]
                    improved = best is None or (value > best["value"] if metric.higher_is_better else value < best["value"])
                    if improved:
                        counters["best"] = {"step": step, "metric": metric.name, "key": metric.primary, "value": value}
                        counters["bad_validations"] = 0
                    else:
                        counters["bad_validations"] += 1
                    val_record = {"step": step, "val": {metric.name: scores}}
                    _write_record(log, writer, val_record)
                    record = {**record, **val_record}
                    if improved:
                        save("best")
                    if cfg.early_stop_patience and counters["bad_validations"] >= cfg.early_stop_patience:
                        status = "early_stopped"
                if world.main and ((cfg.checkpoint_every and step % cfg.checkpoint_every == 0) or last_step
                                   or status != "finished"):
                    save("last")
                if progress:
                    progress.update(step, record or None)
                # Ranks stop together: rank 0 alone validates (early stopping), and Ctrl-C may reach one rank first.
                early, stop = distributed.any_rank([status == "early_stopped", stop_requested()], world)
                if early:
                    status = "early_stopped"
                    break
                if stop and step < cfg.steps:
                    if world.main:
                        save("last")
                    status = "interrupted"
                    break
        finally:
            if log is not None:
                log.close()
            if writer is not None:
                writer.close()
            if progress:
                progress.close()
    if world.main:
        _loss_curve(run_dir)
    return TrainResult(run_dir, step, status, record, counters["best"])


class NonFiniteGuard:
    """Catches NaN/Inf losses and gradients without a host sync per step, and recovers from them.

    Each backward ORs "loss or gradient norm not finite" into a flag on the device. The flag is read every
    ``nonfinite_check_every`` steps and always before anything is logged, validated or saved, so nothing non-finite is
    ever written. A window that went bad is skipped: the networks, optimizers and step count go back to the last check
    that passed (kept in memory), while the data position and the noise stream go on, so the retry sees new batches.
    After ``nonfinite_patience`` bad windows in a row it rolls back the same way with the learning rates halved, and
    after ``max_rollbacks`` rollbacks it stops the run as diverged.
    """

    def __init__(self, cfg: TrainConfig, networks: dict[str, Optional[nn.Module]], optimizers: dict[str, Any],
                 counters: dict[str, Any], device: torch.device):
        self.cfg, self.counters = cfg, counters
        self.networks = {k: v for k, v in networks.items() if v is not None}
        self.optimizers = optimizers
        self.flag = torch.zeros((), dtype=torch.bool, device=device)
        self.streak = 0
        self.snapshot = self._take()

    def watch(self, loss: torch.Tensor, params: Iterator[nn.Parameter]) -> None:
        grads = [p.grad for p in params if p.grad is not None]
        norm = torch.stack(torch._foreach_norm(grads)).sum() if grads else loss.new_zeros(())
        self.flag |= ~(torch.isfinite(loss.detach()) & torch.isfinite(norm))

    def due(self, step: int, last_step: bool) -> bool:
        cfg = self.cfg

        def every(n: int) -> bool:
            return bool(n) and step % n == 0
        return (every(cfg.nonfinite_check_every) or last_step or every(cfg.log_every) or every(cfg.sample_every)
                or every(cfg.val_every) or every(cfg.checkpoint_every))

    def check(self, step: int, counters: dict[str, Any], world: distributed.World) -> Optional[dict[str, Any]]:
        """None when the window since the last check was finite; otherwise the event to log, after recovering."""
        (bad,) = distributed.any_rank([bool(self.flag)], world)
        self.flag.zero_()
        if not bad:
            self.streak = 0
            self.snapshot = self._take()
            return None
        self.streak += 1
        good_step = self.snapshot["counters"]["step"]
        event: dict[str, Any] = {"step": step, "event": "nonfinite", "window": [good_step + 1, step]}
        if self.streak < self.cfg.nonfinite_patience:
            event["action"] = "skip"
        elif counters["rollbacks"] >= self.cfg.max_rollbacks:
            event["action"] = "stop"
            return event
        else:
            event["action"] = "rollback"
            self.streak = 0
        self._restore()
        if event["action"] == "rollback":
            counters["rollbacks"] += 1
            counters["lr_scale"] *= 0.5
            event["lr_scale"] = counters["lr_scale"]
        event["resume_from"] = counters["step"]
        return event

    def _take(self) -> dict[str, Any]:
        return {"networks": {k: copy.deepcopy(m.state_dict()) for k, m in self.networks.items()},
                "optimizers": {k: copy.deepcopy(o.state_dict()) for k, o in self.optimizers.items()},
                "counters": {k: copy.deepcopy(self.counters[k]) for k in ("step", "best", "bad_validations", "stage")}}

    def _restore(self) -> None:
        for key, module in self.networks.items():
            module.load_state_dict(self.snapshot["networks"][key])
        for key, opt in self.optimizers.items():
            opt.load_state_dict(copy.deepcopy(self.snapshot["optimizers"][key]))
        self.counters.update(copy.deepcopy(self.snapshot["counters"]))


def metric_misfit(metric, info: DataInfo, labels: Optional[torch.Tensor]) -> str:  # noqa: ANN001
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


def _warn_if_schedule_unfinished(schedule: Schedule, cfg: TrainConfig, arch: str, limit: int = 1_000_000) -> None:
    """Warn when ``--steps`` ends before the schedule reaches its final state, and say how many steps it needs."""
    images, iteration, plan, last = 0, 0, schedule.plan(0), None
    while not plan.complete and iteration < limit:
        if iteration == cfg.steps - 1:
            last = plan
        images += (plan.batch_size or cfg.batch_size) * cfg.n_critic
        iteration += 1
        plan = schedule.plan(images)
    if last is not None:
        warnings.warn(f"{arch}: {cfg.steps} steps end in phase '{last.label}'; its schedule reaches the final stage "
                      f"at step {iteration + 1}: use --steps {iteration + 1} or more", GanzooWarning, stacklevel=2)


def _penalty_grad(D: nn.Module, penalty, real: torch.Tensor, fake: torch.Tensor, y: Optional[torch.Tensor],
                  noise: torch.Generator, world: distributed.World = distributed.World(),
                  autocast: Callable[[], Any] = contextlib.nullcontext,
                  scaler: Optional[torch.amp.GradScaler] = None) -> torch.Tensor:
    """g = dD(x)/dx at interpolates (WGAN-GP), real (R1) or fake (R2) samples, kept in the graph for the penalty.

    D may be DDP-wrapped: the inner ``autograd.grad`` is taken with respect to the inputs only, so it fires none of
    DDP's gradient hooks; the parameters' gradients, penalty included, reach them once, in the critic's one backward."""
    if penalty.on == "interpolates":
        eps = torch.rand(real.shape[0] * world.size, generator=noise)[world.part(real.shape[0] * world.size)]
        eps = eps.to(real.device)
        point = interpolate(fake, real, eps)
    else:
        point = real if penalty.on == "real" else fake
    point = point.detach().requires_grad_(True)
    with autocast():
        score = D(point, y).float().sum()
    if scaler is not None and scaler.is_enabled():
        # fp16: take the inner gradient of the scaled score and unscale it, as torch.amp's gradient-penalty recipe does
        (grad,) = torch.autograd.grad(scaler.scale(score), point, create_graph=True)
        return grad / scaler.get_scale()
    (grad,) = torch.autograd.grad(score, point, create_graph=True)
    return grad.float()


def _accumulate(sums: dict[str, torch.Tensor], counts: dict[str, Any], skip_nonfinite: bool = False,
                **values: torch.Tensor) -> None:
    # kept on the device: reading a value forces a sync, so they are read only when a record is logged
    for key, value in values.items():
        value = value.detach().float()
        counted: Any = 1
        if skip_nonfinite:
            finite = torch.isfinite(value)
            value = torch.where(finite, value, torch.zeros_like(value))
            counted = finite.float()
            counts[key + "/all"] = counts.get(key + "/all", 0) + 1
        sums[key] = sums[key] + value if key in sums else value
        counts[key] = counts[key] + counted if key in counts else counted


def _means(sums: dict[str, torch.Tensor], counts: dict[str, Any]) -> dict[str, float]:
    """The logged means; where non-finite values were left out (fp16), ``amp_skipped`` says how many critic updates."""
    means = {key: float(total) / float(counts[key]) if float(counts[key]) else math.nan for key, total in sums.items()}
    if "d_loss/all" in counts:
        means["amp_skipped"] = counts["d_loss/all"] - float(counts["d_loss"])
    return means


def _write_record(log, writer, record: dict[str, Any]) -> None:  # noqa: ANN001
    log.write(json.dumps(record) + "\n")
    log.flush()
    if writer is not None:
        for key, value in _flatten(record).items():
            if key != "step":
                writer.add_scalar(key, value, record["step"])


def _flatten(record: dict[str, Any], prefix: str = "") -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in record.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}/"))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out[prefix + key] = value
    return out


def _tensorboard(run_dir: Path):  # noqa: ANN202
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is an optional extra: pip install "ganzoo[tensorboard]"
        return None
    return SummaryWriter(str(run_dir / "tensorboard"))


def _picture(path: Path, fake: torch.Tensor, real: torch.Tensor, info: DataInfo, num_classes: int, step: int) -> None:
    from ganzoo.viz import save_image_grid, save_scatter, scatter_window

    if info.kind == "images":
        save_image_grid(fake.numpy(), path, nrow=num_classes or None)
    else:
        save_scatter(fake.numpy(), path, real=real[:len(fake)].numpy(), bounds=scatter_window(info.value_range),
                     title=f"step {step}: generated (blue) vs real (grey)")


def _loss_curve(run_dir: Path) -> None:
    from ganzoo.viz import save_curves

    records = [r for r in read_metrics(run_dir) if "d_loss" in r]
    if records:
        keys = [k for k in ("d_loss", "g_loss", "gp") if k in records[-1]]
        save_curves({k: ([r["step"] for r in records], [r.get(k, math.nan) for r in records]) for k in keys},
                    run_dir / "loss_curve.png", title="losses by generator step")


def _save(run_dir: Path, which: str, cfg: TrainConfig, G: nn.Module, D: nn.Module, G_ema: Optional[nn.Module],
          opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer, noise: torch.Generator, counters: dict,
          plan: Optional[Plan] = None) -> None:
    tensors: dict[str, torch.Tensor] = {}
    for prefix, module in (("G", G), ("D", D), ("G_ema", G_ema)):
        if module is not None:
            tensors.update({f"{prefix}/{k}": v for k, v in module.state_dict().items()})
    g_tensors, g_meta = flatten_optimizer("opt_g", opt_g.state_dict())
    d_tensors, d_meta = flatten_optimizer("opt_d", opt_d.state_dict())
    tensors.update(g_tensors)
    tensors.update(d_tensors)
    tensors["rng/noise"] = noise.get_state()
    state = {**counters, "arch": cfg.arch, "loss": cfg.loss, "dataset": cfg.dataset, "opt_g": g_meta, "opt_d": d_meta,
             "ganzoo_version": __version__}
    if plan is not None:  # for people and tools reading the checkpoint; resuming recomputes it from "images"
        state["schedule"] = {"stage": plan.stage, "label": plan.label, **plan.values}
    save_checkpoint(checkpoint_path(run_dir, which), tensors, state)


def _restore(run_dir: Path, cfg: TrainConfig, G: nn.Module, D: nn.Module, G_ema: Optional[nn.Module],
             opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer, noise: torch.Generator, counters: dict,
             device: torch.device) -> None:
    path = checkpoint_path(run_dir, "last")
    if not path.exists():
        raise CheckpointError(f"{run_dir} has no checkpoint yet ({path.relative_to(run_dir)}): start it again without --resume")
    tensors, state = load_checkpoint(path, expect={"arch": cfg.arch, "loss": cfg.loss, "dataset": cfg.dataset})
    try:
        for prefix, module in (("G", G), ("D", D), ("G_ema", G_ema)):
            if module is not None:
                part = {k[len(prefix) + 1:]: v for k, v in tensors.items() if k.startswith(prefix + "/")}
                module.load_state_dict(part, strict=True)
        opt_g.load_state_dict(unflatten_optimizer("opt_g", tensors, state["opt_g"]))
        opt_d.load_state_dict(unflatten_optimizer("opt_d", tensors, state["opt_d"]))
        noise.set_state(tensors["rng/noise"])
    except (RuntimeError, KeyError, ValueError, TypeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"{path} does not match this run's networks ({first[:160]})") from None
    for key in ("step", "batches", "best", "bad_validations"):
        counters[key] = state[key]
    counters["lr_scale"], counters["rollbacks"] = state.get("lr_scale", 1.0), state.get("rollbacks", 0)
    counters["amp"] = state.get("amp")
    counters["images"] = images_seen(state, cfg.batch_size)
    counters["stage"] = state.get("stage")
    if counters["step"] > cfg.steps:
        raise ConfigError(f"the run is already at step {counters['step']}: --steps is the run's total, "
                          f"give more than {counters['step']} to train further")
