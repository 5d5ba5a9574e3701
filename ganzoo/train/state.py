"""What a run has done so far: the counters the loop advances, the non-finite guard rolls back, and a checkpoint keeps."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping, Optional

__all__ = ["TrainState"]


@dataclass
class TrainState:
    """The run's position and its bookkeeping, saved as JSON in every checkpoint.

    ``batches`` and ``images`` are the data position (critic batches drawn, real samples shown); a schedule's plan is a
    function of ``images``. ``stage`` is the schedule's stage of the last iteration. ``best`` is the best validation so
    far (``{"step", "metric", "key", "value"}``). ``lr_scale`` and ``rollbacks`` are the non-finite guard's, ``amp`` the
    fp16 loss scalers' states (``{"d": ..., "g": ...}``). ``elapsed_s`` is the wall time spent in the training loop,
    summed over resumes (validation records carry it: the time a run took to reach a score).
    """

    step: int = 0
    batches: int = 0
    images: int = 0
    stage: Optional[int] = None
    best: Optional[dict[str, Any]] = None
    bad_validations: int = 0
    lr_scale: float = 1.0
    rollbacks: int = 0
    amp: Optional[dict[str, Any]] = None
    elapsed_s: float = 0.0

    # What the non-finite guard puts back when it skips a bad window; the data position goes on, so a retry sees new data.
    ROLLBACK_FIELDS = ("step", "best", "bad_validations", "stage")

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, saved: Mapping[str, Any], batch_size: int) -> "TrainState":
        """The state a checkpoint recorded; ``batch_size`` dates checkpoints from before ``images`` was kept."""
        return cls(step=saved["step"], batches=saved["batches"], images=images_seen(saved, batch_size),
                   stage=saved.get("stage"), best=saved["best"], bad_validations=saved["bad_validations"],
                   lr_scale=saved.get("lr_scale", 1.0), rollbacks=saved.get("rollbacks", 0), amp=saved.get("amp"),
                   elapsed_s=saved.get("elapsed_s", 0.0))


def images_seen(saved: Mapping[str, Any], batch_size: int) -> int:
    """Real samples shown to D before a checkpoint; those from before schedules existed had one batch size throughout."""
    return int(saved.get("images", saved["batches"] * batch_size))
