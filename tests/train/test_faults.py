"""Faults injected into real runs: kill -9 in the middle of a checkpoint write, and a disk that fills up during training.
In both, the previous checkpoint stays loadable and the run resumes from it."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import torch

from ganzoo.io import TEMP_PREFIX
from ganzoo.train.checkpoint import load_checkpoint
from ganzoo.train.run import clean_temp_files

WRITER = textwrap.dedent("""
    import sys, torch
    from pathlib import Path
    from ganzoo.train.checkpoint import save_checkpoint
    path = Path(sys.argv[1])
    big = {"w": torch.randn(64 * 1024 * 1024 // 4)}  # 64 MB, so a write takes long enough to be caught in the middle
    n = 0
    while True:
        n += 1
        save_checkpoint(path, big, {"version": n})
        print(n, flush=True)
""")


def test_kill_9_in_the_middle_of_a_checkpoint_write_leaves_the_previous_one_loadable(tmp_path: Path) -> None:
    target = tmp_path / "checkpoints" / "last.safetensors"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(target)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "1"  # one complete checkpoint exists
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # wait until the next write is under way: its temp file holds some bytes
            temps = [p for p in target.parent.iterdir() if p.name.startswith(TEMP_PREFIX)]
            if temps and temps[0].stat().st_size > 0:
                break
        assert temps, "no write in progress was seen"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    tensors, state = load_checkpoint(target)
    assert state["version"] >= 1 and tensors["w"].numel() == 64 * 1024 * 1024 // 4
    assert clean_temp_files(tmp_path) >= 1  # the half-written temp file, removed as a resume does
    assert not [p for p in target.parent.iterdir() if p.name.startswith(TEMP_PREFIX)]


def test_a_full_disk_during_training_is_one_line_and_the_run_resumes(tmp_path: Path, run_cli, monkeypatch) -> None:
    import safetensors.torch

    real_save = safetensors.torch.save_file
    calls = {"n": 0}

    def fills_up(tensors, filename, metadata=None):
        calls["n"] += 1
        if calls["n"] > 1:
            with open(filename, "wb") as f:
                f.write(b"\0" * 1000)  # a part was written before the disk ran out
            raise OSError(errno.ENOSPC, "No space left on device", filename)
        return real_save(tensors, filename, metadata=metadata)

    monkeypatch.setattr(safetensors.torch, "save_file", fills_up)
    run = tmp_path / "run"
    args = ["train", "--arch", "wgan_gp", "--steps", "10", "--checkpoint-every", "5", "--out", str(run), "--quiet",
            "--val-every", "0", "--sample-every", "0", "--log-every", "5"]
    result = run_cli(*args)
    assert result.exit_code == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: could not write {run / 'checkpoints' / 'last.safetensors'} (No space left on device)")
    assert "the previous checkpoint there is intact" in last and "Traceback" not in result.stderr
    tensors, state = load_checkpoint(run / "checkpoints" / "last.safetensors")
    assert state["step"] == 5 and all(torch.isfinite(t).all() for t in tensors.values() if t.is_floating_point())
    assert not [p for p in (run / "checkpoints").iterdir() if p.name.startswith(TEMP_PREFIX)]

    monkeypatch.setattr(safetensors.torch, "save_file", real_save)
    resumed = run_cli("train", "--resume", str(run), "--steps", "10", "--quiet")
    assert resumed.exit_code == 0, resumed.stderr
    assert load_checkpoint(run / "checkpoints" / "last.safetensors")[1]["step"] == 10
    # and it ends where an uninterrupted run ends, bit for bit
    straight = tmp_path / "straight"
    assert run_cli(*[a if a != str(run) else str(straight) for a in args]).exit_code == 0
    a, _ = load_checkpoint(run / "checkpoints" / "last.safetensors")
    b, _ = load_checkpoint(straight / "checkpoints" / "last.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_a_run_folder_that_turns_read_only_is_one_line_and_keeps_the_last_checkpoint(tmp_path: Path, run_cli,
                                                                                      monkeypatch) -> None:
    """The tests run as root, for whom chmod does not stop writes, so the refusal is injected where the OS reports it:
    creating the checkpoint's temporary file."""
    import ganzoo.io

    real_mkstemp = ganzoo.io.tempfile.mkstemp
    calls = {"n": 0}

    def read_only(*args, **kwargs):
        if kwargs.get("suffix") == ".safetensors":
            calls["n"] += 1
            if calls["n"] > 1:
                raise PermissionError(errno.EACCES, "Permission denied", str(kwargs.get("dir")))
        return real_mkstemp(*args, **kwargs)

    monkeypatch.setattr(ganzoo.io.tempfile, "mkstemp", read_only)
    run = tmp_path / "run"
    result = run_cli("train", "--arch", "wgan_gp", "--steps", "10", "--checkpoint-every", "5", "--out", str(run),
                     "--quiet", "--val-every", "0", "--sample-every", "0", "--log-every", "5")
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(
        f"error: could not write {run / 'checkpoints' / 'last.safetensors'} (Permission denied); "
        "the previous checkpoint there is intact")
    assert load_checkpoint(run / "checkpoints" / "last.safetensors")[1]["step"] == 5
