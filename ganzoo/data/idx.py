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

__all__ = ["read_idx", "load_idx_dataset", "find_idx_pair", "DEFAULT_MNIST_DIRS", "MNIST_DEFAULT_SIZE", "MAX_IDX_BYTES"]

MNIST_DEFAULT_SIZE = 32
MAX_IDX_BYTES = 4 * 1024**3
# Debian's dataset-fashion-mnist installs here; used as the default --data-dir when it exists.
DEFAULT_MNIST_DIRS = ("/usr/share/datasets/fashion-mnist", "/usr/share/datasets/mnist")
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


def default_mnist_dir() -> Optional[str]:
    for d in DEFAULT_MNIST_DIRS:
        if find_idx_pair(Path(d), "train")[0] is not None:
            return d
    return None


def load_idx_dataset(request: DataRequest) -> LoadedData:
    """MNIST or Fashion-MNIST from ``request.data_dir``: ``train-*`` for training, ``t10k-*`` (or a held-out tenth) for val."""
    data_dir = request.data_dir or default_mnist_dir()
    if data_dir is None:  # absent files, not a wrong setting: check-plugin and the tests skip on this
        raise DataMissingError(
            "the mnist dataset needs --data-dir pointing at a folder with train-images-idx3-ubyte[.gz] "
            "(or install Debian's dataset-fashion-mnist)"
        )
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
    return LoadedData(x=x, y=y, info=DataInfo(kind="images", shape=tuple(x.shape[1:]), num_classes=num_classes))
