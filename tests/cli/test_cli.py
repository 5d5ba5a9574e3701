"""The command line through its real error boundary (ganzoo.cli.main), plus one run in a separate process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import run_subprocess


def test_list_prints_a_table_of_every_kind(run_cli) -> None:
    result = run_cli("list")
    assert result.exit_code == 0
    header, *rows = result.stdout.splitlines()
    assert header.split() == ["KIND", "NAME", "PACKAGE", "VERSION", "DESCRIPTION"]
    ring = next(r for r in rows if r.split()[:2] == ["dataset", "ring"])
    assert ring.split()[2] == "ganzoo" and "8 Gaussians" in ring


def test_list_kind_filter_and_json(run_cli) -> None:
    rows = json.loads(run_cli("list", "--kind", "dataset", "--json").stdout)
    assert rows and {r["kind"] for r in rows} == {"dataset"}
    assert set(rows[0]) == {"kind", "name", "package", "version", "description"}
    table = run_cli("list", "--kind", "dataset").stdout.splitlines()[1:]
    assert [line.split()[1] for line in table] == [r["name"] for r in rows]


def test_bad_kind_is_a_usage_error(run_cli) -> None:
    result = run_cli("list", "--kind", "gan")
    assert result.exit_code == 1 and "'gan' is not one of" in result.stderr and len(result.stderr.splitlines()) == 1


def test_doctor_reports_torch_extension_and_plugins(run_cli) -> None:
    result = run_cli("doctor")
    assert result.exit_code == 0
    for key in ("torch", "devices", "extension", "plugins"):
        assert key in result.stdout
    report = json.loads(run_cli("doctor", "--json").stdout)
    assert report["extension"]["built"] is True, report["extension"]["status"]
    assert any(p["package"] == "ganzoo" for p in report["plugins"])


def test_data_command_describes_and_previews(run_cli, tmp_path: Path) -> None:
    out = tmp_path / "preview.png"
    result = run_cli("data", "digits", "--image-size", "8", "--preview", str(out), "--json")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["samples"] == 1617 and summary["shape"] == [1, 8, 8] and out.stat().st_size > 100


@pytest.mark.parametrize("args, message", [
    (["data", "rnig"], "unknown dataset 'rnig': did you mean 'ring'"),
    (["data", "digits", "--image-size", "12"], "image size 12 is not a power of two"),
    (["data", "folder"], "needs --data-dir"),
    (["data", "folder", "--data-dir", "/nonexistent/dir"], "is not a directory"),
    (["data", "mnist", "--data-dir", "{empty}"], "no train-images-idx3-ubyte"),
])
def test_bad_input_is_one_line_and_non_zero(run_cli, tmp_path: Path, args: list[str], message: str) -> None:
    args = [a.replace("{empty}", str(tmp_path)) for a in args]
    result = run_cli(*args)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_wrong_magic_idx_via_cli(run_cli, tmp_path: Path) -> None:
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"GIF89a....")
    result = run_cli("data", "mnist", "--data-dir", str(tmp_path))
    assert result.exit_code == 1 and "wrong magic number" in result.stderr


def test_debug_shows_the_traceback() -> None:
    proc = run_subprocess(["--debug", "data", "digits", "--image-size", "12"])
    assert proc.returncode != 0 and "Traceback" in proc.stderr and "DataError" in proc.stderr


def test_real_process_list_and_help() -> None:
    proc = subprocess.run([sys.executable, "-m", "ganzoo", "list", "--kind", "dataset"], capture_output=True, text=True)
    assert proc.returncode == 0 and "digits" in proc.stdout
    help_proc = run_subprocess(["--help"])
    assert help_proc.returncode == 0 and "ganzoo list" in help_proc.stdout


def test_help_does_not_import_torch() -> None:
    code = ("import sys\nfrom ganzoo.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "sys.exit(3 if 'torch' in sys.modules else 0)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0


def test_click_cli_runner_list_and_doctor() -> None:
    from click.testing import CliRunner

    from ganzoo.cli import cli

    runner = CliRunner()
    listed = runner.invoke(cli, ["list", "--kind", "arch", "--json"])
    assert listed.exit_code == 0, listed.output
    assert {row["name"] for row in json.loads(listed.output)} >= {"vanilla", "dcgan", "wgan_gp"}
    doctor = runner.invoke(cli, ["doctor", "--json"])
    assert doctor.exit_code == 0 and json.loads(doctor.output)["extension"]["built"] is True
    usage = runner.invoke(cli, ["list", "--kind", "nope"])
    assert usage.exit_code == 2 and "Invalid value for '--kind'" in usage.output


def test_train_help_shows_the_configs_own_defaults() -> None:
    """The help tells the truth: a setting the architecture may set (TRAINING_KEYS) names no fixed default, since
    `ganzoo train --arch wgan_gp` runs 8,000 steps where the config's default is 2,000 (this test pinned "[default:
    2000]" for --steps before issue 29); every other shown default is the config's own."""
    import dataclasses
    import re

    from ganzoo.cli import cli
    from ganzoo.specs import TRAINING_KEYS
    from ganzoo.train.config import TrainConfig

    defaults = {f.name: getattr(TrainConfig(), f.name) for f in dataclasses.fields(TrainConfig)}
    shown = {}
    for param in cli.commands["train"].params:
        found = re.search(r"\[default: ([^\]]+)\]", getattr(param, "help", None) or "")
        if found:
            shown[param.name] = found.group(1)
    assert {"seed", "log_every", "precision"} <= set(shown)
    assert {"steps", "batch_size", "lr_g", "ema", "penalty_weight", "lr_decay"} <= set(shown)
    for name, text in shown.items():
        if name in TRAINING_KEYS:
            assert text.startswith("the architecture's") and "ganzoo list --kind arch" in text, name
            continue
        value = defaults[name]
        assert text == (f"{value:g}" if isinstance(value, float) else str(value)), name


def test_list_shows_what_each_architecture_trains_with_on_each_data_kind(run_cli) -> None:
    """The "trains:" lines are what a run without flags really uses: checked against the resolved config."""
    from ganzoo.cli import _settings_text
    from ganzoo.registry import default_registry
    from ganzoo.train.config import effective_training_defaults, resolve_config

    lines = run_cli("list", "--kind", "arch").stdout.splitlines()
    assert "trains:   wgan_gp on points: steps=8000 batch_size=256 lr_g=0.001 lr_d=0.001 betas=0.5,0.9 n_critic=5 " \
           "ema=0.999 label_smoothing=0 penalty_weight=0.1 penalty_every=1 grad_clip=0 lr_decay=linear augment=none " \
           "precision=fp32" in lines
    registry = default_registry()
    for arch, dataset, data_kind in (("wgan_gp", "ring", "points"), ("wgan_gp", "digits", "images"),
                                     ("dcgan", "digits", "images"), ("progan", "digits", "images"),
                                     ("vanilla", "ring", "points")):
        shown = effective_training_defaults(registry, registry.get("arch", arch), data_kind)
        assert f"trains:   {arch} on {data_kind}: {_settings_text(shown)}" in lines
        resolved = resolve_config(registry, {"arch": arch, "dataset": dataset})
        for key, value in shown.items():
            got = getattr(resolved.config, key)
            if key == "penalty_weight" and got is None:
                got = resolved.loss.penalty.weight
            assert got == value, (arch, data_kind, key)


def test_list_shows_an_architectures_defaults_for_one_dataset(run_cli) -> None:
    lines = run_cli("list", "--kind", "arch").stdout.splitlines()
    grid = [line for line in lines if line.startswith("defaults: wgan_gp on grid:")]
    assert len(grid) == 1 and "hidden=256" in grid[0]
    assert all(not line.startswith("defaults:") for line in run_cli("list", "--kind", "dataset").stdout.splitlines())
    rows = {row["name"]: row for row in json.loads(run_cli("list", "--kind", "arch", "--json").stdout)}
    assert rows["wgan_gp"]["dataset_defaults"] == {"grid": {"hidden": 256}}
    assert rows["dcgan"]["dataset_defaults"] == {"fashion_mnist": {"steps": 7000}}
    assert any(line.startswith("defaults: dcgan on fashion_mnist: steps=7000") for line in lines)


def test_debug_is_the_option_and_not_any_word_that_reads_like_it(run_cli) -> None:
    """``--debug`` counts where click reads it as the option: as the value of another option it is just that value
    (the command line once found it by scanning its arguments and then raised a traceback here)."""
    result = run_cli("train", "--arch", "--debug")
    assert result.exit_code == 1 and "unknown architecture '--debug'" in result.stderr
    assert "Traceback" not in result.stderr
    from ganzoo.errors import UnknownNameError

    with pytest.raises(UnknownNameError):
        run_cli("--debug", "train", "--arch", "nope")
