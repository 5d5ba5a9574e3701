"""Arrays from a NumPy ``.npz`` file (never unpickled): ``x`` (or ``images`` / ``arr_0``) and optional ``y`` (or ``labels``).

``(N, D)`` arrays are points; ``(N, H, W)``, ``(N, H, W, C)`` and ``(N, C, H, W)`` arrays are images, uint8 in [0, 255] or floats
in [0, 1] or [-1, 1].
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import torch

from ganzoo.data.common import check_image_size, holdout_indices, to_image_tensor
from ganzoo.errors import DataError
from ganzoo.specs import DataInfo, DataRequest, LoadedData

__all__ = ["load_npz", "unit_range", "X_KEYS"]

X_KEYS = ("x", "images", "arr_0")
_Y_KEYS = ("y", "labels", "arr_1")


def _resolve(data_dir: str | None) -> Path:
    if not data_dir:
        raise DataError("the npz dataset needs --data-dir pointing at a .npz file (or a folder holding one)")
    path = Path(data_dir)
    if path.is_dir():
        found = sorted(path.glob("*.npz"))
        if len(found) != 1:
            raise DataError(f"{path} holds {len(found)} .npz files: point --data-dir at the one to use")
        path = found[0]
    if not path.is_file():
        raise DataError(f"{path} does not exist: point --data-dir at a .npz file")
    return path


def load_npz(request: DataRequest) -> LoadedData:
    path = _resolve(request.data_dir)
    try:
        with np.load(path, allow_pickle=False) as arrays:
            x_key = next((k for k in X_KEYS if k in arrays.files), None)
            if x_key is None:
                raise DataError(f"{path} has arrays {arrays.files}; name the samples 'x' (and labels 'y')")
            x = arrays[x_key]
            y_key = next((k for k in _Y_KEYS if k in arrays.files and k != x_key), None)
            y = arrays[y_key] if y_key else None
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
        raise DataError(f"cannot read {path} as .npz without pickle: {exc}") from exc
    if x.ndim < 2 or len(x) == 0:
        raise DataError(f"{path}: samples must be an array of shape (N, ...) with N > 0, got {x.shape}")
    if not np.issubdtype(x.dtype, np.number):
        raise DataError(f"{path}: samples have dtype {x.dtype}; expected numbers")
    if y is not None and (y.ndim != 1 or len(y) != len(x) or not np.issubdtype(y.dtype, np.integer) or y.min() < 0):
        raise DataError(f"{path}: labels must be non-negative integers of shape ({len(x)},), got {y.dtype} {y.shape}")
    keep = holdout_indices(len(x), request.split).numpy() if len(x) > 1 else np.arange(len(x))
    x, y = x[keep], (y[keep] if y is not None else None)
    labels = torch.as_tensor(y.astype(np.int64)) if y is not None else None
    num_classes = int(labels.max()) + 1 if labels is not None and len(labels) else 0
    if x.ndim == 2:
        points = torch.as_tensor(x, dtype=torch.float32)
        if not torch.isfinite(points).all():
            raise DataError(f"{path}: samples contain NaN or infinity")
        lo, hi = float(points.min()), float(points.max())
        return LoadedData(x=points, y=labels, info=DataInfo(kind="points", shape=(x.shape[1],), num_classes=num_classes, value_range=(lo, hi)))
    if x.ndim == 4 and x.shape[-1] in (1, 3) and x.shape[1] not in (1, 3):
        x = x.transpose(0, 3, 1, 2)
    if x.ndim not in (3, 4):
        raise DataError(f"{path}: samples of shape {x.shape} are neither points (N, D) nor images")
    x, scale = unit_range(x, path)
    size = check_image_size(_native_size(x) if request.image_size is None else request.image_size)
    images = to_image_tensor(x, size=size, channels=request.channels, scale=scale)
    return LoadedData(x=images, y=labels, info=DataInfo(kind="images", shape=tuple(images.shape[1:]), num_classes=num_classes))


def unit_range(x: np.ndarray, path: Path) -> tuple[np.ndarray, float]:
    """Images as ``(values, scale)`` with ``values / scale`` in [0, 1]: integers in [0, 255], floats in [0, 1] or
    [-1, 1] (told apart by their minimum: images in [-1, 1] have negative pixels)."""
    lo, hi = float(x.min()), float(x.max())
    if np.issubdtype(x.dtype, np.integer):
        if lo < 0 or hi > 255:
            raise DataError(f"{path}: integer images must lie in [0, 255], found [{lo:g}, {hi:g}]")
        return x, 255.0
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise DataError(f"{path}: images contain NaN or infinity")
    if lo >= 0 and hi <= 1:
        return x, 1.0
    if lo >= -1 and hi <= 1:
        return (x.astype(np.float32) + 1) / 2, 1.0
    raise DataError(f"{path}: float images must lie in [0, 1] or [-1, 1], found [{lo:g}, {hi:g}]")


def _native_size(x: np.ndarray) -> int:
    side = max(x.shape[-2:])
    return 1 << max(2, (side - 1).bit_length())  # the next power of two that holds the images
