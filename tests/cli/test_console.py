"""The progress bar off a terminal (a log file, CI, nohup): one line per redraw, each with the time left."""

from __future__ import annotations

import io

from ganzoo.console import ProgressBar


def test_off_a_terminal_the_bar_writes_whole_lines_with_the_time_left(monkeypatch) -> None:
    log = io.StringIO()  # isatty() is False, as for a file
    monkeypatch.setattr("sys.stderr", log)
    bar = ProgressBar()
    bar.start(total=200, initial=0)
    bar.bar.mininterval = 0  # a redraw at every update, instead of every 30 s
    for step in (50, 100, 150, 200):
        bar.update(step, {"d_loss": 0.5, "g_loss": 1.0, "samples_per_s": 1000.0})
    bar.close()
    text = log.getvalue()
    lines = text.splitlines()
    assert "\r" not in text and len(lines) >= 4
    assert any("100/200" in line and "<" in line for line in lines)  # [elapsed<remaining, rate]
    assert lines[-1].startswith("100%") and "200/200" in lines[-1]
