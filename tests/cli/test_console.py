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


def test_an_announcement_prints_only_when_its_work_starts_a_bar(monkeypatch) -> None:
    """``ganzoo eval``'s lines about long work: printed when a bar starts inside them, dropped when the work inside
    needed none (a quick metric, a refusal), and nothing at all outside ``showing_work`` (a library caller)."""
    from ganzoo.console import announcing, showing_work, work_bar

    log = io.StringIO()
    monkeypatch.setattr("sys.stderr", log)
    with announcing("outside"), work_bar(3, "bar") as advance:
        advance(3)
    assert log.getvalue() == ""
    with showing_work():
        with announcing("scoring"):
            with announcing("quick floor"):
                pass  # no bar inside: never printed
            with announcing("slow floor"), work_bar(4, "Inception") as advance:
                advance(4)
            with work_bar(2, "second pass") as advance:  # "scoring" was printed once, with the first bar
                advance(2)
    lines = log.getvalue().splitlines()
    assert [line for line in lines if not line.startswith(("Inception", "second pass"))] == ["scoring", "slow floor"]
    assert any(line.startswith("Inception") and "4/4" in line for line in lines)
    assert any(line.startswith("second pass") and "2/2" in line for line in lines)
