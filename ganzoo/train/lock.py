"""One writer per run folder: an advisory lock that a training process holds for as long as it trains the run.

The lock is ``flock`` on ``RUN/.lock``: the kernel releases it when its holder exits in any way (kill -9 included), so a
lock never outlives its process and needs no clean-up. The file itself stays (deleting it would let two processes lock
two different files of the same name); it holds the last holder's pid, host and start time, which a refused second
process reports.
"""

from __future__ import annotations

import datetime
import errno
import json
import os
import socket
import time
from pathlib import Path
from typing import Any, Optional

from ganzoo.errors import ConfigError

__all__ = ["LOCK_FILE", "RunLock", "RunLockedError"]

LOCK_FILE = ".lock"


class RunLockedError(ConfigError):
    """Another process is training this run."""


class RunLock:
    """``with RunLock(run_dir):`` trains ``run_dir`` alone, or raises ``RunLockedError`` naming the process that does."""

    def __init__(self, run_dir: Path):
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / LOCK_FILE
        self._fd: Optional[int] = None

    def acquire(self) -> "RunLock":
        import fcntl

        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            raise RunLockedError(f"{self.run_dir} is being trained by {describe_holder(_wait_for_holder(self.path))}; "
                                 "a run is trained by one process at a time: wait for that one to finish or stop it "
                                 "first, or train into another --out") from None
        holder = {"pid": os.getpid(), "host": socket.gethostname(),
                  "since": datetime.datetime.now().astimezone().isoformat(timespec="seconds")}
        record = (json.dumps(holder) + "\n").encode()
        os.pwrite(fd, record, 0)  # written, then cut to length: a reader never finds the file empty in between
        os.ftruncate(fd, len(record))
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the last descriptor releases the flock
            self._fd = None

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _wait_for_holder(path: Path, patience: float = 2.0) -> dict[str, Any]:
    """The holder's record, waiting up to ``patience`` seconds for it: a process that has just taken the lock writes
    its record a moment later (longer on a loaded machine), and the refusal should name it."""
    deadline = time.monotonic() + patience
    holder = read_holder(path)
    while not holder.get("pid") and time.monotonic() < deadline:
        time.sleep(0.02)
        holder = read_holder(path)
    return holder


def read_holder(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):  # written a moment ago, or by hand: report what can be said
        return {}
    return data if isinstance(data, dict) else {}


def describe_holder(holder: dict[str, Any]) -> str:
    if not holder:
        return "another process"
    return f"pid {holder.get('pid', '?')} on {holder.get('host', '?')} since {holder.get('since', '?')}"
