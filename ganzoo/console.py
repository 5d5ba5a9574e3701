"""What the person at the terminal sees of a training run, for ``ganzoo train`` and ``ganzoo.api.train`` alike: the
progress bar, and the first Ctrl-C or SIGTERM finishing the step and checkpointing instead of killing the run; and, for
``ganzoo eval``, a bar over each long computation inside it (``showing_work``, ``work_bar``, ``announcing``)."""

from __future__ import annotations

import contextlib
import os
import sys
from contextvars import ContextVar
from typing import Any, Callable, Iterator, Optional

__all__ = ["ProgressBar", "GracefulStop", "showing_work", "work_bar", "announcing"]

# None unless a command asks for it (a library caller, and a training run's validation under its own bar, see nothing);
# inside ``showing_work``, the lines announced but not printed yet
_said: ContextVar[Optional[list[str]]] = ContextVar("ganzoo_said", default=None)


@contextlib.contextmanager
def showing_work() -> Iterator[None]:
    """Inside, long computations (Inception features of thousands of images, a floor) report on stderr: a bar on a
    terminal, a line every 30 s in a log. ``ganzoo eval`` turns it on: its protocol runs for many minutes."""
    token = _said.set([])
    try:
        yield
    finally:
        _said.reset(token)


@contextlib.contextmanager
def announcing(text: str) -> Iterator[None]:
    """A line about the work inside, where ``showing_work`` is on: printed on stderr when that work starts a bar (long
    work), dropped when it ends without one, so that quick work stays silent and a refusal before any work stays the
    one line it is."""
    pending = _said.get()
    if pending is None:
        yield
        return
    pending.append(text)
    try:
        yield
    finally:
        if text in pending:  # the work needed no bar: nothing to say
            pending.remove(text)


@contextlib.contextmanager
def work_bar(total: int, what: str, unit: str = "image") -> Iterator[Callable[[int], None]]:
    """A bar over ``total`` items, where ``showing_work`` is on; yields the function that advances it by ``n``."""
    pending = _said.get()
    if pending is None:
        yield lambda n: None
        return
    from tqdm import tqdm

    for line in pending:
        print(line, file=sys.stderr, flush=True)
    pending.clear()

    terminal = sys.stderr.isatty()
    bar = tqdm(total=total, desc=what, unit=unit, file=sys.stderr if terminal else _Lines(sys.stderr),
               dynamic_ncols=True, leave=not terminal, mininterval=0.5 if terminal else 30.0,
               maxinterval=10.0 if terminal else 30.0)
    try:
        yield bar.update
    finally:
        bar.close()


class ProgressBar:
    """The training loop's progress sink: a tqdm bar on stderr with the latest losses and throughput."""

    def start(self, total: int, initial: int) -> None:
        from tqdm import tqdm

        # in a log file (CI, nohup) a bar redrawn ten times a second would be most of the log: there it is one line
        # every 30 s, each with the rate and the time left
        terminal = sys.stderr.isatty()
        interval = 0.2 if terminal else 30.0
        self.bar = tqdm(total=total, initial=initial, unit="step", file=sys.stderr if terminal else _Lines(sys.stderr),
                        dynamic_ncols=True, leave=True, mininterval=interval, maxinterval=max(interval, 10.0))

    def update(self, step: int, record: Optional[dict]) -> None:
        self.bar.update(step - self.bar.n)
        if record and "d_loss" in record:
            self.bar.set_postfix(d=f"{record['d_loss']:.3g}", g=f"{record['g_loss']:.3g}",
                                 samples_s=f"{record['samples_per_s']:.0f}", refresh=False)

    def close(self) -> None:
        self.bar.close()


class _Lines:
    """A stream for tqdm off a terminal: each redraw becomes a line of its own instead of a carriage return that a log
    file keeps and a pager shows as one endless line."""

    def __init__(self, stream: Any):
        self.stream = stream

    def write(self, text: str) -> None:
        for part in text.split("\r"):
            if part.strip():
                self.stream.write(part.rstrip("\n") + "\n")

    def flush(self) -> None:
        self.stream.flush()


class GracefulStop:
    """The first Ctrl-C (SIGINT) or SIGTERM finishes the current step, checkpoints and stops; a second one stops at once.

    SIGTERM is what torchrun sends its workers when it is stopped, and what SLURM, Kubernetes and ``kill`` send before
    they kill. Under torchrun a repeated signal does not stop at once: torchrun forwards the terminal's Ctrl-C to every
    worker, which then sees it twice, and it kills workers itself when they outlast its own timeout.
    """

    SIGNALS = ("SIGINT", "SIGTERM")

    def __init__(self) -> None:
        self.received: Optional[int] = None
        self.again: Optional[int] = None  # the second signal, which stopped the run at once
        self._previous: dict[int, Any] = {}

    @property
    def requested(self) -> bool:
        return self.received is not None

    def __enter__(self) -> "GracefulStop":
        import signal

        under_torchrun = bool(os.environ.get("TORCHELASTIC_RUN_ID"))
        speaks = os.environ.get("RANK", "0") == "0"  # one message for the whole job

        def handler(signum, frame):  # noqa: ANN001
            if self.received is not None:
                if under_torchrun:
                    return
                self.again = signum
                raise KeyboardInterrupt
            self.received = signum
            name = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
            if speaks:
                again = "" if under_torchrun else f" ({name} again to stop at once)"
                print(f"\n{name}: stopping after this step{again}...", file=sys.stderr, flush=True)

        for name in self.SIGNALS:
            signum = getattr(signal, name)
            try:
                self._previous[signum] = signal.signal(signum, handler)
            except ValueError:  # not the main thread (e.g. inside a test runner's worker): keep the default
                pass
        return self

    def __exit__(self, *exc: object) -> None:
        import signal

        for signum, previous in self._previous.items():
            signal.signal(signum, previous)

    def exit_code(self) -> int:
        """128 + the signal's number, as a shell reports a process the signal ended: 130 for Ctrl-C, 143 for SIGTERM
        (of the second signal, when one stopped the run at once)."""
        return 128 + (self.again or self.received or 2)
