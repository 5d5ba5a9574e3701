"""Pieces every image dataset shares: size checks, the fixed train/validation split, and conversion to [-1, 1] tensors."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ganzoo.errors import DataError, GanzooWarning
from ganzoo.seeding import SPLIT_SEED

__all__ = ["GanzooWarning", "MIN_IMAGE_SIZE", "MAX_IMAGE_SIZE", "VAL_FRACTION", "check_image_size", "holdout_indices",
           "to_image_tensor", "load_dataset"]

MIN_IMAGE_SIZE = 4
MAX_IMAGE_SIZE = 1024
VAL_FRACTION = 0.1
# The split must not move with the training seed, or runs with different seeds would be scored on different data.


def check_image_size(size: int) -> int:
    """Return ``size`` if it is a power of two in [4, 1024]; else raise ``DataError`` saying what would work."""
    if not isinstance(size, int) or isinstance(size, bool) or size < MIN_IMAGE_SIZE or size > MAX_IMAGE_SIZE or size & (size - 1):
        raise DataError(
            f"image size {size!r} is not a power of two between {MIN_IMAGE_SIZE} and {MAX_IMAGE_SIZE}: "
            "use e.g. --image-size 16, 32 or 64"
        )
    return size


def holdout_indices(n: int, split: str, fraction: float = VAL_FRACTION) -> torch.Tensor:
    """Indices of the ``"train"`` or ``"val"`` part of ``n`` samples, from a fixed permutation (at least one in each)."""
    if split not in ("train", "val"):
        raise DataError(f"unknown split {split!r}: use 'train' or 'val'")
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(SPLIT_SEED))
    n_val = min(max(1, round(n * fraction)), n - 1) if n > 1 else 0
    return perm[:n_val] if split == "val" else perm[n_val:]


def to_image_tensor(images: np.ndarray | torch.Tensor, *, size: int, channels: int | None, scale: float) -> torch.Tensor:
    """Turn ``(N, H, W)`` or ``(N, C, H, W)`` raw values in ``[0, scale]`` into float32 ``(N, C, size, size)`` in [-1, 1].

    Gray becomes RGB by repetition and RGB becomes gray by ITU-R 601 luma; resizing is bilinear with antialiasing, so
    shrinking does not alias and enlarging stays smooth.
    """
    x = torch.as_tensor(np.asarray(images), dtype=torch.float32) / scale
    if x.ndim == 3:
        x = x.unsqueeze(1)
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise DataError(f"images of shape {tuple(x.shape)} are neither (N, H, W) nor (N, 1|3, H, W)")
    if channels == 3 and x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    elif channels == 1 and x.shape[1] == 3:
        x = (x * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
    if x.shape[-2:] != (size, size):
        x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return (x.clamp(0, 1) * 2 - 1).contiguous()


def load_dataset(spec, request):  # noqa: ANN001 - spec: ganzoo.specs.Dataset, request: DataRequest
    """Call a dataset plugin and check what it returned, so a faulty plugin fails here with its name, not deep in training.

    Returns:
        LoadedData with float32 ``x`` of at least one sample and int64 ``y`` (or None) of matching length.
    """
    from ganzoo.errors import PluginError
    from ganzoo.specs import LoadedData

    if spec.needs_data_dir and not request.data_dir:
        raise DataError(f"dataset {spec.name!r} needs --data-dir")
    data = spec.load(request)
    if not isinstance(data, LoadedData):
        raise PluginError(f"dataset {spec.name!r} returned {type(data).__name__}, expected LoadedData")
    # NumPy arrays are accepted as they are: a dataset built with NumPy need not convert
    if not isinstance(data.x, torch.Tensor):
        if not hasattr(data.x, "__array__"):
            raise PluginError(f"dataset {spec.name!r}: LoadedData.x must be a torch.Tensor or a NumPy array of shape "
                              f"(N, *info.shape), got {type(data.x).__name__}")
        data.x = torch.as_tensor(np.asarray(data.x))
    if data.y is not None and not isinstance(data.y, torch.Tensor):
        if not hasattr(data.y, "__array__"):
            raise PluginError(f"dataset {spec.name!r}: LoadedData.y must be None, a torch.Tensor or a NumPy array of "
                              f"int64 labels, got {type(data.y).__name__}")
        labels = np.asarray(data.y)
        data.y = torch.as_tensor(labels.astype(np.int64) if np.issubdtype(labels.dtype, np.integer) else labels)
    if data.x.ndim < 2:
        raise PluginError(f"dataset {spec.name!r}: LoadedData.x must have shape (N, *info.shape), got "
                          f"{tuple(data.x.shape)}")
    if len(data.x) == 0:
        raise DataError(f"dataset {spec.name!r} holds no samples for split {request.split!r}")
    if tuple(data.x.shape[1:]) != tuple(data.info.shape):
        raise PluginError(f"dataset {spec.name!r}: samples of shape {tuple(data.x.shape[1:])} but info says {data.info.shape}")
    if data.y is not None and (data.y.shape != (len(data.x),) or data.y.dtype != torch.int64):
        raise PluginError(f"dataset {spec.name!r}: labels must be int64 of shape ({len(data.x)},)")
    data.x = data.x.float().contiguous()
    return data
