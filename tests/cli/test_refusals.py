"""Every refusal the command line makes is one ``error:`` line on stderr and exit code 1 (the README's "Bad input"),
whether ganzoo or click refuses; ``ganzoo train`` announces a run only once everything it needs is checked; a run
whose plugin is gone, or that has no checkpoint yet, says so."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.cli.test_train_cli import TINY_RING, ring_run  # noqa: F401 - ring_run: the fixture, for this module too


@pytest.fixture(scope="module")
def places(ring_run: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:  # noqa: F811
    root = tmp_path_factory.mktemp("refusals")
    (root / "afile").write_text("not a folder")
    (root / "empty").mkdir()
    (root / "notarun").mkdir()
    np.save(root / "few.npy", np.zeros((3, 16, 16), dtype=np.uint8))
    return {"RUN": ring_run, "AFILE": root / "afile", "EMPTY": root / "empty", "NOTARUN": root / "notarun",
            "FEW": root / "few.npy", "NEW": root / "new-run"}


REFUSALS = [
    # ganzoo train: names, ranges, combinations
    (["train", "--arch", "nope"], "unknown architecture 'nope'"),
    (["train", "--dataset", "rnig"], "did you mean 'ring'"),
    (["train", "--loss", "nope"], "unknown loss 'nope'"),
    (["train", "--steps", "0"], "--steps"),
    (["train", "--batch-size", "-1"], "--batch-size"),
    (["train", "--lr-g", "0"], "--lr-g"),
    (["train", "--arch", "dcgan", "--dataset", "ring"], "models images"),
    (["train", "--loss", "wgan_gp", "--label-smoothing", "0.1"], "--label-smoothing has no meaning"),
    (["train", "--dataset", "swissroll", "--conditional"], "--conditional is not supported"),
    (["train", "--set", "hidden=abc"], "expected an integer"),
    (["train", "--set", "nope=1"], "--set nope: not a setting"),
    (["train", "--arch", "dcgan", "--dataset", "digits", "--image-size", "30", "--out", "NEW"], "power of two"),
    (["train", "--arch", "dcgan", "--dataset", "folder", "--data-dir", "EMPTY", "--out", "NEW"], "no readable images"),
    (["train", "--out", "RUN", *TINY_RING], "continue it with --resume"),
    (["train", "--resume", "NOTARUN"], "is not a ganzoo run"),
    (["train", "--resume", "RUN", "--out", "NEW"], "give either --resume RUN or --out, not both"),
    (["train", "--resume", "RUN", "--arch", "dcgan"], "trained with arch 'wgan_gp'"),
    (["train", "--resume", "RUN", "--lr-g", "0.002"], "cannot change it when resuming"),
    (["train", "--resume", "RUN", "--steps", "2"], "already at step 3"),
    (["train", "--resume", "RUN", "--set", "hidden=8"], "--set cannot change a run being resumed"),
    # ganzoo train: what click refuses
    (["train", "--lr-g", "abc"], "'abc' is not a valid float"),
    (["train", "--precision", "fp8"], "'fp8' is not one of"),
    (["train", "--out", "AFILE"], "is a file"),
    (["train", "--stepz", "3"], "No such option '--stepz'"),
    (["nope"], "No such command 'nope'"),
    # sample, eval, data, fetch, list, new-plugin, check-plugin
    (["sample", "NOTARUN"], "is not a ganzoo run"),
    (["sample", "RUN", "--checkpoint", "nope"], "'nope' is not one of"),
    (["sample", "RUN", "--n", "0"], "--n"),
    (["sample", "RUN", "--class", "3"], "--class"),
    (["sample", "RUN", "--noise-scale", "0"], "--noise-scale 0.0 must be a positive finite number"),
    (["sample", "RUN", "--noise-scale", "nan"], "--noise-scale nan must be a positive finite number"),
    (["eval", "RUN", "--noise-scale", "-1"], "--noise-scale -1.0 must be a positive finite number"),
    (["eval", "--samples", "FEW", "--dataset", "digits", "--noise-scale", "2"], "--samples are images already made"),
    (["eval"], "give a run folder, or --samples PATH --dataset NAME"),
    (["eval", "RUN", "--metric", "nope"], "unknown metric 'nope'"),
    (["eval", "RUN", "--metric", "domain"], "cannot score dataset 'ring'"),
    (["eval", "RUN", "--n", "1"], "--n 1 must be at least 2"),
    (["eval", "RUN", "--protocol", "nope"], "'nope' is not 'lucic2018'"),
    (["eval", "--samples", "FEW", "--dataset", "ring"], "--samples scores images"),
    (["eval", "--samples", "AFILE", "--dataset", "digits"], "a folder of images, a .npy or a .npz"),
    (["data", "nope"], "unknown dataset 'nope'"),
    (["data", "mnist", "--data-dir", "EMPTY"], "no train-images-idx3-ubyte"),
    (["fetch", "nope"], "no dataset or metric named 'nope'"),
    (["fetch", "ring"], "'ring' has nothing to fetch"),
    (["list", "--kind", "gan"], "'gan' is not one of"),
    (["new-plugin", "Bad Name"], "Bad Name"),
    (["new-plugin", "mine", "--dir", "AFILE"], "is a file, not a folder"),
    (["check-plugin", "ganzoo-nope"], "no installed distribution named 'ganzoo-nope'"),
]


@pytest.mark.parametrize("args, fragment", REFUSALS, ids=[" ".join(a) for a, _ in REFUSALS])
def test_every_refusal_is_one_error_line_and_exit_1(args, fragment, places, run_cli) -> None:
    result = run_cli(*[str(places.get(a, a)) for a in args])
    lines = [line for line in result.stderr.splitlines() if line and not line.startswith("warning: ")]
    assert result.exit_code == 1, (result.exit_code, result.stderr)
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert fragment in lines[0], lines[0]
    assert not result.stdout.startswith("Usage:") and "Traceback" not in result.stderr
    if args[0] == "train":  # checked before announced: a refused run prints no "training ... ->" line
        assert "training " not in result.stderr and "resuming " not in result.stderr
        assert not places["NEW"].exists()  # and leaves no folder behind


def test_the_start_line_names_a_conditional_run_and_counts_one_step(tmp_path: Path, run_cli) -> None:
    result = run_cli("train", "--arch", "dcgan", "--dataset", "digits", "--conditional", "--steps", "1", "--quiet",
                     "--image-size", "8", "--set", "base_channels=8", "--batch-size", "16", "--val-every", "0",
                     "--out", str(tmp_path / "r"))
    assert result.exit_code == 0, result.stderr
    assert f"training conditional dcgan (bce loss) on digits for 1 step -> {tmp_path / 'r'}" in result.stderr


def test_a_run_whose_plugin_is_gone_names_the_package(places, tmp_path: Path, run_cli) -> None:
    import shutil

    run = tmp_path / "run"
    shutil.copytree(places["RUN"], run)
    saved = json.loads((run / "config.json").read_text())
    assert saved["providers"]["arch"] == {"name": "wgan_gp", "package": "ganzoo", "version": saved["ganzoo_version"]}
    saved["config"]["arch"] = "myarch"
    saved["providers"]["arch"] = {"name": "myarch", "package": "ganzoo-myarch", "version": "0.1.0"}
    (run / "config.json").write_text(json.dumps(saved))
    expected = (f"error: {run} was trained with architecture 'myarch' from ganzoo-myarch 0.1.0, which is not "
                "installed: pip install 'ganzoo-myarch==0.1.0'")
    for args in (["sample", str(run)], ["eval", str(run)], ["train", "--resume", str(run), "--steps", "5"]):
        result = run_cli(*args)
        assert result.exit_code == 1 and result.stderr.strip() == expected, (args, result.stderr)


def test_a_run_without_a_checkpoint_yet_says_when_the_first_comes(places, tmp_path: Path, run_cli) -> None:
    import shutil

    run = tmp_path / "run"
    shutil.copytree(places["RUN"], run)
    shutil.rmtree(run / "checkpoints")
    saved = json.loads((run / "config.json").read_text())
    saved["config"].update(checkpoint_every=500, steps=2000)
    (run / "config.json").write_text(json.dumps(saved))
    result = run_cli("sample", str(run))
    assert result.exit_code == 1 and result.stderr.strip() == (
        f"error: {run} has no 'last' checkpoint yet (the first is written at step 500): wait for it, or stop the run "
        "with Ctrl-C")
    saved["config"]["val_every"] = 0
    (run / "config.json").write_text(json.dumps(saved))
    best = run_cli("sample", str(run), "--checkpoint", "best")
    assert best.exit_code == 1 and "does not validate (--val-every 0)" in best.stderr


def test_a_score_better_than_real_data_comes_with_a_note(places, monkeypatch, run_cli, tmp_path: Path) -> None:
    """With few samples a metric's noise can put a generator past the real floor; the report says not to read it."""
    import ganzoo.evaluate

    monkeypatch.setenv("GANZOO_CACHE_DIR", str(tmp_path))  # the made-up floors stay out of the session's cache
    for seed, (score, floor), said in ((11, (9.4, 10.99), True), (12, (12.0, 10.99), False)):
        values = iter([{"swd": score}, {"swd": floor}])  # the score first, then the floor
        monkeypatch.setattr(ganzoo.evaluate, "scores_of", lambda metric, inp, values=values: next(values))
        result = run_cli("eval", str(places["RUN"]), "--metric", "swd", "--n", "50", "--seed", str(seed))
        note = ("swd: the generated swd (9.4) beats the real floor (10.99): at N = 50 the metric cannot tell these "
                "samples from real data; raise --n before reading it")
        assert result.exit_code == 0 and (note in result.stdout) == said, result.stdout
