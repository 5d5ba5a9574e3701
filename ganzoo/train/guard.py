"""The non-finite guard: catches NaN/Inf losses and gradients without a host sync per step, and recovers from them."""

from __future__ import annotations

import copy
from typing import Any, Optional

import torch
from torch import nn

from ganzoo.train import distributed
from ganzoo.train.state import TrainState

__all__ = ["NonFiniteGuard", "Snapshot"]


class NonFiniteGuard:
    """Each update ORs "loss not finite" into a flag on the device (one op: no host sync, no pass over the gradients).
    The loop reads the flag when the cadence says a check is due: every ``nonfinite_check_every`` steps and always
    before anything is logged, validated or saved, so nothing non-finite is ever written. The check also looks at the
    parameters once: a non-finite gradient with a finite loss leaves NaN in them (Adam turns an Inf gradient into
    Inf / Inf), so the window is caught all the same. A window that went bad is skipped: the networks, optimizers and
    step count go back to the last check that passed (kept in memory), while the data position and the noise stream go
    on, so the retry sees new batches. After ``patience`` bad windows in a row it rolls back the same way with the
    learning rates halved, and after ``max_rollbacks`` rollbacks it stops the run as diverged.
    """

    def __init__(self, networks: dict[str, Optional[nn.Module]], optimizers: dict[str, Any], state: TrainState,
                 device: torch.device, *, patience: int, max_rollbacks: int):
        self.state, self.patience, self.max_rollbacks = state, patience, max_rollbacks
        self.networks = {k: v for k, v in networks.items() if v is not None}
        self.optimizers = optimizers
        self.flag = torch.zeros((), dtype=torch.bool, device=device)
        self.streak = 0
        self.snapshot = Snapshot(device)
        self.snapshot.take(self.networks, self.optimizers, state)

    def watch(self, loss: torch.Tensor) -> None:
        self.flag |= ~torch.isfinite(loss.detach())

    def _parameters_finite(self) -> torch.Tensor:
        params = [p.detach() for m in self.networks.values() for p in m.parameters()]
        return torch.isfinite(torch.stack(torch._foreach_norm(params)).sum()) if params else self.flag.new_ones(())

    def check(self, world: distributed.World) -> Optional[dict[str, Any]]:
        """None when the window since the last check was finite; otherwise the event to log, after recovering (the
        state's step is then the last good one)."""
        (bad,) = distributed.any_rank([bool(self.flag | ~self._parameters_finite())], world)
        self.flag.zero_()
        if not bad:
            self.streak = 0
            self.snapshot.take(self.networks, self.optimizers, self.state)
            return None
        self.streak += 1
        step, good_step = self.state.step, self.snapshot.step
        event: dict[str, Any] = {"step": step, "event": "nonfinite", "window": [good_step + 1, step]}
        if self.streak < self.patience:
            event["action"] = "skip"
        elif self.state.rollbacks >= self.max_rollbacks:
            event["action"] = "stop"
            return event
        else:
            event["action"] = "rollback"
            self.streak = 0
        self.snapshot.restore(self.networks, self.optimizers, self.state)
        if event["action"] == "rollback":
            self.state.rollbacks += 1
            self.state.lr_scale *= 0.5
            event["lr_scale"] = self.state.lr_scale
        event["resume_from"] = self.state.step
        return event


class Snapshot:
    """The guard's rollback point: one copy of the networks' and optimizers' state and of the rollback counters.

    The buffers are allocated at the first check and overwritten in place at every check that passes, so the guard holds
    one copy of the weights and optimizer state all run and no check allocates (a deep copy per check held two copies
    while the new one was made, and churned the allocator). They live in CPU memory, pinned for a CUDA run: the GPU
    keeps no second copy of a large model, and the copy out is queued on the training stream (no host sync; the stream
    orders it before the next update). Restoring is rare, so it may allocate."""

    def __init__(self, device: torch.device):
        self.pin = device.type == "cuda"
        self.buffers: list[torch.Tensor] = []
        self.layout: list[tuple[Any, ...]] = []
        self.skeleton: dict[str, Any] = {}

    @property
    def nbytes(self) -> int:
        return sum(b.numel() * b.element_size() for b in self.buffers)

    def take(self, networks: dict[str, nn.Module], optimizers: dict[str, Any], state: TrainState) -> None:
        live: list[torch.Tensor] = []
        skeleton = {"networks": {k: _hollow(m.state_dict(), live) for k, m in networks.items()},
                    "optimizers": {k: _hollow(o.state_dict(), live) for k, o in optimizers.items()},
                    "state": {k: copy.deepcopy(getattr(state, k)) for k in TrainState.ROLLBACK_FIELDS}}
        layout = [(t.shape, t.stride(), t.dtype) for t in live]
        if layout != self.layout:  # the first check, or an optimizer that has created its state since
            self.buffers = [torch.empty_strided(shape, stride, dtype=dtype, device="cpu", pin_memory=self.pin)
                            for shape, stride, dtype in layout]
            self.layout = layout
        for buffer, tensor in zip(self.buffers, live):
            buffer.copy_(tensor.detach(), non_blocking=self.pin)
        self.skeleton = skeleton

    def restore(self, networks: dict[str, nn.Module], optimizers: dict[str, Any], state: TrainState) -> None:
        if self.pin:
            torch.cuda.current_stream().synchronize()  # the queued copies out have landed before the host reads them
        for key, module in networks.items():
            module.load_state_dict(_fill(self.skeleton["networks"][key], self.buffers, clone=False))  # copies into it
        for key, opt in optimizers.items():
            # an optimizer keeps the tensors it is given (same device and dtype): it must not get the buffers themselves
            opt.load_state_dict(_fill(self.skeleton["optimizers"][key], self.buffers, clone=True))
        for key, value in self.skeleton["state"].items():
            setattr(state, key, copy.deepcopy(value))

    @property
    def step(self) -> int:
        """The step it was taken at."""
        return self.skeleton["state"]["step"]


class _Slot(int):
    """Where a tensor stood in a state dict: its index among the snapshot's buffers."""


def _hollow(value: Any, live: list[torch.Tensor]) -> Any:
    """A copy of ``value`` (a state dict) with each tensor replaced by its slot, the tensor appended to ``live``. A
    module's state dict keeps its ``_metadata`` (the versions its layers load by)."""
    if isinstance(value, torch.Tensor):
        live.append(value)
        return _Slot(len(live) - 1)
    if isinstance(value, dict):
        hollow = type(value)((k, _hollow(v, live)) for k, v in value.items())
        if hasattr(value, "_metadata"):
            hollow._metadata = copy.deepcopy(value._metadata)  # type: ignore[attr-defined]
        return hollow
    if isinstance(value, (list, tuple)):
        return type(value)(_hollow(v, live) for v in value)
    return copy.deepcopy(value)


def _fill(value: Any, buffers: list[torch.Tensor], *, clone: bool) -> Any:
    """``_hollow`` undone: each slot replaced by its buffer (or a copy of it)."""
    if isinstance(value, _Slot):
        return buffers[value].clone() if clone else buffers[value]
    if isinstance(value, dict):
        filled = type(value)((k, _fill(v, buffers, clone=clone)) for k, v in value.items())
        if hasattr(value, "_metadata"):
            filled._metadata = value._metadata  # type: ignore[attr-defined]
        return filled
    if isinstance(value, (list, tuple)):
        return type(value)(_fill(v, buffers, clone=clone) for v in value)
    return value
