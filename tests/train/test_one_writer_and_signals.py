"""One writer per run and graceful stops, with real processes and real signals: two trainings into one --out, two
resumes of one run, a stale lock after kill -9, a torchrun job holding its lock, SIGTERM to one process and to a torchrun
job, and a run that died before its first checkpoint."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ganzoo.train.checkpoint import load_checkpoint
from tests.conftest import run_subprocess

CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
# Small and endless: each test stops its runs itself. No checkpoint before the stop (--checkpoint-every 100000), so a
# checkpoint at the stopped step can only come from the graceful stop.
ENDLESS = ["--steps", "100000", "--quiet", "--log-every", "1", "--set", "hidden=16", "--set", "data.n=1000",
           "--batch-size", "32", "--val-every", "0", "--sample-every", "0", "--checkpoint-every", "100000"]
HOLDER = "is being trained by pid "


def _start(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "ganzoo", "train", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _wait_for_steps(run: Path, proc: subprocess.Popen, steps: int = 3, timeout: float = 180) -> None:
    metrics = run / "metrics.jsonl"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if metrics.exists() and len(metrics.read_text().splitlines()) >= steps:
            return
        if proc.poll() is not None:
            raise AssertionError(f"the run ended early ({proc.returncode}): {proc.stderr.read()[-2000:]}")
        time.sleep(0.1)
    raise AssertionError(f"no {steps} logged steps in {run} within {timeout} s")


def _stop(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 120) -> tuple[str, str]:
    proc.send_signal(sig)
    try:
        return proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()


def _read_stderr_until(proc: subprocess.Popen, text: str, timeout: float = 120) -> str:
    """What ``proc`` wrote to stderr up to and including ``text``, read from the raw pipe (so that a later
    ``communicate`` returns the rest): the test acts on what the trainer said, not on a guess of how long it takes."""
    fd, seen, chunk = proc.stderr.fileno(), b"", b"-"
    deadline = time.monotonic() + timeout
    while text.encode() not in seen:
        left = deadline - time.monotonic()
        if left <= 0 or not chunk:  # out of time, or the pipe's end: the trainer exited without saying it
            raise AssertionError(f"no {text!r} on stderr (exit {proc.poll()}): {seen.decode()[-2000:]}")
        if select.select([fd], [], [], min(left, 1.0))[0]:
            chunk = os.read(fd, 65536)
            seen += chunk
    return seen.decode()


def _stopped_at(out: str) -> int:
    return int(out.split("interrupted at step ")[1].split(";")[0].split()[0])


def test_two_trainings_started_together_into_one_out_one_trains_and_the_other_names_it(tmp_path: Path) -> None:
    run = tmp_path / "r"
    procs = [_start(*ENDLESS, "--out", str(run)) for _ in range(2)]
    try:
        deadline = time.monotonic() + 180
        while all(p.poll() is None for p in procs) and time.monotonic() < deadline:
            time.sleep(0.1)
        loser = next(p for p in procs if p.poll() is not None)
        winner = next(p for p in procs if p is not loser)
        _, err = loser.communicate()
        assert loser.returncode == 1
        line = err.strip().splitlines()[-1]
        assert line.startswith(f"error: {run} {HOLDER}{winner.pid} on ") and " since " in line, err
        assert "Traceback" not in err
        _wait_for_steps(run, winner)
        out, err = _stop(winner)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert winner.returncode == 143, err
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps == list(range(1, len(steps) + 1))  # one writer: every step logged once


def test_a_second_resume_of_a_run_being_resumed_is_refused_naming_the_holder(tmp_path: Path) -> None:
    run = tmp_path / "r"
    assert run_subprocess(["train", *ENDLESS[2:], "--steps", "2", "--out", str(run)]).returncode == 0
    first = _start("--resume", str(run), "--steps", "100000", "--quiet")
    try:
        _wait_for_steps(run, first, steps=4)
        second = run_subprocess(["train", "--resume", str(run), "--steps", "100000", "--quiet"])
        assert second.returncode == 1 and f"{HOLDER}{first.pid} on " in second.stderr
        assert json.loads((run / "config.json").read_text())["config"]["steps"] == 100000
        out, err = _stop(first)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 143, err
    _, state = load_checkpoint(run / "checkpoints" / "last.safetensors")
    assert state["step"] == _stopped_at(out) > 2


def test_a_lock_left_by_a_killed_process_does_not_block_and_a_run_without_checkpoint_restarts_at_step_0(
        tmp_path: Path) -> None:
    run = tmp_path / "r"
    proc = _start(*ENDLESS, "--out", str(run))
    try:
        _wait_for_steps(run, proc)
        proc.kill()  # SIGKILL: no handler runs, the lock file stays with the dead holder's pid in it
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert str(proc.pid) in (run / ".lock").read_text()
    assert not (run / "checkpoints" / "last.safetensors").exists()  # it died before its first checkpoint
    again = run_subprocess(["train", *ENDLESS, "--out", str(run)])
    assert again.returncode == 1 and "--resume starts it from step 0" in again.stderr
    resumed = run_subprocess(["train", "--resume", str(run), "--steps", "4", "--quiet"])
    assert resumed.returncode == 0, resumed.stderr
    assert "finished at step 4" in resumed.stdout
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4]  # the dead attempt's lines are gone: the run started again from step 0
    # and it is the run a fresh start would have made: same config, same weights
    fresh = tmp_path / "fresh"
    assert run_subprocess(["train", *ENDLESS, "--steps", "4", "--out", str(fresh)]).returncode == 0
    a, _ = load_checkpoint(run / "checkpoints" / "last.safetensors")
    b, _ = load_checkpoint(fresh / "checkpoints" / "last.safetensors")
    assert all(bool((a[k] == b[k]).all()) for k in a)


def test_sigterm_finishes_the_step_checkpoints_and_prints_the_resume_command(tmp_path: Path) -> None:
    run = tmp_path / "r"
    proc = _start(*ENDLESS, "--out", str(run))
    try:
        _wait_for_steps(run, proc, steps=5)
        out, err = _stop(proc, signal.SIGTERM)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143, err
    assert f"continue with: ganzoo train --resume {run} --steps 100000" in err and "Traceback" not in err
    stopped = _stopped_at(out)
    _, state = load_checkpoint(run / "checkpoints" / "last.safetensors")
    assert state["step"] == stopped >= 5
    resumed = run_subprocess(["train", "--resume", str(run), "--steps", str(stopped + 2), "--quiet"])
    assert resumed.returncode == 0 and f"finished at step {stopped + 2}" in resumed.stdout


def test_a_second_ctrl_c_stops_at_once_with_130_and_the_resume_command(tmp_path: Path) -> None:
    """Two SIGINTs: the first asks for a checkpoint; the second, sent as soon as the trainer has acknowledged the
    first, stops before that step and checkpoint are done (a critic wide enough that they take far longer than the
    pipe's round trip). Waiting for the acknowledgement, not a fixed interval, keeps the test right on a loaded
    machine, where a 50 ms pause let both signals land inside one step and count as one. The exit code and the
    message are a Ctrl-C's, and the checkpoint on disk is whole (written atomically): the run resumes from it."""
    run = tmp_path / "r"
    proc = _start(*ENDLESS, "--out", str(run), "--set", "hidden=1536", "--checkpoint-every", "4")
    try:
        _wait_for_steps(run, proc, steps=6)
        proc.send_signal(signal.SIGINT)
        before = _read_stderr_until(proc, "Ctrl-C again to stop at once")
        out, err = _stop(proc, signal.SIGINT)
        err = before + err
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "aborted" not in err
    assert f"stopped at once; continue from its last checkpoint with: ganzoo train --resume {run} --steps 100000" in err
    _, state = load_checkpoint(run / "checkpoints" / "last.safetensors")  # loads: not torn
    assert state["step"] >= 4
    resumed = run_subprocess(["train", "--resume", str(run), "--steps", str(state["step"] + 1), "--quiet"])
    assert resumed.returncode == 0 and f"finished at step {state['step'] + 1}" in resumed.stdout


@pytest.mark.skipif(CORES < 2, reason="a 2-process run needs 2 CPU cores")
def test_a_torchrun_job_holds_its_lock_and_stops_gracefully_on_sigterm(tmp_path: Path) -> None:
    run = tmp_path / "r"
    job = _start("--nproc", "2", *ENDLESS, "--out", str(run))
    try:
        _wait_for_steps(run, job)
        holder = json.loads((run / ".lock").read_text())["pid"]
        assert holder != job.pid  # rank 0, a worker of the job, holds it
        second = run_subprocess(["train", "--resume", str(run), "--steps", "100000", "--quiet"])
        assert second.returncode == 1 and f"{HOLDER}{holder} on " in second.stderr
        out, err = _stop(job, signal.SIGTERM)  # to the job's launcher, which passes it to every rank
    finally:
        if job.poll() is None:
            job.kill()
    assert job.returncode == 143, err
    assert f"continue with: ganzoo train --resume {run}" in err and "Traceback" not in err
    stopped = _stopped_at(out)
    _, state = load_checkpoint(run / "checkpoints" / "last.safetensors")
    assert state["step"] == stopped >= 3
    resumed = run_subprocess(["train", "--resume", str(run), "--steps", str(stopped + 1), "--quiet",
                              "--batch-size", "64"])
    assert resumed.returncode == 0 and f"finished at step {stopped + 1}" in resumed.stdout
