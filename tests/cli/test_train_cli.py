"""``ganzoo train`` / ``sample`` / ``--resume`` from the command line: outputs, bad input, and a real Ctrl-C."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import run_subprocess

TINY_RING = ["--steps", "3", "--quiet", "--log-every", "1", "--val-every", "3", "--val-samples", "200", "--set", "hidden=16",
             "--set", "data.n=1000", "--batch-size", "32"]
TINY_DIGITS = ["--arch", "dcgan", "--steps", "2", "--quiet", "--image-size", "8", "--set", "base_channels=8",
               "--batch-size", "16", "--val-samples", "100"]


@pytest.fixture(scope="module")
def ring_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("runs") / "ring"
    from ganzoo.cli import main

    with pytest.raises(SystemExit) as exited:
        main(["train", *TINY_RING, "--out", str(run)])
    assert exited.value.code == 0
    return run


def test_train_writes_a_run_folder(ring_run: Path) -> None:
    assert json.loads((ring_run / "config.json").read_text())["config"]["arch"] == "wgan_gp"
    assert (ring_run / "checkpoints" / "last.safetensors").is_file()
    assert (ring_run / "samples" / "step_000003.png").is_file()
    records = [json.loads(line) for line in (ring_run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "d_loss" in r] == [1, 2, 3]


def test_train_summary_line(run_cli, tmp_path: Path) -> None:
    result = run_cli("train", *TINY_RING, "--out", str(tmp_path / "r"))
    assert result.exit_code == 0, result.stderr
    assert "finished at step 3" in result.stdout and "best modes.hq_share" in result.stdout
    assert f"run folder: {tmp_path / 'r'}" in result.stdout


def test_the_grid_gets_the_architectures_defaults_for_it_and_the_run_says_so(run_cli, tmp_path: Path) -> None:
    grid = ["--dataset", "grid", "--steps", "1", "--quiet", "--val-every", "0", "--set", "data.n=1000"]
    result = run_cli("train", *grid, "--out", str(tmp_path / "default"))
    assert result.exit_code == 0, result.stderr
    assert "wgan_gp's defaults for grid: hidden=256" in result.stderr
    assert json.loads((tmp_path / "default" / "config.json").read_text())["config"]["hparams"]["hidden"] == 256
    mine = run_cli("train", *grid, "--set", "hidden=32", "--out", str(tmp_path / "mine"))
    assert mine.exit_code == 0, mine.stderr
    assert json.loads((tmp_path / "mine" / "config.json").read_text())["config"]["hparams"]["hidden"] == 32


def test_sample_points_png_and_npy(run_cli, ring_run: Path, tmp_path: Path) -> None:
    result = run_cli("sample", str(ring_run), "--n", "300", "--out", str(tmp_path / "s.npy"), "--seed", "4")
    assert result.exit_code == 0, result.stderr
    assert "averaged generator at step 3" in result.stdout
    points = np.load(tmp_path / "s.npy", allow_pickle=False)
    assert points.shape == (300, 2) and np.isfinite(points).all()
    again = run_cli("sample", str(ring_run), "--n", "300", "--out", str(tmp_path / "t.npy"), "--seed", "4")
    assert again.exit_code == 0 and np.array_equal(points, np.load(tmp_path / "t.npy"))
    assert run_cli("sample", str(ring_run), "--out", str(tmp_path / "s.png")).exit_code == 0
    assert Image.open(tmp_path / "s.png").size[0] > 100


def test_conditional_images_and_class_sampling(run_cli, tmp_path: Path) -> None:
    run = tmp_path / "cond"
    assert run_cli("train", *TINY_DIGITS, "--conditional", "--out", str(run)).exit_code == 0
    result = run_cli("sample", str(run), "--n", "16", "--class", "3", "--out", str(tmp_path / "three.png"))
    assert result.exit_code == 0, result.stderr
    assert Image.open(tmp_path / "three.png").mode == "RGB"
    bad = run_cli("sample", str(run), "--class", "10")
    assert bad.exit_code == 1 and "--class 10 is out of range: this run has classes 0..9" in bad.stderr


@pytest.mark.parametrize("args, message", [
    (["train", "--arch", "wgan-gp"], "unknown architecture 'wgan-gp': did you mean 'wgan_gp'"),
    (["train", "--loss", "hinj"], "unknown loss 'hinj': did you mean 'hinge'"),
    (["train", "--dataset", "digit"], "unknown dataset 'digit': did you mean 'digits'"),
    (["train", "--loss", "wasserstein"], "loss 'wasserstein' does not fit architecture 'wgan_gp'"),
    (["train", "--arch", "dcgan", "--loss", "wgan_gp"], "loss 'wgan_gp' does not fit architecture 'dcgan'"),
    (["train", "--arch", "dcgan", "--dataset", "ring"], "models images, but dataset 'ring' holds points"),
    (["train", "--steps", "0"], "--steps must be at least 1"),
    (["train", "--steps", "-5"], "--steps must be at least 1"),
    (["train", "--batch-size", "0"], "--batch-size must be at least 1"),
    (["train", "--arch", "dcgan", "--batch-size", "4000", "--image-size", "8", "--out", "{tmp}/big"],
     "--batch-size 4000 is larger than the dataset (1617 samples)"),
    (["train", "--out", "{file}/sub"], "cannot write to"),
    (["train", "--resume", "{tmp}"], "is not a ganzoo run (no config.json)"),
    (["train", "--resume", "{tmp}/missing"], "missing does not exist"),
    (["train", "--resume", "{file}"], "is not a folder"),
    (["sample", "{tmp}"], "is not a ganzoo run"),
])
def test_bad_input_is_one_line(run_cli, tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "afile").write_text("x")
    args = [a.replace("{tmp}", str(tmp_path)).replace("{file}", str(tmp_path / "afile")) for a in args]
    result = run_cli(*args)
    assert result.exit_code == 1, result.stdout + result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: ")
    assert message in result.stderr and "Traceback" not in result.stderr


def test_existing_run_is_never_overwritten(run_cli, ring_run: Path) -> None:
    before = (ring_run / "checkpoints" / "last.safetensors").read_bytes()
    result = run_cli("train", *TINY_RING, "--out", str(ring_run))
    assert result.exit_code == 1 and f"continue it with --resume {ring_run}" in result.stderr
    assert (ring_run / "checkpoints" / "last.safetensors").read_bytes() == before


def test_resume_with_another_architecture_is_refused(run_cli, ring_run: Path) -> None:
    result = run_cli("train", "--resume", str(ring_run), "--arch", "dcgan")
    assert result.exit_code == 1 and "trained with arch 'wgan_gp'" in result.stderr


def test_resume_via_cli_continues_to_the_total(run_cli, tmp_path: Path) -> None:
    run = tmp_path / "r"
    assert run_cli("train", *TINY_RING, "--out", str(run)).exit_code == 0
    result = run_cli("train", "--resume", str(run), "--steps", "5", "--quiet")
    assert result.exit_code == 0, result.stderr
    assert "finished at step 5" in result.stdout
    assert json.loads((run / "config.json").read_text())["config"]["steps"] == 5
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [s for s in steps if s <= 3] == [1, 2, 3, 3] and steps[-1] == 5


def test_sample_bad_output_suffix(run_cli, ring_run: Path, tmp_path: Path) -> None:
    result = run_cli("sample", str(ring_run), "--out", str(tmp_path / "x.jpg"))
    assert result.exit_code == 1 and "must end in .png" in result.stderr


def test_ctrl_c_keeps_a_resumable_checkpoint(tmp_path: Path) -> None:
    run = tmp_path / "long"
    cmd = [sys.executable, "-m", "ganzoo", "train", "--steps", "100000", "--out", str(run), "--quiet", "--log-every", "1",
           "--set", "hidden=16", "--set", "data.n=1000", "--batch-size", "32", "--val-every", "0", "--checkpoint-every", "0"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    metrics = run / "metrics.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not metrics.exists() or len(metrics.read_text().splitlines()) < 3):
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "continue with: ganzoo train --resume" in err and "interrupted at step" in out
    stopped_at = int(out.split("interrupted at step ")[1].split(";")[0])
    from ganzoo.train.checkpoint import load_checkpoint

    _, state = load_checkpoint(run / "checkpoints" / "last.safetensors")
    assert state["step"] == stopped_at >= 3
    resumed = run_subprocess(["train", "--resume", str(run), "--steps", str(stopped_at + 2), "--quiet"])
    assert resumed.returncode == 0 and f"finished at step {stopped_at + 2}" in resumed.stdout
