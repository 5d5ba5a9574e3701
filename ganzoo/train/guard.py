"""The non-finite guard: catches NaN/Inf losses and gradients without a host sync per step, and recovers from them."""

from __future__ import annotations

import copy
from typing import Any, Optional

import torch
from torch import nn

from ganzoo.train import distributed
from ganzoo.train.state import TrainState

__all__ = ["NonFiniteGuard"]


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
        self.snapshot = self._take()

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
            self.snapshot = self._take()
            return None
        self.streak += 1
        step, good_step = self.state.step, self.snapshot["state"]["step"]
        event: dict[str, Any] = {"step": step, "event": "nonfinite", "window": [good_step + 1, step]}
        if self.streak < self.patience:
            event["action"] = "skip"
        elif self.state.rollbacks >= self.max_rollbacks:
            event["action"] = "stop"
            return event
        else:
            event["action"] = "rollback"
            self.streak = 0
        self._restore()
        if event["action"] == "rollback":
            self.state.rollbacks += 1
            self.state.lr_scale *= 0.5
            event["lr_scale"] = self.state.lr_scale
        event["resume_from"] = self.state.step
        return event

    def _take(self) -> dict[str, Any]:
        return {"networks": {k: copy.deepcopy(m.state_dict()) for k, m in self.networks.items()},
                "optimizers": {k: copy.deepcopy(o.state_dict()) for k, o in self.optimizers.items()},
                "state": {k: copy.deepcopy(getattr(self.state, k)) for k in TrainState.ROLLBACK_FIELDS}}

    def _restore(self) -> None:
        for key, module in self.networks.items():
            module.load_state_dict(self.snapshot["networks"][key])
        for key, opt in self.optimizers.items():
            opt.load_state_dict(copy.deepcopy(self.snapshot["optimizers"][key]))
        for key, value in self.snapshot["state"].items():
            setattr(self.state, key, copy.deepcopy(value))
