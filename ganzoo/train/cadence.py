"""When a run logs, draws pictures, validates, checkpoints and checks for non-finite values: one rule, read by the loop
and the non-finite guard alike."""

from __future__ import annotations

from dataclasses import dataclass

from ganzoo.train.config import TrainConfig

__all__ = ["Cadence", "Due"]


@dataclass(frozen=True)
class Due:
    """What is due after a step. Everything but ``check`` writes to the run folder."""

    log: bool
    sample: bool
    validate: bool
    checkpoint: bool
    check: bool  # the non-finite guard's own cadence

    @property
    def writes(self) -> bool:
        return self.log or self.sample or self.validate or self.checkpoint

    @property
    def agree(self) -> bool:
        """Whether the ranks of a multi-process run agree on a stop request now. A signal can reach one rank before
        another, so the ranks must agree, but a stop can wait a few steps: agreeing where the guard checks or anything
        is written (every ``nonfinite_check_every`` steps by default) keeps a collective and a host sync out of every
        other step."""
        return self.check or self.writes


@dataclass(frozen=True)
class Cadence:
    """Every N steps (0 = never) for each kind of bookkeeping; the run's last step is always due for all of them."""

    steps: int
    log_every: int
    sample_every: int
    val_every: int
    checkpoint_every: int
    check_every: int

    @classmethod
    def of(cls, cfg: TrainConfig) -> "Cadence":
        return cls(cfg.steps, cfg.log_every, cfg.sample_every, cfg.val_every, cfg.checkpoint_every,
                   cfg.nonfinite_check_every)

    def due(self, step: int) -> Due:
        last = step == self.steps

        def every(n: int) -> bool:
            return last or (bool(n) and step % n == 0)

        return Due(log=every(self.log_every), sample=every(self.sample_every), validate=every(self.val_every),
                   checkpoint=every(self.checkpoint_every), check=every(self.check_every))
