"""TensorBoard (in the dev extra): a run writes its logged scalars and its sample pictures as events that TensorBoard's
own reader reads back."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")


def test_scalars_and_sample_pictures_read_back_with_tensorboards_reader(run_cli, tmp_path: Path) -> None:
    run = tmp_path / "run"
    result = run_cli("train", "--steps", "4", "--quiet", "--log-every", "2", "--sample-every", "2", "--val-every", "4",
                     "--val-samples", "200", "--batch-size", "32", "--set", "hidden=16", "--set", "data.n=1000",
                     "--out", str(run))
    assert result.exit_code == 0, result.stderr
    events = event_accumulator.EventAccumulator(str(run / "tensorboard"), size_guidance={"images": 0, "scalars": 0})
    events.Reload()
    tags = events.Tags()
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    # every logged number, under its metrics.jsonl name, at its step, with its value
    logged = [r for r in records if "d_loss" in r]
    scalars = events.Scalars("d_loss")
    assert [s.step for s in scalars] == [r["step"] for r in logged] == [2, 4]
    assert [s.value for s in scalars] == pytest.approx([r["d_loss"] for r in logged], rel=1e-6)
    assert {"g_loss", "gp", "samples_per_s", "val/modes/hq_share"} <= set(tags["scalars"])
    # the sample pictures, pixel for pixel the PNGs in samples/
    pictures = events.Images("samples")
    assert [p.step for p in pictures] == [2, 4]
    from io import BytesIO

    decoded = np.asarray(Image.open(BytesIO(pictures[-1].encoded_image_string)).convert("RGB"))
    on_disk = np.asarray(Image.open(run / "samples" / "step_000004.png").convert("RGB"))
    assert decoded.shape == on_disk.shape and np.array_equal(decoded, on_disk)
