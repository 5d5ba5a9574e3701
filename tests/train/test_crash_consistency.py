"""Crash consistency as a property: a run killed with SIGKILL again and again, at seeded random moments (before its
first checkpoint, in the middle of a checkpoint write, between checkpoints, in the middle of a log line, and from
outside at a random time), and resumed each time with the same ``--steps``, ends with the weights of a run that was
never interrupted, bit for bit, and a ``metrics.jsonl`` that logs every step exactly once.

The kills are real signals to real processes. The moments are chosen in the process itself (``CRASH``): a run of 40
steps takes well under a second, too quick to aim an outside kill at a checkpoint write. One kill comes from outside at a
random time, where the run is slowed a little so that the time falls inside training.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import torch
from safetensors.torch import load_file

from ganzoo.io import TEMP_PREFIX
from ganzoo.train.checkpoint import load_checkpoint
from tests.conftest import run_subprocess

STEPS, EVERY = 40, 10
ARGS = ["--arch", "wgan_gp", "--dataset", "ring", "--steps", str(STEPS), "--checkpoint-every", str(EVERY),
        "--log-every", "1", "--val-every", "0", "--sample-every", "0", "--quiet"]

# `python -c CRASHING ARGS...`: ganzoo's own CLI, which SIGKILLs itself at the moment named by CRASH=WHERE:STEP.
CRASHING = textwrap.dedent("""
    import json, os, signal, sys, time
    import safetensors.torch
    import ganzoo.train.records as records
    import ganzoo.train.loop as loop
    from ganzoo.cli import main

    where, _, at = os.environ.get("CRASH", "none:0").partition(":")
    at = int(at)

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    real_save = safetensors.torch.save_file
    def save_file(tensors, filename, metadata=None):
        real_save(tensors, filename, metadata=metadata)
        if where == "checkpoint" and json.loads(metadata["state"])["step"] == at:
            with open(filename, "r+b") as f:  # torn: half the file is on disk when the process dies
                f.truncate(os.path.getsize(filename) // 2)
            die()
    safetensors.torch.save_file = save_file

    real_write = records.RunRecords.write
    def write(self, record):
        if where == "log" and record.get("step") == at and self.log is not None:
            line = json.dumps(record)
            self.log.write(line[: len(line) // 2])
            self.log.flush()
            die()
        real_write(self, record)
        if where == "step" and record.get("step") == at:
            die()
    records.RunRecords.write = write

    if where == "outside":  # slowed, so that an outside kill at a random time lands inside training
        real_step = loop.generator_step
        def slow_step(*args, **kwargs):
            time.sleep(0.1)
            return real_step(*args, **kwargs)
        loop.generator_step = slow_step

    main(sys.argv[1:])
""")


def _crashing(args: list[str], crash: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", CRASHING, "train", *args], env={**os.environ, "CRASH": crash},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _killed(args: list[str], crash: str) -> None:
    proc = _crashing(args, crash)
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == -signal.SIGKILL, f"{crash}: exit {proc.returncode}, {stderr[-2000:]}"


def _killed_from_outside(args: list[str], run: Path, delay: float) -> None:
    resumed_at = load_checkpoint(run / "checkpoints" / "last.safetensors")[1]["step"]
    proc = _crashing(args, "outside:0")
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and max(_steps_logged(run, whole=False), default=0) <= resumed_at:  # training again
            time.sleep(0.02)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        assert proc.returncode == -signal.SIGKILL, f"the run ended (exit {proc.returncode}) before the kill"
    finally:
        if proc.poll() is None:
            proc.kill()


def _steps_logged(run: Path, *, whole: bool = True) -> list[int]:
    """The step of each line of metrics.jsonl; ``whole=False`` while the run writes it, which may show half a line."""
    steps = []
    for line in (run / "metrics.jsonl").read_text().splitlines():
        try:
            steps.append(json.loads(line)["step"])
        except json.JSONDecodeError:
            if whole:
                raise
    return steps


def test_repeated_sigkills_at_random_moments_then_resumes_end_bit_for_bit_where_a_straight_run_ends(tmp_path: Path) -> None:
    straight, run = tmp_path / "straight", tmp_path / "killed"
    done = run_subprocess(["train", *ARGS, "--out", str(straight)])
    assert done.returncode == 0, done.stderr[-2000:]

    rng = random.Random(28)  # seeded: the same moments on every machine
    first_torn = EVERY * rng.randint(2, 3)  # a checkpoint write after the first one, so an intact one lies beneath it
    between = first_torn + rng.randint(1, EVERY - 1)  # after resuming from first_torn - EVERY
    kills = [f"step:{rng.randint(1, EVERY - 1)}",  # before the first checkpoint: the resume starts again at step 0
             f"checkpoint:{first_torn}",
             f"step:{between}",
             f"log:{rng.randint(between - between % EVERY + 1, STEPS - 1)}"]
    _killed([*ARGS, "--out", str(run)], kills[0])
    assert not (run / "checkpoints" / "last.safetensors").exists()
    resume = ["--resume", str(run), *ARGS]
    for crash in kills[1:]:
        _killed(resume, crash)
        if crash.startswith("checkpoint"):
            assert [p for p in (run / "checkpoints").iterdir() if p.name.startswith(TEMP_PREFIX)], "no torn write left"
    _killed_from_outside(resume, run, delay=rng.uniform(0.0, 0.5))  # 10 or more steps of 0.1 s are left

    finished = run_subprocess(["train", *resume])
    assert finished.returncode == 0, finished.stderr[-2000:]
    a = load_file(run / "checkpoints" / "last.safetensors")
    b = load_file(straight / "checkpoints" / "last.safetensors")
    assert a.keys() == b.keys()
    assert [k for k in a if not torch.equal(a[k], b[k])] == []  # networks, generator average, optimizers, noise stream
    assert _steps_logged(run) == list(range(1, STEPS + 1)) == _steps_logged(straight)
    assert not [p for p in (run / "checkpoints").iterdir() if p.name.startswith(TEMP_PREFIX)]
