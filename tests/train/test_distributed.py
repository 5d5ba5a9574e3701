"""Multi-process training through torchrun (gloo on this CPU): real 2-process runs, not mocks.

`ganzoo train --nproc 2` starts torchrun, which starts two ranks of the same command. Each logged step checks that the
ranks' weights are bit-identical (``distributed.check_in_sync``), so every run below with ``--log-every 1`` also proves
that the ranks stayed identical after every step.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from safetensors.torch import load_file

from ganzoo.train.checkpoint import load_checkpoint
from tests.conftest import run_subprocess
from tests.plugins.packages import install_into, write_plugin_package

CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
needs_two_cores = pytest.mark.skipif(CORES < 2, reason="a 2-process run needs 2 CPU cores")
QUIET = ["--quiet", "--val-every", "0", "--sample-every", "0", "--log-every", "1"]
# 6e-8 was measured after 6 steps (30 critic updates): the ranks sum their gradients in another order than one process
# sums its batch, so float32 rounding differs in the last bits; Adam's normalised steps keep that from growing fast.
TOLERANCE = 1e-5


def _train(*args: str) -> subprocess.CompletedProcess:
    proc = run_subprocess(["train", *args])
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def _max_weight_difference(a: Path, b: Path) -> float:
    ta, tb = load_file(a / "checkpoints" / "last.safetensors"), load_file(b / "checkpoints" / "last.safetensors")
    assert set(ta) == set(tb)
    return max(float((ta[k].double() - tb[k].double()).abs().max()) for k in ta if k.startswith(("G/", "D/", "G_ema/")))


def _d_losses(run: Path) -> list[float]:
    return [json.loads(line)["d_loss"] for line in (run / "metrics.jsonl").read_text().splitlines() if '"d_loss"' in line]


@needs_two_cores
def test_two_processes_with_batch_b_take_the_steps_of_one_with_batch_2b_and_resume_in_one(tmp_path: Path) -> None:
    two, one = tmp_path / "two", tmp_path / "one"
    common = ["--arch", "wgan_gp", "--dataset", "ring", *QUIET]
    launched = _train("--nproc", "2", "--batch-size", "32", "--steps", "6", "--out", str(two), *common)
    assert "in 2 processes (global batch 64)" in launched.stderr
    _train("--batch-size", "64", "--steps", "6", "--out", str(one), *common)
    assert _max_weight_difference(two, one) < TOLERANCE
    assert _d_losses(two) == pytest.approx(_d_losses(one), rel=1e-5, abs=1e-6)
    # the 2-process checkpoint continues in one process, with the batch that keeps the global batch at 64
    _train("--resume", str(two), "--steps", "10", "--batch-size", "64", "--quiet")
    _train("--resume", str(one), "--steps", "10", "--quiet")
    assert _max_weight_difference(two, one) < TOLERANCE
    assert len(_d_losses(two)) == 10


@needs_two_cores
def test_gradient_penalty_through_a_ddp_conv_critic_on_digits(tmp_path: Path) -> None:
    run = tmp_path / "digits"
    _train("--nproc", "2", "--arch", "wgan_gp", "--dataset", "digits", "--image-size", "8", "--batch-size", "8",
           "--steps", "3", "--n-critic", "2", "--set", "base_channels=8", "--out", str(run), *QUIET)
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2, 3]  # one writer: rank 0
    assert all(r["gp"] > 0 for r in records)
    load_checkpoint(run / "checkpoints" / "last.safetensors")


@needs_two_cores
def test_the_auxiliary_classifiers_train_in_two_processes_and_stay_in_sync(tmp_path: Path) -> None:
    # the class head is added after the networks are built: every rank must add the same one, and DDP must reduce its
    # gradients though the fake pass does not use it without the twin (both forms); --log-every 1 checks the ranks'
    # weights after every step
    for twin in ([], ["--twin-classifier"]):
        run = tmp_path / f"classes{len(twin)}"
        _train("--nproc", "2", "--arch", "dcgan", "--dataset", "digits", "--conditional", "--image-size", "8",
               "--batch-size", "8", "--steps", "3", "--set", "base_channels=8", "--class-loss", "1", *twin,
               "--out", str(run), *QUIET)
        records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
        assert [r["step"] for r in records] == [1, 2, 3]
        expected = {"d_class", "g_class", *(["d_twin", "g_twin"] if twin else [])}
        assert all(expected <= set(r) and all(r[k] > 0 for k in expected) for r in records)
        assert any(key.startswith("D/") and "class" in key
                   for key in load_file(run / "checkpoints" / "last.safetensors"))


@pytest.mark.parametrize("nproc, message", [(CORES + 1, f"use --nproc {CORES} or fewer"), (0, "must be at least 1")])
def test_impossible_process_counts_are_one_line_errors(tmp_path: Path, nproc: int, message: str) -> None:
    proc = run_subprocess(["train", "--nproc", str(nproc), "--steps", "2", "--out", str(tmp_path / "r")])
    assert proc.returncode == 1
    assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()


def _rank_pid(run: Path, rank: int) -> int | None:
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if str(run) in cmdline and "torch.distributed.run" not in cmdline and f"RANK={rank}".encode() in environ:
            return int(entry.name)
    return None


@needs_two_cores
@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="finds the ranks through /proc")
def test_a_rank_killed_mid_run_stops_the_run_and_leaves_a_loadable_checkpoint(tmp_path: Path) -> None:
    run = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "ganzoo", "train", "--nproc", "2", "--arch", "wgan_gp",
                             "--batch-size", "32", "--steps", "100000", "--checkpoint-every", "2", "--out", str(run),
                             "--quiet", "--val-every", "0", "--sample-every", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (run / "checkpoints" / "last.safetensors").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        victim = _rank_pid(run, 1)
        assert victim is not None, "rank 1 not found"
        os.kill(victim, signal.SIGKILL)
        _, stderr = proc.communicate(timeout=120)  # torchrun stops rank 0 too: nothing hangs
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0
    tensors, state = load_checkpoint(run / "checkpoints" / "last.safetensors")
    assert state["step"] >= 2 and state["step"] % 2 == 0
    resumed = run_subprocess(["train", "--resume", str(run), "--steps", str(state["step"] + 2), "--quiet"])
    assert resumed.returncode == 0, resumed.stderr[-2000:]


SLEEPY = """
    import os
    import time

    import ganzoo

    GANZOO_API_VERSION = 2
    _slept = []


    def compute(inp):
        if not _slept:  # the first validation only: it outlasts the collective timeout, the later ones are quick
            _slept.append(True)
            time.sleep(float(os.environ["SLEEPY_SECONDS"]))
        return {"score": float(len(inp.fake))}


    @ganzoo.hookimpl
    def register_metrics(register):
        register(ganzoo.Metric(name="sleepy", description="sleeps through its first validation", primary="score",
                               compute=compute, higher_is_better=False, data_kinds=("points",)))
"""


@pytest.fixture(scope="module")
def sleepy_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root, site = tmp_path_factory.mktemp("sleepy-src"), tmp_path_factory.mktemp("sleepy-site")
    return install_into(site, write_plugin_package(root, "ganzoo-sleepy", {"plugin.py": SLEEPY}))


@needs_two_cores
def test_a_validation_longer_than_the_collective_timeout_does_not_fail_the_job(tmp_path: Path, sleepy_site: Path) -> None:
    """Rank 0 validates alone for 3x the collective timeout while rank 1 waits for it outside any collective (in the
    main-work group, whose timeout is a day); both then train on. Before, rank 1 waited inside the next step's
    all-reduce, and gloo failed the job with "Timed out waiting 8000ms"."""
    run = tmp_path / "slow-validation"
    proc = run_subprocess(["train", "--nproc", "2", "--arch", "wgan_gp", "--dataset", "ring", "--batch-size", "32",
                           "--steps", "4", "--val-every", "2", "--val-metric", "sleepy", "--val-samples", "64",
                           "--sample-every", "0", "--log-every", "1", "--out", str(run), "--quiet"],
                          env={"PYTHONPATH": str(sleepy_site), "GANZOO_DIST_TIMEOUT": "8", "SLEEPY_SECONDS": "24"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "val" in r] == [2, 4]
    assert [r["step"] for r in records if "d_loss" in r] == [1, 2, 3, 4]  # each checked the ranks' weights agree
    assert load_checkpoint(run / "checkpoints" / "last.safetensors")[1]["step"] == 4


def test_the_ranks_agree_on_a_stop_only_where_the_cadence_checks_or_writes() -> None:
    """No collective or host sync every step to learn of a stop request: the ranks agree where the guard checks (every
    nonfinite_check_every steps) or anything is written, and at the last step."""
    from ganzoo.train.cadence import Cadence

    cadence = Cadence(steps=95, log_every=50, sample_every=0, val_every=40, checkpoint_every=0, check_every=10)
    agreed = [t for t in range(1, 96) if cadence.due(t).agree]
    assert agreed == [10, 20, 30, 40, 50, 60, 70, 80, 90, 95]
    quiet = Cadence(steps=95, log_every=50, sample_every=0, val_every=0, checkpoint_every=0, check_every=0)
    assert [t for t in range(1, 96) if quiet.due(t).agree] == [50, 95]  # the guard off: where the run logs
