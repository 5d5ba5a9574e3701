"""What a run writes besides checkpoints: the logged means (metrics.jsonl, TensorBoard), sample pictures and the loss
curve. Only rank 0 writes; every rank keeps the running sums, because logging averages them across ranks."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch
from torch import nn

from ganzoo.seeding import PREVIEW_SEED
from ganzoo.specs import LoadedData, Plan
from ganzoo.train import distributed
from ganzoo.train.models import classes_in_turn, generate
from ganzoo.train.run import METRICS_FILE

__all__ = ["RunRecords", "save_samples", "save_loss_curve", "save_validation_curve", "plan_record"]

PREVIEW_IMAGES, PREVIEW_POINTS = 64, 2500


class RunRecords:
    """The window of values since the last logged step, and the run's log files (open on rank 0 only).

    fp16 (``skip_nonfinite``): an overflow is expected now and then (the scaler skips that step and lowers its scale), so
    the means leave non-finite values out and count them as ``amp_skipped`` instead of turning a window into NaN.
    """

    def __init__(self, run_dir: Path, world: distributed.World, skip_nonfinite: bool = False):
        self.world, self.skip_nonfinite = world, skip_nonfinite
        self.log = (run_dir / METRICS_FILE).open("a") if world.main else None
        self.writer = _tensorboard(run_dir) if world.main else None
        self.sums: dict[str, torch.Tensor] = {}
        self.counts: dict[str, Any] = {}
        self.window_start, self.window_samples = time.perf_counter(), 0

    def add(self, values: dict[str, torch.Tensor]) -> None:
        # kept on the device: reading a value forces a sync, so they are read only when a record is logged
        for key, value in values.items():
            value = value.detach().float()
            counted: Any = 1
            if self.skip_nonfinite:
                finite = torch.isfinite(value)
                value = torch.where(finite, value, torch.zeros_like(value))
                counted = finite.float()
                self.counts[key + "/all"] = self.counts.get(key + "/all", 0) + 1
            self.sums[key] = self.sums[key] + value if key in self.sums else value
            self.counts[key] = self.counts[key] + counted if key in self.counts else counted

    def count_samples(self, n: int) -> None:
        self.window_samples += n

    def clear(self) -> None:
        """Forget the window (after logging it, or after the guard threw it away)."""
        self.sums.clear()
        self.counts.clear()

    def log_window(self, step: int, extra: Optional[dict[str, Any]] = None) -> dict[str, Any]:
        """The window's means (averaged over the ranks) and throughput as a record, written on rank 0; starts a new
        window. Collective: every rank calls it at the same steps."""
        sums = distributed.mean_across(self.sums, self.world)
        elapsed = time.perf_counter() - self.window_start
        record = {"step": step, **_means(sums, self.counts), "samples_per_s": self.window_samples / max(elapsed, 1e-9),
                  **(extra or {})}
        if not all(math.isfinite(v) for v in record.values()):
            record["nonfinite"] = True
        self.write(record)
        self.clear()
        self.window_start, self.window_samples = time.perf_counter(), 0
        return record

    def write(self, record: dict[str, Any]) -> None:
        """One line of metrics.jsonl (and its numbers to TensorBoard); a no-op off rank 0."""
        if self.log is None:
            return
        self.log.write(json.dumps(record) + "\n")
        self.log.flush()
        if self.writer is not None:
            for key, value in _flatten(record).items():
                if key != "step":
                    self.writer.add_scalar(key, value, record["step"])

    def picture(self, step: int, path: Path) -> None:
        """A sample picture the run just wrote, also to TensorBoard's Images tab (tag ``samples``)."""
        if self.writer is not None:
            from PIL import Image

            with Image.open(path) as image:
                pixels = np.asarray(image.convert("RGB"))
            self.writer.add_image("samples", pixels, step, dataformats="HWC")

    def close(self) -> None:
        if self.log is not None:
            self.log.close()
        if self.writer is not None:
            self.writer.close()


def _means(sums: dict[str, torch.Tensor], counts: dict[str, Any]) -> dict[str, float]:
    """The logged means; where non-finite values were left out (fp16), ``amp_skipped`` says how many critic updates."""
    means = {key: float(total) / float(counts[key]) if float(counts[key]) else math.nan for key, total in sums.items()}
    if "d_loss/all" in counts:
        means["amp_skipped"] = counts["d_loss/all"] - float(counts["d_loss"])
    return means


def _flatten(record: dict[str, Any], prefix: str = "") -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in record.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}/"))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out[prefix + key] = value
    return out


def _tensorboard(run_dir: Path):  # noqa: ANN202
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is an optional extra: pip install "ganzoo[tensorboard]"
        return None
    return SummaryWriter(str(run_dir / "tensorboard"))


def save_samples(run_dir: Path, step: int, generator: nn.Module, latent_dim: int, device: torch.device, seed: int,
                 data: LoadedData, num_classes: int) -> Path:
    """``samples/step_NNNNNN.png`` from fixed noise, at the generator's current size (a growing generator's pictures
    show the stage it has reached); returns its path."""
    from ganzoo.viz import save_samples_picture

    n = PREVIEW_IMAGES if data.info.kind == "images" else PREVIEW_POINTS
    fake = generate(generator, n, latent_dim, device, torch.Generator().manual_seed(seed + PREVIEW_SEED),
                    classes_in_turn(n, num_classes))
    path = run_dir / "samples" / f"step_{step:06d}.png"
    save_samples_picture(fake.numpy(), path, data.info.kind, data.info.value_range, nrow=num_classes or None,
                         real=data.x[:len(fake)].numpy(), title=f"step {step}: generated (blue) vs real (grey)")
    return path


def save_loss_curve(run_dir: Path, logged: list[dict[str, Any]]) -> None:
    """``loss_curve.png`` from the run's records (``read_metrics``)."""
    from ganzoo.viz import save_curves

    records = [r for r in logged if "d_loss" in r]
    if records:
        keys = [k for k in ("d_loss", "g_loss", "gp") if k in records[-1]]
        save_curves({k: ([r["step"] for r in records], [r.get(k, math.nan) for r in records]) for k in keys},
                    run_dir / "loss_curve.png", title="losses by generator step")


def save_validation_curve(run_dir: Path, logged: list[dict[str, Any]], metric: str, key: str) -> None:
    """``val_curve.png`` from the run's records: the validation score against training minutes (the loop's time,
    resumes summed), so a run validated with ``--val-metric inception`` shows its FID against the minutes it cost."""
    from ganzoo.viz import save_curves

    points = [(r["elapsed_s"] / 60, r["val"][metric][key]) for r in logged
              if metric in r.get("val", {}) and "elapsed_s" in r]
    if points:
        save_curves({f"{metric}.{key}": ([m for m, _ in points], [v for _, v in points])}, run_dir / "val_curve.png",
                    title=f"validation {metric}.{key} against training minutes")


def plan_record(plan: Optional[Plan], images: int) -> dict[str, Any]:
    """A schedule's position, logged beside the losses."""
    return {} if plan is None else {"images": images, **plan.values}
