"""The IDX format of MNIST and Fashion-MNIST (``train-images-idx3-ubyte[.gz]`` and ``train-labels-idx1-ubyte[.gz]``).

Headers are checked against the bytes actually present before anything large is allocated, so a truncated file or a
header that claims billions of items fails with one line instead of exhausting memory.
"""

from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path
from typing import BinaryIO, Optional

import numpy as np
import torch

from ganzoo.data.common import check_image_size, holdout_indices, to_image_tensor
from ganzoo.errors import DataError, DataMissingError
from ganzoo.specs import DataInfo, DataRequest, LoadedData

__all__ = ["read_idx", "load_idx_dataset", "load_mnist", "load_fashion_mnist", "find_idx_pair", "legacy_mnist_dir",
           "FASHION_MNIST_DIR", "LEGACY_MNIST_DIRS", "MNIST_DEFAULT_SIZE", "MAX_IDX_BYTES"]

MNIST_DEFAULT_SIZE = 32
MAX_IDX_BYTES = 4 * 1024**3
# Debian's dataset-fashion-mnist installs here: fashion_mnist's --data-dir when none is given
FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"
# where the `mnist` dataset of before 2026-12-02 (then an IDX reader) looked when no --data-dir was given, in order:
# runs it trained are read back with the data it read (ganzoo.train.run)
LEGACY_MNIST_DIRS = (FASHION_MNIST_DIR, "/usr/share/datasets/mnist")
_UBYTE = 0x08


def _open(path: Path) -> BinaryIO:
    with open(path, "rb") as probe:
        is_gzip = probe.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if is_gzip else open(path, "rb")  # type: ignore[return-value]


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file of unsigned bytes (plain or gzip) into a uint8 array of the shape its header gives.

    Raises:
        DataError: missing or empty file, wrong magic number, unsupported element type, or fewer/more bytes than the header
            promises.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"IDX file {path} does not exist")
    if path.stat().st_size == 0:
        raise DataError(f"IDX file {path} is empty: download it again")
    try:
        with _open(path) as f:
            head = f.read(4)
            if len(head) < 4 or head[0] != 0 or head[1] != 0:
                raise DataError(f"{path} is not an IDX file (wrong magic number {head.hex() or 'none'}): expected MNIST-style IDX data")
            if head[2] != _UBYTE:
                raise DataError(f"{path}: IDX element type 0x{head[2]:02x} is not supported; only unsigned bytes (0x08) are")
            ndim = head[3]
            if not 1 <= ndim <= 4:
                raise DataError(f"{path}: IDX header has {ndim} dimensions; expected 1 (labels) or 3 (images)")
            dims_raw = f.read(4 * ndim)
            if len(dims_raw) < 4 * ndim:
                raise DataError(f"{path} is truncated inside its header")
            dims = struct.unpack(f">{ndim}I", dims_raw)
            expected = int(np.prod(dims, dtype=np.int64))
            if expected > MAX_IDX_BYTES:
                raise DataError(f"{path}: header claims {dims} = {expected:,} bytes, more than the {MAX_IDX_BYTES:,} allowed")
            data = f.read(expected + 1)  # one extra byte tells trailing garbage from an exact fit
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise DataError(f"cannot read {path}: {exc}") from exc
    if len(data) < expected:
        raise DataError(f"{path} is truncated: header promises {expected:,} bytes of data, the file holds {len(data):,}")
    if len(data) > expected:
        raise DataError(f"{path} has data past the {expected:,} bytes its header declares: the file is not valid IDX")
    return np.frombuffer(data, dtype=np.uint8).reshape(dims).copy()  # writable, so torch can own it


def _find(folder: Path, stem: str) -> Optional[Path]:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def find_idx_pair(folder: Path, prefix: str) -> tuple[Optional[Path], Optional[Path]]:
    """The images and labels files for ``prefix`` (``train`` or ``t10k``) in ``folder``, each None if absent."""
    return _find(folder, f"{prefix}-images-idx3-ubyte"), _find(folder, f"{prefix}-labels-idx1-ubyte")


def legacy_mnist_dir() -> Optional[str]:
    """The folder the old IDX-reading ``mnist`` dataset read without --data-dir, or None."""
    for d in LEGACY_MNIST_DIRS:
        if find_idx_pair(Path(d), "train")[0] is not None:
            return d
    return None


def load_mnist(request: DataRequest) -> LoadedData:
    """Real MNIST: the 10,000 digits ``ganzoo fetch mnist`` cached, or MNIST's own IDX files in ``--data-dir`` (60,000
    to train on, the 10,000 of ``t10k-*`` held out)."""
    if request.data_dir is None:
        from ganzoo.data.mnist_digits import load_mnist_digits

        return load_mnist_digits(request)
    return load_idx_dataset(request)


def load_fashion_mnist(request: DataRequest) -> LoadedData:
    """Fashion-MNIST's IDX files: ``--data-dir``, else Debian's dataset-fashion-mnist; its 10,000 test images are the
    held-out split (the FID reference of the published protocol)."""
    if request.data_dir is None and find_idx_pair(Path(FASHION_MNIST_DIR), "train")[0] is None:
        raise DataMissingError(  # absent files, not a wrong setting: check-plugin and the tests skip on this
            "fashion_mnist needs Fashion-MNIST's IDX files: install Debian's dataset-fashion-mnist (it puts them in "
            f"{FASHION_MNIST_DIR}) or give --data-dir DIR holding train-images-idx3-ubyte[.gz]")
    return load_idx_dataset(request, FASHION_MNIST_DIR)


def load_idx_dataset(request: DataRequest, default_dir: Optional[str] = None) -> LoadedData:
    """IDX files from ``request.data_dir`` (else ``default_dir``): ``train-*`` for training, ``t10k-*`` (or a held-out
    tenth of ``train-*``) for val."""
    data_dir = request.data_dir or default_dir
    if data_dir is None:
        raise DataError("this dataset reads IDX files: give --data-dir DIR holding train-images-idx3-ubyte[.gz]")
    folder = Path(data_dir)
    if not folder.is_dir():
        raise DataError(f"--data-dir {folder} is not a directory: point it at the folder holding the IDX files")
    size = check_image_size(MNIST_DEFAULT_SIZE if request.image_size is None else request.image_size)
    images_path, labels_path = find_idx_pair(folder, "t10k" if request.split == "val" else "train")
    use_holdout = request.split == "val" and images_path is None
    if use_holdout:
        images_path, labels_path = find_idx_pair(folder, "train")
    if images_path is None:
        raise DataError(f"no train-images-idx3-ubyte[.gz] in {folder}: point --data-dir at an MNIST-style folder")
    images = read_idx(images_path)
    if images.ndim != 3:
        raise DataError(f"{images_path}: images must have 3 dimensions (N, H, W), the header gives {images.shape}")
    if images.shape[0] == 0:
        raise DataError(f"{images_path} holds no images")
    labels = None
    if labels_path is not None:
        labels = read_idx(labels_path)
        if labels.ndim != 1 or len(labels) != len(images):
            raise DataError(f"{labels_path} holds {labels.shape} labels for {len(images)} images in {images_path.name}")
    if request.split == "train" and find_idx_pair(folder, "t10k")[0] is None:
        use_holdout = True  # no test file: keep a tenth of train aside so validation never sees training images
    if use_holdout:
        keep = holdout_indices(len(images), request.split).numpy()
        images = images[keep]
        labels = labels[keep] if labels is not None else None
    x = to_image_tensor(images, size=size, channels=request.channels or 1, scale=255.0)
    y = torch.as_tensor(labels.astype(np.int64)) if labels is not None else None
    num_classes = int(y.max()) + 1 if y is not None else 0
    source = f"IDX {images_path.resolve()}" + (" (a fixed tenth held out)" if use_holdout else "")
    return LoadedData(x=x, y=y, info=DataInfo(kind="images", shape=tuple(x.shape[1:]), num_classes=num_classes,
                                              meta={"source": source}))
