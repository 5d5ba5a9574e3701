"""The Python API (ganzoo.api): train, open a finished run, sample (by class too) and evaluate, on the CLI's code path."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from ganzoo.api import Run, open_run, train
from ganzoo.errors import CheckpointError, ConfigError

TINY = {"steps": 3, "batch_size": 32, "log_every": 1, "val_every": 3, "val_samples": 200,
        "set": {"hidden": 16, "data.n": 1000}}


@pytest.fixture(scope="module")
def ring_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return train("wgan_gp", dataset="ring", out=tmp_path_factory.mktemp("api") / "ring", **TINY)


def test_train_returns_the_run_it_wrote(ring_run: Run) -> None:
    assert ring_run.status == "finished"
    assert (ring_run.path / "checkpoints" / "last.safetensors").is_file()
    assert ring_run.config["arch"] == "wgan_gp" and ring_run.config["steps"] == 3
    assert ring_run.config["hparams"]["hidden"] == 16 and ring_run.config["data_options"] == {"n": 1000}
    assert ring_run.data_info["kind"] == "points"
    records = ring_run.records()
    assert [r["step"] for r in records if "d_loss" in r] == [1, 2, 3]
    assert any("modes" in r.get("val", {}) for r in records)
    assert "wgan_gp on ring, 3 steps" in repr(ring_run)


def test_sampling_matches_the_cli_and_follows_the_seed(ring_run: Run, run_cli, tmp_path: Path) -> None:
    points = ring_run.sample(300, seed=4)
    assert points.shape == (300, 2) and points.dtype == torch.float32 and torch.isfinite(points).all()
    assert torch.equal(points, open_run(ring_run.path).sample(300, seed=4))
    assert not torch.equal(points, ring_run.sample(300, seed=5))
    assert run_cli("sample", str(ring_run.path), "--n", "300", "--seed", "4", "--out", str(tmp_path / "s.npy")).exit_code == 0
    assert np.array_equal(np.load(tmp_path / "s.npy"), points.numpy())  # the same samples as `ganzoo sample`
    written = ring_run.save_samples(tmp_path / "s.png", 100)
    assert written.is_file() and written.stat().st_size > 1000


def test_evaluate_gives_the_eval_commands_report(ring_run: Run) -> None:
    report = ring_run.evaluate(n=300, metrics=["swd"], save=False)
    assert report["step"] == 3 and report["n"] == 300
    swd = report["metrics"]["swd"]
    assert swd["primary"] == "swd" and swd["higher_is_better"] is False
    assert swd["score"]["swd"] > swd["floor"]["swd"] >= 0  # three steps of training are worse than real data
    assert not (ring_run.path / "eval").exists()


def test_resume_continues_the_same_run(tmp_path: Path) -> None:
    first = train(out=tmp_path / "r", **TINY)
    more = train(resume=first.path, steps=5)
    assert more.path == first.path and more.status == "finished"
    assert [r["step"] for r in more.records() if "d_loss" in r] == [1, 2, 3, 4, 5]


def test_conditional_run_samples_by_class(tmp_path: Path) -> None:
    run = train("dcgan", dataset="digits", conditional=True, steps=2, batch_size=16, image_size=8, val_every=0,
                out=tmp_path / "c", set={"base_channels": 8})
    threes = run.sample(6, class_id=3)
    assert threes.shape == (6, 1, 8, 8) and threes.min() >= -1 and threes.max() <= 1
    with pytest.raises(ConfigError, match=r"--class 10 is out of range: this run has classes 0..9"):
        run.sample(2, class_id=10)


def test_bad_input_is_the_clis_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"train\(\) has no option 'stepz': did you mean 'steps'\?"):
        train(stepz=3)
    with pytest.raises(ConfigError, match=r"--set hidden='x': expected an integer \(its default is \d+\)"):
        train(set={"hidden": "x"}, out=tmp_path / "x")
    with pytest.raises(CheckpointError, match="nowhere does not exist: give the run folder"):
        open_run(tmp_path / "nowhere")
    (tmp_path / "a-file").write_text("")
    with pytest.raises(CheckpointError, match="a-file is not a folder"):
        open_run(tmp_path / "a-file")
    (tmp_path / "a-file").unlink()  # the check below is that the calls wrote nothing
    with pytest.raises(ConfigError, match="either resume= or out="):
        train(out=tmp_path / "a", resume=tmp_path / "b")
    assert not any(tmp_path.iterdir())


def test_set_values_round_trip_through_the_set_parser() -> None:
    from ganzoo.api import _as_set_value

    assert [_as_set_value(v) for v in (True, False, (0.5, 0.9), None, {"a": 1}, 3, 0.25, "x")] == \
        ["true", "false", "0.5,0.9", "null", json.dumps({"a": 1}), "3", "0.25", "x"]


def test_the_readmes_example_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    start = readme.index("### From Python: `ganzoo.api`")
    block = readme[start:].split("```python\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(tmp_path)
    exec(compile(block, "README.md", "exec"), {})  # noqa: S102 - our own documentation
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("finished 300 {'step': 300, 'val': {'modes': ")
    assert 0.0 <= float(printed[1]) <= 1.0
    assert (tmp_path / "runs" / "api-ring" / "points.png").is_file()


_NOTEBOOK = """
import json, sys
import torch
from ganzoo.api import train
from ganzoo.train import allocator

torch.manual_seed(123)
before = torch.get_rng_state()
train("wgan_gp", dataset="ring", out=sys.argv[1], steps=2, batch_size=32, val_every=0, sample_every=0,
      tune_malloc=sys.argv[2] == "tune", set={"hidden": 16, "data.n": 1000})
print(json.dumps({"rng_unchanged": bool(torch.equal(torch.get_rng_state(), before)), "malloc": allocator._applied}))
"""


@pytest.mark.parametrize("tune", ["leave", "tune"])
def test_the_library_leaves_the_process_as_it_found_it(tmp_path: Path, tune: str) -> None:
    """In a notebook's process: torch's global generator is where the notebook left it (the networks are built under
    a seed of their own), and glibc's malloc is tuned only when asked."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k != "GANZOO_ALLOCATOR"}
    done = subprocess.run([sys.executable, "-c", _NOTEBOOK, str(tmp_path / "run"), tune], capture_output=True,
                          text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["rng_unchanged"]
    if tune == "tune":
        assert report["malloc"].startswith("malloc: blocks up to 32 MiB")
    else:
        assert report["malloc"] is None
