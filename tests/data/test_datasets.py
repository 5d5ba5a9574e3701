"""Every built-in dataset on real files made here (IDX written byte by byte, PNGs by Pillow), and every bad input."""

from __future__ import annotations

import gzip
import struct
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganzoo.data import GanzooWarning, check_image_size, load_dataset, read_idx
from ganzoo.data.idx import FASHION_MNIST_DIR, find_idx_pair
from ganzoo.errors import DataError, DataMissingError
from ganzoo.registry import default_registry
from ganzoo.specs import DataRequest


def load(name: str, **kw):
    return load_dataset(default_registry().get("dataset", name), DataRequest(**kw))


# ------------------------------------------------------------------------------------------------------------- toy 2-D
@pytest.mark.parametrize("name, modes, sigma", [("ring", 8, 0.01), ("grid", 25, 0.05)])
def test_mixtures_sit_on_their_modes(name: str, modes: int, sigma: float) -> None:
    data = load(name, options={"n": 20_000})
    centres = torch.tensor(data.info.meta["centres"])
    assert data.x.shape == (20_000, 2) and len(centres) == modes and data.info.meta["sigma"] == sigma
    offsets = data.x - centres[data.y]
    assert offsets.std().item() == pytest.approx(sigma, rel=0.05)
    assert torch.bincount(data.y, minlength=modes).min() > 20_000 / modes * 0.8


def test_ring_centres_are_on_the_unit_circle_at_2pi_k_over_8() -> None:
    centres = torch.tensor(load("ring", options={"n": 10}).info.meta["centres"])
    assert torch.allclose(centres.norm(dim=1), torch.ones(8), atol=1e-6)
    angles = torch.atan2(centres[:, 1], centres[:, 0]) % (2 * torch.pi)
    assert torch.allclose(angles, torch.arange(8) * (2 * torch.pi / 8), atol=1e-6)


def test_grid_centres_cover_the_lattice() -> None:
    centres = {tuple(c) for c in load("grid", options={"n": 10}).info.meta["centres"]}
    assert centres == {(float(a), float(b)) for a in (-4, -2, 0, 2, 4) for b in (-4, -2, 0, 2, 4)}


@pytest.mark.parametrize("name", ["ring", "grid", "swissroll"])
def test_generated_data_is_seeded_and_splits_differ(name: str) -> None:
    a = load(name, seed=3, options={"n": 500})
    b = load(name, seed=3, options={"n": 500})
    c = load(name, seed=4, options={"n": 500})
    val = load(name, seed=3, split="val", options={"n": 500})
    assert torch.equal(a.x, b.x)
    assert not torch.equal(a.x, c.x) and not torch.equal(a.x, val.x)


def test_swissroll_stays_in_its_window() -> None:
    x = load("swissroll", options={"n": 5000}).x
    assert x.abs().max() < 2.2 and x.std() > 0.5


def test_bad_point_count_is_a_clear_error() -> None:
    with pytest.raises(DataError, match="positive integer"):
        load("ring", options={"n": 0})


# -------------------------------------------------------------------------------------------------------------- digits
@pytest.mark.parametrize("size", [8, 16, 32])
def test_digits_sizes_range_and_labels(size: int) -> None:
    train, val = load("digits", image_size=size), load("digits", image_size=size, split="val")
    assert train.x.shape[1:] == (1, size, size) and val.x.shape[1:] == (1, size, size)
    assert len(train.x) + len(val.x) == 1797 and len(val.x) == 180
    assert train.x.min() >= -1 and train.x.max() <= 1 and train.x.min() == -1
    assert set(train.y.tolist()) == set(range(10)) and train.info.num_classes == 10


def test_digits_rgb_and_default_size() -> None:
    assert load("digits", channels=3).x.shape[1:] == (3, 16, 16)


@pytest.mark.parametrize("size", [0, 3, 12, 48, 2048, -8])
def test_image_size_must_be_a_power_of_two(size: int) -> None:
    with pytest.raises(DataError, match="not a power of two"):
        check_image_size(size)
    with pytest.raises(DataError, match="not a power of two"):
        load("digits", image_size=size)


# ----------------------------------------------------------------------------------------------------------------- IDX
def _idx_bytes(array: np.ndarray) -> bytes:
    return struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def _write_mnist(folder: Path, n: int = 30, gz: bool = False, prefix: str = "train") -> np.ndarray:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = (np.arange(n) % 10).astype(np.uint8)
    folder.mkdir(parents=True, exist_ok=True)
    for stem, arr in ((f"{prefix}-images-idx3-ubyte", images), (f"{prefix}-labels-idx1-ubyte", labels)):
        data = _idx_bytes(arr)
        if gz:
            (folder / (stem + ".gz")).write_bytes(gzip.compress(data))
        else:
            (folder / stem).write_bytes(data)
    return images


@pytest.mark.parametrize("gz", [False, True])
def test_idx_round_trip(tmp_path: Path, gz: bool) -> None:
    images = _write_mnist(tmp_path, gz=gz)
    suffix = ".gz" if gz else ""
    assert np.array_equal(read_idx(tmp_path / f"train-images-idx3-ubyte{suffix}"), images)
    data = load("mnist", data_dir=str(tmp_path), image_size=32)
    assert data.x.shape[1:] == (1, 32, 32) and len(data.x) == 27  # a tenth held out: there is no t10k file
    val = load("mnist", data_dir=str(tmp_path), split="val")
    assert len(val.x) == 3 and data.info.num_classes == 10


def test_idx_uses_t10k_for_validation_when_present(tmp_path: Path) -> None:
    _write_mnist(tmp_path, n=20)
    _write_mnist(tmp_path, n=7, prefix="t10k")
    assert len(load("mnist", data_dir=str(tmp_path)).x) == 20
    assert len(load("mnist", data_dir=str(tmp_path), split="val").x) == 7


def test_idx_pixels_survive_at_native_size(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    images = np.zeros((4, 8, 8), dtype=np.uint8)
    images[:, 2, 3] = 255
    folder.mkdir()
    (folder / "train-images-idx3-ubyte").write_bytes(_idx_bytes(images))
    x = load("mnist", data_dir=str(folder), image_size=8).x
    assert x[0, 0, 2, 3] == 1.0 and x[0, 0, 0, 0] == -1.0


@pytest.mark.parametrize("damage, message", [
    (lambda b: b[:-100], "truncated"),
    (lambda b: b[:6], "truncated inside its header"),
    (lambda b: b"\x08\x03" + b[2:], "wrong magic number"),
    (lambda b: b[:2] + b"\x0d" + b[3:], "element type 0x0d"),
    (lambda b: b[:4] + struct.pack(">I", 4_000_000_000) + b[8:], "more than the"),
    (lambda b: b + b"extra", "past the"),
    (lambda b: b"", "is empty"),
])
def test_damaged_idx_files_give_one_clear_error(tmp_path: Path, damage, message: str) -> None:
    _write_mnist(tmp_path)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(DataError, match=message):
        load("mnist", data_dir=str(tmp_path))


def test_idx_labels_must_match_images(tmp_path: Path) -> None:
    _write_mnist(tmp_path, n=30)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(_idx_bytes(np.zeros(29, dtype=np.uint8)))
    with pytest.raises(DataError, match="29,\\) labels for 30 images"):
        load("mnist", data_dir=str(tmp_path))


def test_mnist_missing_and_empty_dirs(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not a directory"):
        load("mnist", data_dir=str(tmp_path / "nope"))
    with pytest.raises(DataError, match="no train-images-idx3-ubyte"):
        load("mnist", data_dir=str(tmp_path))


@pytest.mark.skipif(find_idx_pair(Path(FASHION_MNIST_DIR), "train")[0] is None,
                    reason=f"no IDX data in {FASHION_MNIST_DIR} (apt-get install dataset-fashion-mnist provides it)")
def test_real_fashion_mnist() -> None:
    train = load("fashion_mnist", image_size=16)
    val = load("fashion_mnist", image_size=16, split="val")
    assert train.x.shape == (60_000, 1, 16, 16) and val.x.shape == (10_000, 1, 16, 16)  # val: the 10,000 test images
    assert torch.bincount(train.y).tolist() == [6000] * 10
    assert -1 <= train.x.min() < -0.99 and train.x.max() > 0.99
    assert train.info.meta["source"] == f"IDX {find_idx_pair(Path(FASHION_MNIST_DIR), 'train')[0].resolve()}"


def test_fashion_mnist_without_its_files_says_where_they_come_from(monkeypatch, tmp_path: Path) -> None:
    import ganzoo.data.idx

    monkeypatch.setattr(ganzoo.data.idx, "FASHION_MNIST_DIR", str(tmp_path / "none"))
    with pytest.raises(DataMissingError, match="install Debian's dataset-fashion-mnist .* or give --data-dir DIR"):
        load("fashion_mnist")
    _write_mnist(tmp_path, n=12)
    assert len(load("fashion_mnist", data_dir=str(tmp_path)).x) == 12 - 1  # no t10k: a tenth held out


def test_mnist_is_real_mnist_the_fetched_digits_or_idx_files(monkeypatch, tmp_path: Path) -> None:
    """``mnist`` reads MNIST's IDX files with --data-dir, and the fetched digits without it (never Fashion-MNIST)."""
    from ganzoo.data import mnist_digits

    _write_mnist(tmp_path, n=20)
    assert load("mnist", data_dir=str(tmp_path)).info.meta["source"].startswith("IDX ")
    monkeypatch.setenv("GANZOO_CACHE_DIR", str(tmp_path / "empty-cache"))
    with pytest.raises(DataMissingError, match="ganzoo fetch mnist"):
        load("mnist")
    monkeypatch.setattr(mnist_digits, "load_mnist_digits", lambda request: "the fetched digits")
    assert default_registry().get("dataset", "mnist").load(DataRequest()) == "the fetched digits"


# -------------------------------------------------------------------------------------------------------------- folder
def _png(path: Path, size: tuple[int, int], colour, mode: str = "RGB") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, colour).save(path)


def test_folder_with_classes_mixed_sizes_and_junk(tmp_path: Path) -> None:
    for i in range(6):
        _png(tmp_path / "cats" / f"{i}.png", (40 + i, 30), (255, 0, 0))
        _png(tmp_path / "dogs" / f"{i}.jpg", (20, 20 + 3 * i), (0, 0, 255))
    (tmp_path / "dogs" / "notes.txt").write_text("not an image")
    with pytest.warns(GanzooWarning, match="skipped 1 file.*notes.txt"):
        data = load("folder", data_dir=str(tmp_path), image_size=16)
    assert data.info.class_names == ("cats", "dogs") and data.info.num_classes == 2
    assert len(data.x) == 11 and data.x.shape[1:] == (3, 16, 16)  # 12 images, one held out for validation
    reds = data.x[data.y == 0]
    assert torch.allclose(reds[:, 0], torch.ones_like(reds[:, 0]), atol=1e-2)
    assert torch.allclose(reds[:, 2], -torch.ones_like(reds[:, 2]), atol=1e-2)


def test_folder_of_gray_images_without_classes(tmp_path: Path) -> None:
    for i in range(4):
        _png(tmp_path / f"{i}.png", (8, 8), 128, mode="L")
    data = load("folder", data_dir=str(tmp_path), image_size=8)
    assert data.y is None and data.x.shape[1:] == (1, 8, 8)
    assert torch.allclose(data.x, torch.full_like(data.x, 128 / 255 * 2 - 1), atol=1e-2)


def test_folder_bad_inputs(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no readable images"):
        load("folder", data_dir=str(tmp_path))
    (tmp_path / "a.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GanzooWarning)
        with pytest.raises(DataError, match="no readable images"):
            load("folder", data_dir=str(tmp_path))
    with pytest.raises(DataError, match="not a directory"):
        load("folder", data_dir=str(tmp_path / "missing"))
    with pytest.raises(DataError, match="needs --data-dir"):
        load("folder")


# ----------------------------------------------------------------------------------------------------------------- npz
def test_npz_points_and_images(tmp_path: Path) -> None:
    pts = np.random.default_rng(1).normal(size=(50, 3)).astype(np.float32)
    np.savez(tmp_path / "p.npz", x=pts, y=np.arange(50) % 2)
    data = load("npz", data_dir=str(tmp_path / "p.npz"))
    assert data.info.kind == "points" and data.x.shape == (45, 3) and data.info.num_classes == 2
    imgs = np.random.default_rng(2).integers(0, 256, size=(20, 12, 12, 3), dtype=np.uint8)
    (tmp_path / "img").mkdir()
    np.savez(tmp_path / "img" / "i.npz", images=imgs)
    data = load("npz", data_dir=str(tmp_path / "img"))
    assert data.info.kind == "images" and data.x.shape[1:] == (3, 16, 16) and data.y is None


def test_npz_refuses_pickled_object_arrays(tmp_path: Path) -> None:
    np.savez(tmp_path / "o.npz", x=np.array([{"a": 1}, {"b": 2}], dtype=object))
    with pytest.raises(DataError, match="without pickle"):
        load("npz", data_dir=str(tmp_path / "o.npz"))


def test_npz_bad_inputs(tmp_path: Path) -> None:
    np.savez(tmp_path / "k.npz", weights=np.zeros((3, 2)))
    with pytest.raises(DataError, match="name the samples 'x'"):
        load("npz", data_dir=str(tmp_path / "k.npz"))
    (tmp_path / "z.npz").write_bytes(b"")
    with pytest.raises(DataError):
        load("npz", data_dir=str(tmp_path / "z.npz"))
    np.savez(tmp_path / "f.npz", x=np.full((4, 8, 8), 7.5, dtype=np.float32))
    with pytest.raises(DataError, match="float images must lie"):
        load("npz", data_dir=str(tmp_path / "f.npz"))
