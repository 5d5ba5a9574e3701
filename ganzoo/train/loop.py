"""The adversarial training loop.

``train`` tells the story: open the run folder, build data and networks, start or restore, then per step (1) critic
updates, (2) a generator update, (3) log / sample / validate / checkpoint as the cadence says. Each part lives in a
module named for it: ``batches`` (data and its order), ``models`` (networks, optimizers, sampling), ``steps`` (one critic
and one generator update), ``guard`` (non-finite values), ``cadence`` (what is due when), ``records`` (logs and pictures),
``validation``, ``checkpoint`` (the file layout), ``state`` (the counters), ``run`` and ``lock`` (the folder).

Every random draw comes from one explicit generator whose state is checkpointed, and the data order is a function of
the batch counter, so a run is deterministic on the CPU and a resumed run continues bit for bit.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Protocol

import torch

from ganzoo import __version__
from ganzoo.errors import ConfigError, GanzooError, GanzooWarning
from ganzoo.ops import default_impl
from ganzoo.seeding import NOISE_SEED
from ganzoo.specs import Schedule
from ganzoo.train import distributed
from ganzoo.train.allocator import tune_allocator
from ganzoo.train.augment import parse_policy
from ganzoo.train.batches import TrainingData
from ganzoo.train.cadence import Cadence
from ganzoo.train.checkpoint import restore_training, save_training
from ganzoo.train.config import Resolved, TrainConfig
from ganzoo.train.guard import NonFiniteGuard
from ganzoo.train.models import Networks, auto_precision, build_networks, class_loss, pick_device
from ganzoo.train.records import RunRecords, plan_record, save_loss_curve, save_samples, save_validation_curve
from ganzoo.train.run import (
    checkpoint_path,
    clean_temp_files,
    data_record,
    open_run,
    read_metrics,
    read_run_config,
    truncate_metrics,
    update_run_config,
    write_run_config,
)
from ganzoo.train.state import TrainState
from ganzoo.train.steps import critic_step, generator_step, penalty_this_update
from ganzoo.train.validation import Validator

__all__ = ["TrainResult", "ProgressSink", "train"]



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

    def diverged_error(self, rollbacks: int, settings: str) -> GanzooError:
        """The one-line error of a run that diverged; ``settings`` names the learning rates and clipping as the caller's
        user writes them (``--lr-g/--lr-d or --grad-clip`` on the command line)."""
        return GanzooError(f"training diverged: losses or gradients stayed NaN/Inf through {rollbacks} rollbacks with "
                           f"halved learning rates (see {self.run_dir}/metrics.jsonl); the last good checkpoint is kept "
                           f"in {self.run_dir}/checkpoints: start a new run with lower {settings}")


def train(resolved: Resolved, run_dir: Optional[Path] = None, *, resume: bool = False,
          progress: Optional[ProgressSink] = None, stop_requested: Callable[[], bool] = lambda: False,
          announce: Optional[Callable[[Path, distributed.World], None]] = None,
          tune_malloc: bool = False) -> TrainResult:
    """Train (or resume) the run in ``run_dir``.

    Args:
        resolved: the checked config and the specs it names (``ganzoo.train.config.resolve_config``).
        run_dir: the run folder; for a new run it must not hold a run yet (None: the next free runs/ARCH-DATASET[-N]).
        resume: continue from ``run_dir/checkpoints/last.safetensors`` up to ``config.steps`` (from step 0 when the run
            stopped before its first checkpoint).
        progress: receives the step count and each logged record (rank 0 only).
        stop_requested: polled after each step (in a multi-process run, where the cadence has the ranks agree: every
            ``nonfinite_check_every`` steps or where anything is written); when it returns True on any rank, the loop
            checkpoints and stops ("interrupted").
        announce: called with the run folder once it is claimed and everything is checked (the data loaded, the
            networks built, a resumed run's state restored), before training starts.
        tune_malloc: on the CPU, set glibc's malloc up for the loop (``ganzoo.train.allocator``: the step's buffers
            stay mapped). It lasts for the rest of the process, so the ``ganzoo train`` command asks for it and a
            library caller must (``ganzoo.api.train(tune_malloc=True)``).

    Returns:
        Where the run stopped and why, with its last logged record and best validation.

    Raises:
        RunLockedError: another process is training this run.
    """
    cfg, loss, penalty = resolved.config, resolved.loss, resolved.penalty
    device = pick_device(cfg.device)
    if tune_malloc and device.type == "cpu":
        tune_allocator()
    world = distributed.setup(device.type)  # several processes (torchrun): each rank takes its slice of every batch
    if world.active and device.type == "cuda":
        device = torch.device("cuda", world.local_rank)
    progress = progress if world.main else None

    with open_run(run_dir, world, resume=resume, default_name=(cfg.arch, cfg.dataset)) as run_dir:
        data = TrainingData.load(resolved, device)
        if cfg.precision == "auto":  # a new run only: a saved config holds what auto chose
            _choose_precision(resolved, data.info.kind, device, world)
        nets = build_networks(resolved.arch, cfg, data.info, device, data.num_classes, world)
        if nets.schedule is not None:
            _warn_if_schedule_unfinished(nets.schedule, cfg, resolved.arch.name)
        noise = torch.Generator().manual_seed(cfg.seed + NOISE_SEED)
        validator = (Validator(resolved, data.loaded, data.num_classes, nets.latent_dim, device)
                     if resolved.metric is not None else None)
        state = _start(run_dir, resolved, data, nets, noise, world, resume)
        if announce is not None:  # once the data, the networks and a resumed run's state are known to be good
            announce(run_dir, world)
        guard = (NonFiniteGuard(nets.modules(), nets.optimizers(), state, device, patience=cfg.nonfinite_patience,
                                max_rollbacks=cfg.max_rollbacks)
                 if cfg.nonfinite_check_every and cfg.precision != "fp16" else None)  # fp16 has its loss scaler
        records = RunRecords(run_dir, world, skip_nonfinite=cfg.precision == "fp16")
        cadence = Cadence.of(cfg)
        augmentation, classes = parse_policy(cfg.augment), class_loss(cfg)
        status, plan = "finished", None
        record: dict[str, Any] = {}
        if progress:
            progress.start(cfg.steps, state.step)

        def checkpoint(which: str) -> None:
            state.amp = nets.scaler_states()
            nets.settle_average()
            save_training(checkpoint_path(run_dir, which), cfg, nets, noise, state, plan)

        loop_start, elapsed_before = time.perf_counter(), state.elapsed_s
        with default_impl("auto" if cfg.fused else "ref"):  # --no-fused: every op on the PyTorch reference
            try:
                while state.step < cfg.steps:
                    # (0) this iteration's schedule (stage, fade-in, batch size) and learning rates
                    plan = nets.follow_schedule(state)
                    batch_size = (plan.batch_size if plan is not None else None) or cfg.batch_size
                    nets.set_learning_rates(cfg, state.step, state.lr_scale)

                    # (1) critic: n_critic updates of D on real batches and detached fakes
                    for _ in range(cfg.n_critic):
                        real, y = data.next_batch(state, batch_size, world, nets.schedule, plan)
                        records.count_samples(batch_size * world.size)
                        records.add(critic_step(nets, real, y, loss, penalty_this_update(penalty, cfg.penalty_every,
                                                                                          state.batches),
                                                noise, world, label_smoothing=cfg.label_smoothing,
                                                grad_clip=cfg.grad_clip, guard=guard, augmentation=augmentation,
                                                classes=classes))

                    # (2) generator: one update through a frozen D
                    records.add(generator_step(nets, loss, noise, world, batch_size, data.num_classes, state.step,
                                               ema=cfg.ema, grad_clip=cfg.grad_clip, guard=guard, real=(real, y),
                                               augmentation=augmentation, mode_seeking=cfg.mode_seeking,
                                               classes=classes))
                    state.step += 1

                    # (3) bookkeeping, as the cadence says; nothing is written before the guard has checked the window
                    due, record = cadence.due(state.step), {}
                    state.elapsed_s = elapsed_before + time.perf_counter() - loop_start
                    if guard is not None and (due.check or due.writes):
                        event = guard.check(world)
                        if event is not None:
                            records.write(event)
                            if event["action"] == "stop":
                                status = "diverged"
                                break
                            records.clear()
                            continue
                    if due.log:
                        distributed.check_in_sync({"G": nets.G, "D": nets.D}, world, state.step)
                        record = records.log_window(state.step, plan_record(plan, state.images))
                    validate = validator is not None and due.validate
                    if world.main and due.sample:
                        records.picture(state.step, save_samples(run_dir, state.step, nets.sampler(), nets.latent_dim,
                                                                 device, cfg.seed, data.loaded, data.num_classes))
                    if world.main and validator is not None and validate:
                        val_record, improved = validator.validate(nets.sampler(), state)
                        val_record["elapsed_s"] = round(state.elapsed_s, 3)
                        records.write(val_record)
                        record = {**record, **val_record}
                        if improved:
                            checkpoint("best")
                        if validator.patience_spent(state):
                            status = "early_stopped"
                    if world.main and (due.checkpoint or status != "finished"):
                        checkpoint("last")
                    if progress:
                        progress.update(state.step, record or None)
                    if due.sample or validate or due.checkpoint:
                        # the other ranks wait for rank 0's work outside any collective, and learn its verdict
                        (early,) = distributed.after_main_work([status == "early_stopped"], world)
                        if early:
                            status = "early_stopped"
                            break
                    # a signal may reach one rank first: the ranks agree on it at the cadence, not every step
                    stop = (distributed.any_rank([stop_requested()], world)[0] if due.agree or not world.active
                            else False)
                    if stop and state.step < cfg.steps:
                        if world.main:
                            checkpoint("last")
                        status = "interrupted"
                        break
            finally:
                records.close()
                if progress:
                    progress.close()
        if world.main:
            logged = read_metrics(run_dir)
            save_loss_curve(run_dir, logged)
            if validator is not None:
                save_validation_curve(run_dir, logged, validator.metric.name, validator.metric.primary)
        return TrainResult(run_dir, state.step, status, record, state.best)


def _choose_precision(resolved: Resolved, data_kind: str, device: torch.device, world: distributed.World) -> None:
    """Replace ``auto`` in the run's config by what it means on this machine, and note why. Every rank takes rank 0's
    choice: on a mix of machines the run still computes in one precision."""
    precision, why = distributed.broadcast_object(auto_precision(data_kind, device), world)
    resolved.config.precision = precision
    resolved.notes.append(f"precision {precision} (auto): {why}")


def _start(run_dir: Path, resolved: Resolved, data: TrainingData, nets: Networks, noise: torch.Generator,
           world: distributed.World, resume: bool) -> TrainState:
    """A new run's state (its config written), or a resumed run's, restored from its last checkpoint. A run that
    stopped before its first checkpoint resumes from step 0 with its saved config."""
    cfg = resolved.config
    if not resume:
        if world.main:
            write_run_config(run_dir, cfg.to_json(), data.info, resolved.providers, __version__,
                             data_record(cfg.dataset, data.loaded.x, data.loaded.y, data.info), resolved.notes)
        return TrainState()
    if world.main:
        _warn_if_data_changed(run_dir, data_record(cfg.dataset, data.loaded.x, data.loaded.y, data.info))
    path = checkpoint_path(run_dir, "last")
    state = TrainState()
    if path.exists():
        state = restore_training(path, cfg, nets, noise)
        nets.load_scaler_states(state.amp)
        if state.step > cfg.steps:
            raise ConfigError(f"the run is already at step {state.step}: --steps is the run's total, "
                              f"give more than {state.step} to train further")
    if world.main:
        clean_temp_files(run_dir)
        truncate_metrics(run_dir, state.step)
        update_run_config(run_dir, cfg.to_json())
    return state


def _warn_if_data_changed(run_dir: Path, now: Mapping[str, Any]) -> None:
    """A resumed run that reads other data than it was trained on says so (it may be meant: a moved or re-made
    folder), naming both sources."""
    before = read_run_config(run_dir).get("data")
    if before and before.get("fingerprint") != now["fingerprint"]:
        warnings.warn(f"{run_dir} was trained on other data ({before.get('source')}, {before.get('samples')} samples, "
                      f"{before.get('fingerprint')}) than it reads now ({now['source']}, {now['samples']} samples, "
                      f"{now['fingerprint']})", GanzooWarning, stacklevel=2)


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
        warnings.warn(f"{arch}: {cfg.steps} {'step ends' if cfg.steps == 1 else 'steps end'} in phase '{last.label}'; its schedule reaches the final stage "
                      f"at step {iteration + 1}: use --steps {iteration + 1} or more", GanzooWarning, stacklevel=2)
