"""Hostile command lines: every one ends in a clear message and a non-zero exit, never a traceback, and creates no run
folder. A table of known-bad values, then hypothesis throwing arbitrary text at the numeric options and `--set`."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

HOSTILE = [
    ["--steps", "-1"], ["--steps", "0"], ["--steps", "1e3"], ["--steps", "ten"],
    ["--batch-size", "0"], ["--batch-size", "-5"], ["--batch-size", "abc"], ["--batch-size", "999999999"],
    ["--lr-g", "nan"], ["--lr-d", "inf"], ["--lr-g", "-1"], ["--lr-d", "0"],
    ["--ema", "nan"], ["--ema", "1.5"], ["--penalty-weight", "nan"], ["--penalty-weight", "-1"],
    ["--label-smoothing", "nan"], ["--grad-clip", "nan"], ["--grad-clip", "inf"], ["--grad-clip", "-1"],
    ["--mode-seeking", "nan"], ["--mode-seeking", "inf"], ["--mode-seeking", "-1"],
    ["--arch", "dcgan", "--mode-seeking", "1", "--batch-size", "1"],
    ["--class-loss", "nan"], ["--class-loss", "-1"], ["--arch", "dcgan", "--class-loss", "1"],
    ["--arch", "vanilla", "--dataset", "digits", "--conditional", "--class-loss", "1"],
    ["--n-critic", "0"], ["--val-samples", "0"], ["--penalty-every", "0"], ["--log-every", "-1"],
    ["--set", "hidden=abc"], ["--set", "nope=1"], ["--set", "=3"], ["--set", "hidden="], ["--set", "hidden=-4"],
    ["--set", "betas=0.5"], ["--set", "betas=nan,0.9"], ["--set", "lr_g=nan"], ["--set", "ema=2"],
    ["--set", "data.n=-5"], ["--set", "data.n=abc"], ["--set", "nonfinite_patience=0"],
    ["--dataset", "ri ng"], ["--dataset", "ring\u00e9"], ["--arch", ""], ["--arch", "../../etc"],
    ["--device", "cuda:x"], ["--device", "tpu"], ["--precision", "fp8"], ["--nproc", "-1"],
    ["--dataset", "digits", "--image-size", "12"], ["--dataset", "mnist", "--data-dir", "/nonexistent/\u00fc dir"],
    ["--resume", "/nonexistent/run"], ["--resume", "x", "--out", "y"], ["--channels", "2"],
]


def _assert_clean_failure(result, tmp_path: Path) -> None:
    assert result.exit_code == 1, (result.exit_code, result.stderr)
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    lines = [line for line in result.stderr.strip().splitlines() if not line.startswith("warning: ")]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("args", HOSTILE, ids=lambda a: " ".join(a))
def test_hostile_train_arguments_fail_cleanly(run_cli, tmp_path: Path, args: list[str]) -> None:
    out = [] if "--out" in args or "--resume" in args else ["--out", str(tmp_path / "run")]
    _assert_clean_failure(run_cli("train", "--quiet", *out, *args), tmp_path)


NUMERIC = ["--steps", "--batch-size", "--lr-g", "--lr-d", "--n-critic", "--ema", "--penalty-weight", "--grad-clip",
           "--label-smoothing", "--mode-seeking", "--class-loss", "--val-samples"]
NOT_A_NUMBER = st.text(min_size=1, max_size=12).filter(lambda t: not _parses_as_number(t))


def _parses_as_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(option=st.sampled_from(NUMERIC), value=NOT_A_NUMBER)
def test_any_text_where_a_number_goes_is_refused(run_cli, tmp_path: Path, option: str, value: str) -> None:
    _assert_clean_failure(run_cli("train", "--quiet", "--out", str(tmp_path / "run"), f"{option}={value}"), tmp_path)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from(["hidden", "depth", "latent_dim", "data.n", "betas", "nonfinite_check_every"]),
       value=st.text(max_size=12).filter(lambda t: not t.strip().lstrip("-").isdigit() and not _parses_as_number(t)))
def test_any_text_as_a_set_value_is_refused(run_cli, tmp_path: Path, key: str, value: str) -> None:
    _assert_clean_failure(run_cli("train", "--quiet", "--out", str(tmp_path / "run"), "--set", f"{key}={value}"),
                          tmp_path)


def test_paths_with_spaces_and_unicode_work(run_cli, tmp_path: Path) -> None:
    run = tmp_path / "my runs \u00e9t\u00e9 \u6f22\u5b57" / "r 1"
    result = run_cli("train", "--steps", "2", "--quiet", "--out", str(run), "--val-every", "0", "--sample-every", "0")
    assert result.exit_code == 0, result.stderr
    assert (run / "checkpoints" / "last.safetensors").exists()
