"""Multi-process training on torch.distributed: the process group, which rank does what, and the few collectives the
trainer needs beyond DistributedDataParallel's own gradient averaging.

ganzoo does not launch or supervise processes itself: ``torchrun`` (or ``ganzoo train --nproc N``, which runs it) starts
one process per device and sets RANK, WORLD_SIZE and LOCAL_RANK; every rank runs the same ``ganzoo train`` command.

The global batch is the same whatever the number of processes: each iteration draws the noise, the interpolation
weights and the sample indices of the whole global batch from generators every rank holds in the same state, and rank
``r`` takes slice ``r``. DDP then averages the ranks' gradients, so N processes with ``--batch-size b`` take the steps
of one process with batch ``N * b`` (up to the order of floating-point sums, and except for BatchNorm, whose statistics
stay per process).
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from typing import Any, Optional

import torch
import torch.distributed as dist

from ganzoo.errors import ConfigError, GanzooError

__all__ = ["World", "world", "setup", "shutdown", "broadcast_object", "after_main_work", "any_rank", "average_gradients", "mean_across", "check_in_sync",
           "ENV_TIMEOUT", "ENV_MAIN_WORK_TIMEOUT", "torchrun_args", "launch"]

ENV_TIMEOUT = "GANZOO_DIST_TIMEOUT"
DEFAULT_TIMEOUT_S = 600  # a collective waiting longer than this fails the run instead of hanging it
ENV_MAIN_WORK_TIMEOUT = "GANZOO_MAIN_WORK_TIMEOUT"
DEFAULT_MAIN_WORK_TIMEOUT_S = 24 * 3600  # how long the other ranks wait for rank 0's validation, samples and checkpoints

# The group in which the other ranks wait for rank 0's work of its own (``after_main_work``): gloo, so that waiting
# holds no GPU stream, with a timeout of its own. Created by ``setup`` on every rank, like the default group.
_main_work_group: Any = None


@dataclass(frozen=True)
class World:
    """This process's place in the run: ``rank`` of ``size`` processes, ``local_rank`` on its machine."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        """Rank 0 writes the run folder: logs, samples, validation, checkpoints."""
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.size > 1

    def part(self, total: int) -> slice:
        """This rank's slice of a global batch of ``total`` (``total`` is a multiple of ``size``)."""
        share = total // self.size
        return slice(self.rank * share, (self.rank + 1) * share)


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"environment variable {name}={raw!r} must be an integer (set by torchrun)") from None


def world() -> World:
    """The world as torchrun described it in the environment (one process when it did not)."""
    size = _env_int("WORLD_SIZE", 1)
    rank = _env_int("RANK", 0)
    if size < 1 or not 0 <= rank < size:
        raise ConfigError(f"RANK={rank} and WORLD_SIZE={size} do not fit together: start the run with torchrun")
    return World(rank, size, _env_int("LOCAL_RANK", 0))


def setup(device_kind: str) -> World:
    """Join the process group when torchrun started several processes: NCCL for CUDA, gloo for CPU."""
    current = world()
    if not current.active or dist.is_initialized():
        return current
    backend = "nccl" if device_kind == "cuda" else "gloo"
    if device_kind == "cuda":
        if current.local_rank >= torch.cuda.device_count():
            raise ConfigError(f"local rank {current.local_rank} has no GPU (this machine has {torch.cuda.device_count()}): "
                              "use --nproc-per-node no larger than the GPU count")
        torch.cuda.set_device(current.local_rank)
    timeout = datetime.timedelta(seconds=_env_int(ENV_TIMEOUT, DEFAULT_TIMEOUT_S))
    dist.init_process_group(backend=backend, timeout=timeout)
    global _main_work_group
    # Rank 0 alone validates, and a validation can take far longer than a collective may wait (the first domain
    # evaluation on Fashion-MNIST trains a classifier for minutes; Inception at N = 10,000 on a CPU, tens of
    # minutes). The other ranks wait for it in this group, whose timeout bounds only that wait.
    _main_work_group = dist.new_group(backend="gloo", timeout=datetime.timedelta(
        seconds=_env_int(ENV_MAIN_WORK_TIMEOUT, DEFAULT_MAIN_WORK_TIMEOUT_S)))
    return current


def shutdown() -> None:
    """Leave the process group while the interpreter is whole.

    The DistributedDataParallel wrappers hold the group and sit in reference cycles (their hooks), so only the garbage
    collector frees them. Left to interpreter shutdown, gloo's worker threads were destroyed mid-exit and the process
    died with SIGABRT ("terminate called without an active exception") now and then on a loaded machine, failing a
    finished run. Collecting first frees them, and the group with them, here."""
    global _main_work_group
    if dist.is_initialized():
        import gc

        gc.collect()
        dist.destroy_process_group()
    _main_work_group = None


def broadcast_object(value: Any, current: World) -> Any:
    """Rank 0's ``value`` on every rank."""
    if not current.active:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def after_main_work(flags: list[bool], current: World) -> list[bool]:
    """Rank 0's ``flags`` on every rank, once rank 0 has done the work it does alone (validation, samples, checkpoints).

    Every rank calls it at the same steps. The other ranks wait here, outside the training's collectives, in a group
    whose timeout is ``GANZOO_MAIN_WORK_TIMEOUT`` (a day) instead of ``GANZOO_DIST_TIMEOUT``: a validation that outlasts
    the collective timeout cannot fail the job, and the next step's collectives start with every rank present."""
    if not current.active:
        return flags
    t = torch.tensor([int(f) for f in flags], dtype=torch.int32)
    dist.broadcast(t, src=0, group=_main_work_group)
    return [bool(v) for v in t.tolist()]


def any_rank(flags: list[bool], current: World) -> list[bool]:
    """For each flag, whether it is set on any rank (one small all-reduce)."""
    if not current.active:
        return flags
    t = torch.tensor([int(f) for f in flags], dtype=torch.int32, device=_collective_device())
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return [bool(v) for v in t.tolist()]


def average_gradients(grads: list[torch.Tensor], current: World) -> None:
    """Each gradient replaced, in place, by its mean over the ranks (one all-reduce for all of them): what DDP does in
    its backward hooks, for gradients computed without autograd."""
    if not current.active or not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    flat /= current.size
    offset = 0
    for g in grads:
        g.copy_(flat[offset:offset + g.numel()].view_as(g))
        offset += g.numel()


def mean_across(values: dict[str, torch.Tensor], current: World) -> dict[str, torch.Tensor]:
    """Each scalar averaged over the ranks (one all-reduce for all of them), for logging."""
    if not current.active or not values:
        return values
    keys = sorted(values)
    t = torch.stack([values[k].detach().float().reshape(()) for k in keys]).to(_collective_device())
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    t /= current.size
    return {k: t[i] for i, k in enumerate(keys)}


def check_in_sync(modules: dict[str, torch.nn.Module], current: World, step: int) -> None:
    """Raise when the ranks' parameters differ (they must be bit-identical: every rank applies the same averaged
    gradients). Cheap: one float64 checksum per tensor, compared with a MAX and a MIN all-reduce.

    Buffers are not compared: BatchNorm's running statistics follow each rank's own batches (rank 0's are saved)."""
    if not current.active:
        return
    names, sums = [], []
    for prefix, module in modules.items():
        for name, tensor in module.named_parameters():
            names.append(f"{prefix}.{name}")
            sums.append(tensor.detach().double().sum())
    local = torch.stack(sums).to(_collective_device())
    high, low = local.clone(), local.clone()
    dist.all_reduce(high, op=dist.ReduceOp.MAX)
    dist.all_reduce(low, op=dist.ReduceOp.MIN)
    differ = (high != low).nonzero().flatten().tolist()
    if differ:
        raise RuntimeError(f"the ranks' weights diverged at step {step} (first: {names[differ[0]]}); "
                           "a parameter may be changed outside the optimizer, which DDP does not synchronise")


def _collective_device() -> torch.device:
    return torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else torch.device("cpu")


def torchrun_args(nproc: int, argv: list[str], device: Optional[str]) -> list[str]:
    """torchrun's arguments to run ``ganzoo ARGV`` in ``nproc`` processes on this machine.

    Raises:
        ConfigError: more processes than this machine has cores (CPU) or GPUs (CUDA).
    """
    if nproc < 1:
        raise ConfigError(f"--nproc {nproc} must be at least 1")
    wants_cuda = (device or "auto").startswith("cuda") or (device in (None, "auto") and torch.cuda.is_available())
    if wants_cuda:
        gpus = torch.cuda.device_count()
        if nproc > gpus:
            raise ConfigError(f"--nproc {nproc} needs {nproc} GPUs, this machine has {gpus}: use --nproc {max(gpus, 1)} "
                              "or fewer (several machines: run torchrun on each, see README 'Scaling out')")
    else:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        if nproc > cores:
            raise ConfigError(f"--nproc {nproc} is more processes than the {cores} CPU cores this process may use: "
                              f"use --nproc {cores} or fewer")
    return ["--standalone", f"--nproc-per-node={nproc}", "-m", "ganzoo", *argv]


def launch(args: list[str]) -> int:
    """Run torchrun with ``args`` in this process, which becomes its agent, and return the job's exit code.

    Ctrl-C in a terminal reaches the agent and the workers alike; a SIGTERM sent to this process is passed on to the
    workers by torchrun. Either way the workers finish their step, checkpoint and exit; the code is then 128 + the
    signal's number (130, 143), without torchrun's traceback.
    """
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import parse_args, run

    # `python -m` would otherwise put the current folder first on sys.path in every rank
    os.environ["PYTHONSAFEPATH"] = "1"
    try:
        run(parse_args(args))
    except SignalException as exc:
        return 128 + int(exc.sigval)
    except ChildFailedError as exc:
        rank, failure = exc.get_first_failure()
        if failure.exitcode in (128 + 2, 128 + 15):  # the ranks stopped gracefully: a signal reached a worker only
            return failure.exitcode
        raise GanzooError(f"training process {rank} of the job failed (exit code {failure.exitcode}); its own error is "
                          "printed above, and the last checkpoint is kept") from None
    return 0
