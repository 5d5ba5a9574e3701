"""``ganzoo eval --samples``: images from anywhere scored like a run's, and ``--protocol``: a published protocol's N,
metric and held-out split, stated in the output."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganzoo.data.samples import load_samples
from ganzoo.errors import ConfigError, DataError
from ganzoo.evaluate import evaluate, evaluate_samples
from ganzoo.protocols import PROTOCOLS, Protocol
from ganzoo.registry import default_registry
from ganzoo.specs import DataRequest
from tests.train.helpers import tiny_run


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("run")
    tiny_run(run, "dcgan", "digits", steps=2)
    return run


def test_a_runs_own_samples_score_as_the_run_does(digits_run: Path, tmp_path: Path, run_cli, monkeypatch) -> None:
    """The same images through --samples give the run's scores: the two paths share everything after generation."""
    assert run_cli("sample", str(digits_run), "--n", "300", "--out", str(tmp_path / "s.npy")).exit_code == 0
    monkeypatch.setenv("GANZOO_CACHE_DIR", str(tmp_path / "cache-a"))
    from_run = json.loads(run_cli("eval", str(digits_run), "--n", "300", "--metric", "swd", "--metric", "domain",
                                  "--json").stdout)
    monkeypatch.setenv("GANZOO_CACHE_DIR", str(tmp_path / "cache-b"))  # the floors computed again, not read back
    result = run_cli("eval", "--samples", str(tmp_path / "s.npy"), "--dataset", "digits", "--image-size", "8",
                     "--n", "300", "--metric", "swd", "--metric", "domain", "--json")
    assert result.exit_code == 0, result.stderr
    from_samples = json.loads(result.stdout)
    assert from_samples["n"] == 300 and from_samples["checkpoint"] is None and from_samples["dataset"] == "digits"
    for metric in ("swd", "domain"):
        for key, value in from_run["metrics"][metric]["score"].items():
            assert from_samples["metrics"][metric]["score"][key] == pytest.approx(value, rel=1e-5, abs=1e-6), key
        assert from_samples["metrics"][metric]["floor"] == from_run["metrics"][metric]["floor"]
    table = run_cli("eval", "--samples", str(tmp_path / "s.npy"), "--dataset", "digits", "--image-size", "8",
                    "--n", "300", "--metric", "swd")
    assert "samples scored against 'digits', 300 samples" in table.stdout
    assert "compared with 180 held-out samples (scikit-learn" in table.stdout


def test_samples_come_as_a_folder_an_npz_or_an_npy_in_any_layout_and_range(tmp_path: Path) -> None:
    registry, request = default_registry(), DataRequest()
    rng = np.random.default_rng(0)
    folder = tmp_path / "pngs"
    (folder / "any-class").mkdir(parents=True)
    for i in range(12):
        Image.fromarray(rng.integers(0, 256, (20, 28, 3), dtype=np.uint8)).save(folder / "any-class" / f"{i}.png")
    (folder / "notes.txt").write_text("not an image")  # skipped
    np.savez(tmp_path / "nhwc.npz", images=rng.integers(0, 256, (9, 8, 8, 1), dtype=np.uint8))
    np.save(tmp_path / "minus1.npy", rng.uniform(-1, 1, (7, 16, 16)).astype(np.float32))
    (folder / "top-level.png").write_bytes((folder / "any-class" / "0.png").read_bytes())  # read too
    np.save(tmp_path / "int64.npy", rng.integers(0, 256, (5, 16, 16)))  # np.asarray(PIL image) arithmetic's dtype
    for path, n in ((folder, 13), (tmp_path / "nhwc.npz", 9), (tmp_path / "minus1.npy", 7), (tmp_path / "int64.npy", 5)):
        result = evaluate_samples(registry, path, "digits", request, metrics=["swd"])
        assert result.n == n, path
        loaded = load_samples(path, (1, 16, 16))
        assert loaded.shape == (n, 1, 16, 16) and loaded.dtype == torch.float32, path
        assert -1 <= float(loaded.min()) < float(loaded.max()) <= 1, path
    minus1 = np.load(tmp_path / "minus1.npy")
    assert torch.allclose(load_samples(tmp_path / "minus1.npy", (1, 16, 16))[:, 0], torch.from_numpy(minus1), atol=1e-6)
    np.save(tmp_path / "too-bright.npy", np.full((4, 16, 16), 2.0, dtype=np.float32))
    np.save(tmp_path / "empty.npy", np.zeros((0, 16, 16), dtype=np.uint8))
    (tmp_path / "table.csv").write_text("1,2\n")
    for path, why in (("too-bright.npy", r"must lie in \[0, 1\] or \[-1, 1\]"), ("empty.npy", "expected an array"),
                      ("table.csv", "a folder of images, a .npy or a .npz"), ("nowhere.npy", "does not exist")):
        with pytest.raises(DataError, match=why):
            evaluate_samples(registry, tmp_path / path, "digits", request, metrics=["swd"])


@pytest.mark.parametrize("args, message", [
    ([], "give a run folder, or --samples PATH --dataset NAME"),
    (["RUN", "--samples", "S.npy", "--dataset", "digits"], "(not both)"),
    (["--samples", "S.npy"], "--samples needs --dataset NAME"),
    (["RUN", "--dataset", "digits"], "go with --samples; a run knows its data"),
    (["RUN", "--protocol", "lucic2018", "--n", "50"], "--protocol lucic2018 fixes N at 10,000: drop --n"),
])
def test_eval_refuses_a_muddled_request_in_one_line(args, message, digits_run: Path, run_cli) -> None:
    result = run_cli("eval", *[str(digits_run) if a == "RUN" else a for a in args])
    assert result.exit_code == 1 and message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_protocol_fixes_n_and_its_metric_and_says_so(digits_run: Path, tmp_path: Path, monkeypatch) -> None:
    # the real protocol scores 10,000 Inception images a side (minutes): a small one shows the same path
    monkeypatch.setitem(PROTOCOLS, "lucic2018", Protocol("lucic2018", 40, ("swd",), "a test's protocol"))
    registry = default_registry()
    result = evaluate(registry, digits_run, protocol="lucic2018", save=False)
    assert result.n == 40 and list(result.scores) == ["swd"] and result.protocol == "lucic2018"
    assert "protocol lucic2018: a test's protocol" in result.notes
    with pytest.raises(ConfigError, match="fixes N at 40"):
        evaluate(registry, digits_run, n=40, protocol="lucic2018", save=False)
    np.save(tmp_path / "few.npy", np.zeros((39, 16, 16), dtype=np.uint8))
    with pytest.raises(DataError, match="needs 40 images, and .* holds 39: generate more"):
        evaluate_samples(registry, tmp_path / "few.npy", "digits", DataRequest(), protocol="lucic2018")
    monkeypatch.setitem(PROTOCOLS, "lucic2018", Protocol("lucic2018", 500, ("swd",), "a test's protocol"))
    small_split = evaluate(registry, digits_run, protocol="lucic2018", save=False)  # digits hold out 180 images
    assert any("holds 180 images, fewer than the protocol's 500" in note for note in small_split.notes)


def test_a_scaled_noise_is_sampled_scored_and_said(digits_run: Path, run_cli, tmp_path: Path, monkeypatch) -> None:
    """--noise-scale S draws the generator's noise times S (the truncation trick's knob), in `ganzoo sample`, `ganzoo
    eval` and the API alike, and the report says so, in a file of its own."""
    from ganzoo.api import open_run
    from ganzoo.train.sample import load_generator

    monkeypatch.setenv("GANZOO_CACHE_DIR", str(tmp_path / "cache"))
    loaded = load_generator(default_registry(), digits_run, "last", "cpu")
    z = torch.randn(8, loaded.latent_dim, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        expected = loaded.generator.eval()(1.5 * z).float()
    torch.testing.assert_close(open_run(digits_run).sample(8, seed=3, noise_scale=1.5), expected)
    assert run_cli("sample", str(digits_run), "--n", "8", "--seed", "3", "--noise-scale", "1.5",
                   "--out", str(tmp_path / "s.npy")).exit_code == 0
    torch.testing.assert_close(torch.from_numpy(np.load(tmp_path / "s.npy")), expected)
    open_run(digits_run).save_samples(tmp_path / "api.npy", 8, seed=3, noise_scale=1.5)
    torch.testing.assert_close(torch.from_numpy(np.load(tmp_path / "api.npy")), expected)
    for hostile in (None, 0, -1.0, float("nan"), float("inf"), True):
        with pytest.raises(ConfigError, match="must be a positive finite number"):
            open_run(digits_run).sample(8, noise_scale=hostile)

    result = run_cli("eval", str(digits_run), "--n", "60", "--metric", "swd", "--noise-scale", "1.5")
    assert result.exit_code == 0, result.stderr
    assert "noise scaled x1.5 at sampling (--noise-scale)" in result.stdout
    saved = json.loads(next((digits_run / "eval").glob("last_step*_noise1.5.json")).read_text())
    plain = evaluate(default_registry(), digits_run, n=60, metrics=["swd"], save=False)
    assert saved["noise_scale"] == 1.5 and plain.noise_scale == 1.0
    assert saved["metrics"]["swd"]["score"] != plain.scores["swd"]
    assert saved["metrics"]["swd"]["floor"] == plain.floors["swd"]  # the same real data beside it


def test_the_floor_is_computed_once_for_the_same_data(digits_run: Path, monkeypatch, tmp_path: Path) -> None:
    """At the published N the floor costs as much as the score; it depends only on the data, so it is cached."""
    from ganzoo import evaluate as module

    monkeypatch.setenv("GANZOO_CACHE_DIR", str(tmp_path))
    calls = []
    real_scores_of = module.scores_of
    monkeypatch.setattr(module, "scores_of", lambda metric, inp: calls.append(metric.name) or real_scores_of(metric, inp))
    first = evaluate(default_registry(), digits_run, n=60, metrics=["swd"], seed=5, save=False)
    second = evaluate(default_registry(), digits_run, n=60, metrics=["swd"], seed=5, save=False)
    assert calls == ["swd", "swd", "swd"]  # score, floor, score: the second floor from the cache
    assert first.floors == second.floors
    # another seed draws other generated samples, but the floor is one draw of real data for every seed
    other_seed = evaluate(default_registry(), digits_run, n=60, metrics=["swd"], seed=6, save=False)
    assert calls == ["swd"] * 4 and other_seed.floors == first.floors
    assert other_seed.scores != first.scores


def test_eval_says_what_it_scores_and_shows_the_long_work(digits_run: Path, run_cli, monkeypatch,
                                                          tmp_path: Path) -> None:
    """The published protocol keeps ``ganzoo eval`` busy for many minutes: when the long work starts it says what it
    scores and when it computes a floor (only the first time), and shows a bar over each Inception pass; stdout keeps
    the table alone. Quick metrics stay silent. (A stand-in network: the real one needs a fetch and minutes.)"""
    from ganzoo.metrics import inception

    monkeypatch.setenv("GANZOO_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(inception, "_features_network", lambda: (lambda x: x.flatten(1)[:, :2048]))
    quick = run_cli("eval", str(digits_run), "--n", "60", "--metric", "swd")
    assert quick.exit_code == 0 and quick.stderr == "", quick.stderr
    first = run_cli("eval", str(digits_run), "--n", "60", "--metric", "inception")
    assert first.exit_code == 0, first.stderr
    lines = first.stderr.splitlines()
    assert lines[0] == f"scoring 60 images of {digits_run} with inception against 60 held-out ones"
    assert "inception: the real floor, 60 training images against the held-out ones (cached after this first time)" \
        in lines
    for what in ("Inception, held-out (cached for next time)", "Inception, scored images"):
        assert any(line.startswith(what) and "60/60" in line for line in lines), what
    assert "scoring" not in first.stdout and "fid" in first.stdout
    again = run_cli("eval", str(digits_run), "--n", "60", "--metric", "inception").stderr.splitlines()
    assert again[0].startswith("scoring 60 images") and not any("real floor" in line or "held-out (" in line
                                                                 for line in again)  # both from the cache


def test_inception_features_show_a_bar_only_where_asked(monkeypatch, capsys) -> None:
    from ganzoo.console import showing_work
    from ganzoo.metrics import inception

    monkeypatch.setattr(inception, "_features_network", lambda: (lambda x: torch.zeros(len(x), 2048)))
    images = torch.zeros(70, 1, 8, 8)
    assert inception.inception_features(images).shape == (70, 2048)
    assert capsys.readouterr().err == ""  # a library caller, or a training run's validation, sees nothing
    with showing_work():
        inception.inception_features(images, what="Inception, scored images")
    lines = capsys.readouterr().err.splitlines()  # off a terminal: whole lines, the last one at 70 of 70
    assert lines and all(line.startswith("Inception, scored images") for line in lines)
    assert "70/70" in lines[-1]


def test_the_floors_key_tells_which_side_holds_the_labels(monkeypatch, tmp_path: Path) -> None:
    """``tensors_digest`` skips a None, so labels given for the held-out side and the same labels given for the
    training side would hash alike: the floor's key says which parts are present, and the two are cached apart."""
    from ganzoo import evaluate as module
    from ganzoo.specs import DataInfo, MetricInput

    monkeypatch.setenv("GANZOO_CACHE_DIR", str(tmp_path))
    calls = []
    monkeypatch.setattr(module, "scores_of", lambda metric, inp: calls.append(inp) or {"swd": 1.0 + len(calls)})
    registry = default_registry()
    swd = registry.get("metric", "swd")
    x, labels = torch.zeros(4, 1, 8, 8), torch.arange(4)
    info = DataInfo(kind="images", shape=(1, 8, 8), num_classes=4)
    on_real = MetricInput(fake=x, real=x, train=x, seed=0, info=info, real_labels=labels)
    on_train = MetricInput(fake=x, real=x, train=x, seed=0, info=info, train_labels=labels)
    first, second = module._floor(registry, swd, on_real), module._floor(registry, swd, on_train)
    assert len(calls) == 2 and first != second
    assert module._floor(registry, swd, on_real) == first and len(calls) == 2  # read back from the cache
