"""Every run says what it read (the source and a fingerprint of the training data), and runs trained when the MNIST
names meant other data are read back with the data they learnt from."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from ganzoo.errors import GanzooWarning
from ganzoo.train.run import RUN_FORMAT, read_run_config
from tests.train.helpers import tiny_run


def _saved(run_dir: Path) -> dict:
    return json.loads((run_dir / "config.json").read_text())


def test_a_run_records_its_data_source_and_fingerprint(tmp_path: Path) -> None:
    tiny_run(tmp_path / "a", "dcgan", "digits", steps=1)
    tiny_run(tmp_path / "b", "dcgan", "digits", steps=1, image_size=16)
    a, b = _saved(tmp_path / "a")["data"], _saved(tmp_path / "b")["data"]
    assert a["dataset"] == "digits" and a["samples"] == b["samples"] == 1617
    assert "scikit-learn" in a["source"]
    assert a["fingerprint"].startswith("sha256:") and len(a["fingerprint"]) == 7 + 32
    assert a["fingerprint"] != b["fingerprint"]  # the same files, other tensors: what the trainer saw
    tiny_run(tmp_path / "c", "dcgan", "digits", steps=1)
    assert _saved(tmp_path / "c")["data"] == a


def test_a_resumed_run_that_reads_other_data_says_so(tmp_path: Path) -> None:
    tiny_run(tmp_path, "wgan_gp", "ring", steps=2)
    saved = _saved(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error", GanzooWarning)
        tiny_run(tmp_path, "wgan_gp", "ring", steps=3, resume=True)  # the same data: nothing said
    saved["data"]["fingerprint"] = "sha256:" + "0" * 32
    (tmp_path / "config.json").write_text(json.dumps(saved))
    with pytest.warns(GanzooWarning, match="was trained on other data .* than it reads now"):
        tiny_run(tmp_path, "wgan_gp", "ring", steps=4, resume=True)


def _legacy(run_dir: Path, dataset: str, data_dir=None) -> Path:
    run_dir.mkdir()
    saved = {"format": RUN_FORMAT, "config": {"dataset": dataset, "data_dir": data_dir}}  # no "data": before the change
    (run_dir / "config.json").write_text(json.dumps(saved))
    return run_dir


@pytest.mark.parametrize("installed, read_as", [("fashion-mnist", {"dataset": "fashion_mnist", "data_dir": None}),
                                                ("mnist", {"dataset": "mnist", "data_dir": "MNIST"}),
                                                (None, {"dataset": "fashion_mnist", "data_dir": None})])
def test_runs_of_the_old_mnist_are_read_with_the_data_they_learnt_from(tmp_path: Path, monkeypatch, installed,
                                                                        read_as) -> None:
    """Until 2026-12-02 ``mnist`` read Debian's IDX folders (Fashion-MNIST first) and ``mnist_digits`` was real MNIST."""
    import ganzoo.data.idx as idx

    folders = {"fashion-mnist": tmp_path / "fashion-mnist", "mnist": tmp_path / "mnist"}
    monkeypatch.setattr(idx, "FASHION_MNIST_DIR", str(folders["fashion-mnist"]))
    monkeypatch.setattr(idx, "LEGACY_MNIST_DIRS", tuple(str(f) for f in folders.values()))
    if installed:
        folders[installed].mkdir()
        (folders[installed] / "train-images-idx3-ubyte").write_bytes(b"")
    with pytest.warns(GanzooWarning, match="was trained when 'mnist' read Debian's IDX files"):
        config = read_run_config(_legacy(tmp_path / "old", "mnist"))["config"]
    expected = dict(read_as, data_dir=str(folders["mnist"]) if read_as["data_dir"] else None)
    assert {k: config[k] for k in expected} == expected
    with warnings.catch_warnings():
        warnings.simplefilter("error", GanzooWarning)
        assert read_run_config(_legacy(tmp_path / "digits", "mnist_digits"))["config"]["dataset"] == "mnist"
        # with a folder of its own, the old mnist read what the new one reads: nothing to rename or say
        given = read_run_config(_legacy(tmp_path / "given", "mnist", "/data/mnist"))["config"]
        assert given["dataset"] == "mnist" and given["data_dir"] == "/data/mnist"


def test_the_old_dataset_name_trains_the_new_one_and_says_what_changed(tmp_path: Path) -> None:
    with pytest.warns(GanzooWarning, match="dataset 'mnist_digits' is now called 'mnist'"):
        from ganzoo.registry import default_registry
        from ganzoo.train import resolve_config

        resolved = resolve_config(default_registry(), {"arch": "dcgan", "dataset": "mnist_digits"})
    assert resolved.config.dataset == "mnist" and resolved.dataset.name == "mnist"
