"""The adversarial training loop, its configuration, run folders and checkpoints."""

from ganzoo.train.config import TrainConfig, resolve_config
from ganzoo.train.loop import TrainResult, train

__all__ = ["TrainConfig", "resolve_config", "TrainResult", "train"]
