"""The loss and penalty kinds the fused kernels implement: one table, read by the ops and their references, the plugin
specs' checks and the kernels' registration. ``tests/ops/test_kinds.py`` holds it against the enums of
``csrc/ops_common.h``. No torch import: plugin specs are checked without it."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Kind", "LOSSES", "PENALTIES", "LOSS_KINDS", "PENALTY_KINDS", "loss_kind", "penalty_kind",
           "loss_name", "penalty_name", "check_label_smoothing"]


@dataclass(frozen=True)
class Kind:
    """A kind's name (the Python side's), its kernel code (``enum`` in csrc/ops_common.h) and what it computes, with
    r, f the real and fake logits, g the input gradients, w the weight and c the center."""

    name: str
    code: int
    enum: str
    formula: str


LOSSES = (
    Kind("bce", 0, "kBce", "mean softplus(-r) + mean softplus(f); real target 1 - s under label smoothing s"),
    Kind("hinge", 1, "kHinge", "mean relu(1 - r) + mean relu(1 + f)"),
    Kind("wasserstein", 2, "kWasserstein", "mean f - mean r"),
)
# R1 and R2 share a formula and a kernel: they differ in where g is taken, which is the trainer's business.
PENALTIES = (
    Kind("two_sided", 0, "kTwoSided", "w * mean (||g|| - c)^2"),
    Kind("one_sided", 1, "kOneSided", "w * mean max(0, ||g|| - c)^2"),
    Kind("r1", 2, "kSquaredNorm", "w / 2 * mean ||g||^2, g at real samples"),
    Kind("r2", 2, "kSquaredNorm", "w / 2 * mean ||g||^2, g at fake samples"),
)
LOSS_KINDS = tuple(k.name for k in LOSSES)
PENALTY_KINDS = tuple(k.name for k in PENALTIES)
_LOSSES = {k.name: k for k in LOSSES}
_PENALTIES = {k.name: k for k in PENALTIES}


def loss_kind(name: str) -> Kind:
    if name not in _LOSSES:
        raise ValueError(f"unknown loss kind {name!r}: expected one of {LOSS_KINDS}")
    return _LOSSES[name]


def penalty_kind(name: str) -> Kind:
    if name not in _PENALTIES:
        raise ValueError(f"unknown penalty kind {name!r}: expected one of {PENALTY_KINDS}")
    return _PENALTIES[name]


def loss_name(code: int) -> str:
    """The loss kind a kernel code stands for."""
    return next(k.name for k in LOSSES if k.code == code)


def penalty_name(code: int) -> str:
    """A penalty kind a kernel code stands for (the first: R1 for the squared norm, whose formula R2 shares)."""
    return next(k.name for k in PENALTIES if k.code == code)


def check_label_smoothing(loss: str, label_smoothing: float) -> None:
    """Raise ValueError when ``label_smoothing`` is given to a loss other than bce: one-sided smoothing moves bce's real
    target to 1 - s, and the other losses have no target to move. The one home of that rule for every op."""
    if label_smoothing and loss != "bce":
        raise ValueError(f"label_smoothing applies to the bce loss, not {loss!r}")
