"""A folder of images (PNG, JPEG, anything Pillow reads); each sub-folder is a class.

Files Pillow cannot read are skipped with a warning; images of any size are resized so the shorter side fits and then
centre-cropped to a square. Pillow's decompression-bomb limit stays in force.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch

from ganzoo.data.common import GanzooWarning, check_image_size, holdout_indices, to_image_tensor
from ganzoo.errors import DataError
from ganzoo.specs import DataInfo, DataRequest, LoadedData

__all__ = ["load_folder", "FOLDER_DEFAULT_SIZE"]

FOLDER_DEFAULT_SIZE = 32


def _files(folder: Path) -> tuple[list[tuple[Path, int]], list[str]]:
    subdirs = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if subdirs:
        files = [(f, label) for label, d in enumerate(subdirs) for f in sorted(d.rglob("*")) if f.is_file()]
        return files, [d.name for d in subdirs]
    return [(f, -1) for f in sorted(folder.iterdir()) if f.is_file() and not f.name.startswith(".")], []


def open_image(path: Path) -> "PIL.Image.Image":  # noqa: F821 - Pillow is imported when used
    """The image at ``path``, loaded, as gray (``L``) or ``RGB``."""
    from PIL import Image

    with Image.open(path) as img:
        img.load()
        mode_is_gray = img.mode in ("1", "L", "LA", "I", "I;16", "F")
        return img.convert("L" if mode_is_gray else "RGB")


def fit(img: "PIL.Image.Image", size: int) -> np.ndarray:  # noqa: F821
    """Resized so the shorter side fits, then centre-cropped to ``size`` x ``size`` (bicubic)."""
    from PIL import Image, ImageOps

    return np.asarray(ImageOps.fit(img, (size, size), method=Image.Resampling.BICUBIC))


def stack_images(arrays: list[np.ndarray]) -> np.ndarray:
    """Same-sized images as one uint8 array: ``(N, H, W)`` when all are gray, else ``(N, 3, H, W)`` with gray ones
    repeated to RGB."""
    if any(a.ndim == 3 for a in arrays):
        return np.stack([a if a.ndim == 3 else np.repeat(a[..., None], 3, axis=2) for a in arrays]).transpose(0, 3, 1, 2)
    return np.stack(arrays)


def _read(path: Path, size: int) -> np.ndarray:
    return fit(open_image(path), size)


def load_folder(request: DataRequest) -> LoadedData:
    """Every readable image under ``request.data_dir``; class sub-folders give labels (sorted by name)."""
    from PIL import Image, UnidentifiedImageError

    if not request.data_dir:
        raise DataError("the folder dataset needs --data-dir pointing at a folder of images")
    folder = Path(request.data_dir)
    if not folder.is_dir():
        raise DataError(f"--data-dir {folder} is not a directory")
    size = check_image_size(FOLDER_DEFAULT_SIZE if request.image_size is None else request.image_size)
    files, classes = _files(folder)
    arrays, labels, skipped = [], [], []
    for path, label in files:
        try:
            arrays.append(_read(path, size))
        except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
            skipped.append(f"{path.name} ({type(exc).__name__})")
            continue
        labels.append(label)
    if skipped:
        shown = ", ".join(skipped[:5]) + (f" and {len(skipped) - 5} more" if len(skipped) > 5 else "")
        warnings.warn(f"skipped {len(skipped)} file(s) in {folder} that are not readable images: {shown}", GanzooWarning, stacklevel=2)
    if not arrays:
        raise DataError(f"no readable images in {folder}: add PNG or JPEG files (class sub-folders optional)")
    # any colour image makes the stack RGB; to_image_tensor then converts to the requested channels
    stacked = stack_images(arrays)
    channels = request.channels or (3 if stacked.ndim == 4 else 1)
    keep = holdout_indices(len(stacked), request.split).numpy() if len(stacked) > 1 else np.arange(len(stacked))
    x = to_image_tensor(stacked[keep], size=size, channels=channels, scale=255.0)
    y = torch.as_tensor(np.asarray(labels, dtype=np.int64)[keep]) if classes else None
    info = DataInfo(kind="images", shape=tuple(x.shape[1:]), num_classes=len(classes), class_names=tuple(classes))
    return LoadedData(x=x, y=y, info=info)
