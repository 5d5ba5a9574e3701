"""Proof that the zoo learns: wgan_gp with its defaults covers the 8-Gaussian ring (about a minute on a 2-core CPU).

The check is computed here from the samples and the ring's geometry, not by ganzoo's metric code.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

from ganzoo.registry import default_registry
from ganzoo.train import resolve_config, train
from ganzoo.train.run import prepare_new_run
from ganzoo.train.sample import load_generator
from ganzoo.train.loop import generate

STEPS = 1000
N_SAMPLES = 2500
RADIUS = 0.25


def test_wgan_gp_covers_all_eight_modes_of_the_ring(tmp_path: Path) -> None:
    registry = default_registry()
    resolved = resolve_config(registry, {"arch": "wgan_gp", "dataset": "ring", "steps": STEPS, "val_every": 0,
                                         "sample_every": 0, "log_every": 100})
    prepare_new_run(tmp_path)
    assert train(resolved, tmp_path).status == "finished"

    loaded = load_generator(registry, tmp_path)
    samples = generate(loaded.generator, N_SAMPLES, loaded.latent_dim, loaded.device, torch.Generator().manual_seed(2026))
    angles = torch.arange(8) * (2 * math.pi / 8)
    centres = torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)
    dist = torch.cdist(samples.double(), centres.double())
    near = dist < RADIUS
    per_mode = near.sum(dim=0)
    share_near = near.any(dim=1).double().mean().item()
    print(f"\nwgan_gp on ring after {STEPS} steps: {share_near:.1%} within {RADIUS} of a centre; per mode {per_mode.tolist()}")
    assert (per_mode >= 0.01 * N_SAMPLES).all(), f"modes not covered: {per_mode.tolist()}"
    assert share_near >= 0.5, f"only {share_near:.1%} of samples within {RADIUS} of a centre"
