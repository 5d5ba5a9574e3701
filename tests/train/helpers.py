"""Tiny, fast training set-ups shared by the trainer tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Optional

import torch

from ganzoo.registry import default_registry
from ganzoo.train import resolve_config, train
from ganzoo.train.checkpoint import load_checkpoint
from ganzoo.train.run import checkpoint_path, prepare_new_run

# Small networks and data so that each run takes a second or two on a 2-core CPU.
TINY_SETS = {
    "vanilla": ["hidden=16", "depth=2", "data.n=2000"],
    "dcgan": ["base_channels=8", "latent_dim=16"],
    "wgan_gp": ["hidden=16", "depth=2", "base_channels=8", "latent_dim=8", "data.n=2000"],
    # 8x8 digits: 4x4 stable for 2 steps of 32, 8x8 fade-in for 2 steps (alpha 0, 0.5), then 8x8 stable
    "progan": ["latent_dim=16", "fmap_base=64", "fmap_max=16", "fade_images=64", "stable_images=64"],
}
# lr_decay none: the resume tests extend runs (4 -> 7 steps), and a linear decay (wgan_gp's default on points) runs to
# the run's last step, so an extended run decays differently from a straight one
TINY = {"log_every": 2, "sample_every": 3, "checkpoint_every": 3, "val_every": 3, "val_samples": 200, "batch_size": 32,
        "lr_decay": "none"}


def tiny_run(tmp: Path, arch: str, dataset: str, steps: int = 4, *, resume: bool = False,
             stop_after: Optional[int] = None, extra_sets: tuple[str, ...] = (), **options: Any):
    """Train ``arch`` on ``dataset`` in ``tmp`` with tiny settings; ``stop_after`` simulates Ctrl-C after that step."""
    opts = {**TINY, "arch": arch, "dataset": dataset, "steps": steps, **options}
    if dataset in ("digits", "mnist", "fashion_mnist"):
        opts.setdefault("image_size", 8)
    sets = [s for s in TINY_SETS[arch] if not (s.startswith("data.") and dataset not in ("ring", "grid", "swissroll"))]
    registry = default_registry()
    if resume:  # as `ganzoo train --resume TMP --steps STEPS` resolves it
        from ganzoo.train.config import resolve_resume

        resolved = resolve_resume(registry, tmp, {"steps": steps})
    else:
        resolved = resolve_config(registry, opts, [*sets, *extra_sets])
        prepare_new_run(tmp)
    calls = {"n": 0}

    def stop() -> bool:
        calls["n"] += 1
        return stop_after is not None and calls["n"] >= stop_after

    return train(resolved, tmp, resume=resume, stop_requested=stop)


def checkpoint_tensors(run_dir: Path, which: str = "last") -> dict[str, torch.Tensor]:
    return load_checkpoint(checkpoint_path(run_dir, which))[0]


def assert_same_tensors(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor], skip: Callable[[str], bool] = lambda k: False) -> None:
    keys_a = {k for k in a if not skip(k)}
    assert keys_a == {k for k in b if not skip(k)}
    for key in sorted(keys_a):
        assert torch.equal(a[key], b[key]), f"{key} differs"
