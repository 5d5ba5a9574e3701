"""The adversarial training loop, its configuration, run folders and checkpoints.

``train`` and ``TrainResult`` are imported on first use: ``ganzoo.train.config`` (no torch) stays cheap to import for
the command line's help."""

from typing import Any

from ganzoo.train.config import TrainConfig, resolve_config

__all__ = ["TrainConfig", "resolve_config", "TrainResult", "train"]


def __getattr__(name: str) -> Any:
    if name in ("train", "TrainResult"):
        from ganzoo.train import loop

        return getattr(loop, name)
    raise AttributeError(f"module 'ganzoo.train' has no attribute {name!r}")
