"""Images that did not come from ganzoo, to be scored by ``ganzoo eval --samples``: a folder of image files, a ``.npy``
array or a ``.npz`` file (its ``x`` / ``images`` / ``arr_0`` array), never unpickled.

Arrays may be ``(N, H, W)``, ``(N, C, H, W)`` or ``(N, H, W, C)``; integers in [0, 255] or floats in [0, 1] or [-1, 1]. Every
image is brought to the reference dataset's shape (its channels and side) the way the datasets do it, so both sides
of a score go through the same pipeline.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import torch

from ganzoo.data.common import to_image_tensor
from ganzoo.data.npz import X_KEYS, unit_range
from ganzoo.errors import DataError

__all__ = ["load_samples"]


def _array(path: Path) -> np.ndarray:
    try:
        if path.suffix == ".npy":
            return np.load(path, allow_pickle=False)
        with np.load(path, allow_pickle=False) as arrays:
            key = next((k for k in X_KEYS if k in arrays.files), None)
            if key is None:
                raise DataError(f"{path} has arrays {arrays.files}; name the images 'x'")
            return arrays[key]
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
        raise DataError(f"cannot read {path} without pickle: {exc}") from None


def _folder(path: Path, side: int) -> np.ndarray:
    """Every readable image anywhere under ``path``, as uint8 ``(N, H, W)`` or ``(N, 3, H, W)``: at their own size when
    they share one square size (a GAN's output; the datasets' resize then follows), else fitted to ``side`` x
    ``side`` as the folder dataset fits them (bicubic, centre-cropped)."""
    from PIL import Image, UnidentifiedImageError

    from ganzoo.data.folder import fit, open_image, stack_images

    images = []
    for file in sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")):
        try:
            images.append(open_image(file))
        except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
            continue  # not an image: a folder of samples may hold other files
    if not images:
        raise DataError(f"--samples {path}: no readable images in the folder")
    sizes = {img.size for img in images}
    one_square_size = len(sizes) == 1 and len({*next(iter(sizes))}) == 1
    return stack_images([np.asarray(img) if one_square_size else fit(img, side) for img in images])


def load_samples(path: str | Path, shape: tuple[int, ...]) -> torch.Tensor:
    """The images at ``path`` as float32 ``(N, *shape)`` in [-1, 1], ``shape`` being the reference data's ``(C, S, S)``.

    Raises:
        DataError: no such file or folder, an unreadable or empty array, values out of range, or not images.
    """
    path = Path(path).expanduser()
    channels, side = shape[0], shape[-1]
    if path.is_dir():
        images, scale = _folder(path, side), 255.0
    elif path.is_file() and path.suffix in (".npy", ".npz"):
        images = _array(path)
        if not np.issubdtype(images.dtype, np.number) or images.size == 0:
            raise DataError(f"--samples {path}: expected an array of images, got {images.dtype} {images.shape}")
        images, scale = unit_range(images, path)
    elif path.exists():
        raise DataError(f"--samples {path}: give a folder of images, a .npy or a .npz file")
    else:
        raise DataError(f"--samples {path} does not exist")
    if images.ndim == 4 and images.shape[-1] in (1, 3) and images.shape[1] not in (1, 3):
        images = images.transpose(0, 3, 1, 2)
    if images.ndim not in (3, 4) or len(images) == 0:
        raise DataError(f"--samples {path}: expected images (N, H, W) or (N, C, H, W) with N > 0, got {images.shape}")
    return to_image_tensor(images, size=side, channels=channels, scale=scale)
