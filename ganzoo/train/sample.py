"""Generating from a finished (or running) run: rebuild the generator from config.json, load its weights from a
safetensors checkpoint (the generator average when the run kept one) and write a PNG or .npy."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import torch
from torch import nn

from ganzoo.errors import CheckpointError, ConfigError
from ganzoo.io import atomic_path
from ganzoo.registry import Registry
from ganzoo.seeding import torch_seeded
from ganzoo.specs import DataInfo
from ganzoo.train.checkpoint import generator_weights, load_checkpoint
from ganzoo.train.config import TrainConfig, config_from_json
from ganzoo.train.models import build_models, classes_in_turn, generate, pick_device
from ganzoo.train.run import check_installed, checkpoint_path, info_from_json, read_run_config
from ganzoo.train.state import images_seen

__all__ = ["LoadedGenerator", "class_labels", "draw_samples", "load_generator", "sample_to_file"]


@dataclass
class LoadedGenerator:
    generator: nn.Module
    latent_dim: int
    info: DataInfo
    config: TrainConfig
    num_classes: int
    step: int
    device: torch.device
    averaged: bool


def _no_checkpoint_yet(run_dir: Path, which: str, config: TrainConfig) -> str:
    if which == "best" and not config.val_every:
        return f"{run_dir} does not validate (--val-every 0), so it keeps no best checkpoint: use --checkpoint last"
    every = config.val_every if which == "best" else config.checkpoint_every
    when = f"the first is written at step {min(every, config.steps):,}" if every else "one is written when it stops"
    return f"{run_dir} has no {which!r} checkpoint yet ({when}): wait for it, or stop the run with Ctrl-C"


def load_generator(registry: Registry, run_dir: Path, which: str = "last", device: str = "cpu") -> LoadedGenerator:
    """The run's generator, from ``checkpoints/<which>.safetensors`` (``G_ema`` weights when present)."""
    saved = read_run_config(run_dir)
    check_installed(registry, saved, run_dir)
    config = config_from_json(saved["config"])
    info = info_from_json(saved["data_info"])
    arch = registry.get("arch", config.arch)
    num_classes = info.num_classes if config.conditional else 0
    dev = pick_device(device)
    path = checkpoint_path(run_dir, which)
    if not path.is_file():
        raise CheckpointError(_no_checkpoint_yet(run_dir, which, config))
    tensors, state = load_checkpoint(path, expect={"arch": config.arch})
    # a growing generator at the stage the run had reached when this checkpoint was written (its initial weights are
    # overwritten by the checkpoint's; seeded all the same, so that building it draws the same numbers every time)
    with torch_seeded(0):
        models, _ = build_models(arch, config, info, dev, num_classes, images_seen(state, config.batch_size))
    weights, averaged = generator_weights(tensors)
    try:
        models.generator.load_state_dict(weights, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"{run_dir}: checkpoint does not fit the generator ({str(exc).splitlines()[0][:160]})") from None
    return LoadedGenerator(models.generator.eval(), models.latent_dim, info, config, num_classes, state["step"], dev,
                           averaged)


def class_labels(loaded: LoadedGenerator, n: int, class_id: Optional[int]) -> Optional[torch.Tensor]:
    """The labels ``n`` samples are drawn for: ``class_id`` for all, the classes in turn when None, or None for an
    unconditional run."""
    if class_id is not None:
        if not loaded.num_classes:
            raise ConfigError("--class needs a run trained with --conditional")
        if not 0 <= class_id < loaded.num_classes:
            raise ConfigError(f"--class {class_id} is out of range: this run has classes 0..{loaded.num_classes - 1}")
        return torch.full((n,), class_id, dtype=torch.long)
    return classes_in_turn(n, loaded.num_classes)


def check_noise_scale(noise_scale: float) -> None:
    if isinstance(noise_scale, bool) or not isinstance(noise_scale, (int, float)) or not 0 < noise_scale < math.inf:
        raise ConfigError(f"--noise-scale {noise_scale} must be a positive finite number: 1 draws the noise the "
                          "generator was trained on")


def draw_samples(loaded: LoadedGenerator, n: int, seed: int = 0, class_id: Optional[int] = None,
                 noise_scale: float = 1.0) -> torch.Tensor:
    """``n`` samples from the loaded generator, as ``ganzoo sample`` draws them (the same seed, the same samples):
    one class with ``class_id``, else the classes in turn; ``noise_scale`` multiplies the noise. The callers check
    ``n`` and the scale first, each in its own words (command-line flags or Python names)."""
    labels = class_labels(loaded, n, class_id)
    return generate(loaded.generator, n, loaded.latent_dim, loaded.device, torch.Generator().manual_seed(seed), labels,
                    noise_scale=noise_scale)


def sample_to_file(loaded: LoadedGenerator, n: int, out: Path, seed: int = 0, class_id: Optional[int] = None,
                   noise_scale: float = 1.0) -> torch.Tensor:
    """Generate ``n`` samples and write them: ``.png`` (image grid, or scatter for 2-D points) or ``.npy`` (the array).
    ``noise_scale`` multiplies the noise (``generate``)."""
    if n < 1:
        raise ConfigError(f"--n {n} must be at least 1")
    check_noise_scale(noise_scale)
    suffix = out.suffix.lower()
    if suffix not in (".png", ".npy"):
        raise ConfigError(f"--out {out}: the file must end in .png (picture) or .npy (array)")
    fake = draw_samples(loaded, n, seed, class_id, noise_scale)
    if suffix == ".npy":
        with atomic_path(out, suffix=".npy") as tmp:
            np.save(tmp, fake.numpy())
    else:
        from ganzoo.viz import save_samples_picture

        save_samples_picture(fake.numpy(), out, loaded.info.kind, loaded.info.value_range,
                             nrow=loaded.num_classes if loaded.num_classes and class_id is None else None,
                             title=f"{n} samples, step {loaded.step}")
    return fake
