"""Image metrics in the feature space of a domain classifier: a small CNN trained on the dataset's own labels.

The quick image metric, with nothing to fetch (standard FID is the ``inception`` metric): the classifier is trained on
the training split (on the CPU, seeded, so one machine always gives the same data the same network) with a recipe
chosen by the data's size, checked on the held-out split, and cached by a fingerprint of the data and the recipe. These
scores are *not* Inception FID / KID and cannot be compared with published numbers; compare runs of ganzoo on the same
dataset and size, and read every score against its real-data floor (held-out vs training data).

- ``fd``: Frechet distance between Gaussians fitted to the features, ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^1/2), in
  float64 with the symmetric form Tr((S1^1/2 S2 S1^1/2)^1/2), which needs only symmetric eigendecompositions.
- ``kid``: the unbiased MMD^2 with the cubic kernel (x.y / d + 1)^3, averaged over subsets (Binkowski et al. 2018).
- ``precision`` / ``recall``: improved precision and recall (Kynkaanniemi et al. 2019), k = 3.
- ``classes`` / ``class_kl``: classes the generator covers (a class counts when its share of the predictions is at least
  a tenth of its share of the data) and KL(predicted-class histogram || data's class histogram).
- ``class_match`` / ``class_match_worst`` (conditional runs only, where the samples come with the classes they were
  drawn for): the share of samples the classifier puts in the class asked for, over all samples and in the worst
  class. Read them against ``classifier_accuracy``, the classifier's own held-out accuracy; their floor (real
  training images, which the classifier learnt from) sits near 1 and is optimistic.
"""

from __future__ import annotations

import hashlib
import json
import sys
import warnings
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional

import torch
import torch.nn.functional as F
from torch import nn

from ganzoo.errors import ConfigError, GanzooWarning
from ganzoo.io import atomic_path, cache_dir
from ganzoo.seeding import torch_seeded
from ganzoo.specs import MetricInput

__all__ = [
    "LARGE",
    "LARGE_DATA",
    "SMALL",
    "ClassifierRecipe",
    "DomainClassifier",
    "recipe_for",
    "TrainedClassifier",
    "domain_classifier",
    "frechet_distance",
    "kernel_inception_distance",
    "precision_recall",
    "class_coverage",
    "class_match",
    "compute_domain",
    "MIN_ACCURACY",
]

# the real-data issue's bar for Fashion-MNIST, which small CNNs reach (the large recipe, version 2: 92.3% on 2 threads,
# a margin that another thread count's rounding may eat: then the metric warns); digits and MNIST sit above 96%
MIN_ACCURACY = 0.92
FEATURES = 128
K_NEAREST = 3
REFERENCE_LIMIT = 5000  # training images whose features make the reference statistics
LARGE_DATA = 20_000  # training images from which the large recipe is used


@dataclass(frozen=True)
class ClassifierRecipe:
    """A domain classifier's network and training. Each recipe has its own cache key, so a change to one never
    invalidates the other's networks (or the scores recorded with them)."""

    name: str
    widths: tuple[int, int]  # channels of the two conv stages
    pooled: int  # side of the map pooled into the feature layer
    batch_norm: bool
    dropout: float  # before the feature layer and before the class layer
    shifts: bool  # one-pixel random shifts as augmentation
    min_updates: int
    max_updates: int
    epochs: int
    version: int = 1  # part of the cache key: bump when the recipe's network or training changes
    cost: str = ""  # how long it trains, for the line that says it is training (and a bar on a terminal)
    # max-pool straight after each conv, then [BatchNorm,] ReLU: the same kind of network, with the normalisation and
    # the activation (and their backward) on a quarter of the elements
    pool_first: bool = False
    peak_lr: Optional[float] = None  # a one-cycle schedule up to this rate and down to ~0; None: Adam's 1e-3 throughout
    channels_last: bool = False  # oneDNN's convolutions run faster on NHWC; a layout, not a change of the maths

    def updates(self, samples: int, batch: int) -> int:
        return max(self.min_updates, min(self.max_updates, self.epochs * samples // batch))

    @property
    def cache_prefix(self) -> str:
        # the small recipe's prefix predates recipes: kept, so networks cached before them stay valid
        return f"v{self.version}" if self.name == "small" else f"{self.name}-v{self.version}"


# digits (1,617 training images) and MNIST (9,000): trains in seconds to a minute, 96-98% held out
SMALL = ClassifierRecipe("small", widths=(16, 32), pooled=4, batch_norm=False, dropout=0.0, shifts=True,
                         min_updates=600, max_updates=4000, epochs=8, cost="under a minute on 2 CPU cores")
# Fashion-MNIST (60,000): the small recipe stops at 88.9% there. Trials (benchmarks/RESULTS.md, sessions 9, 10 and
# 13): wider maps, an 8x8 pooled map, BatchNorm and dropout against the wider layer's over-fitting reach 92.7-93.1%
# with a constant rate in 10,000 updates (version 1, 7-15 minutes on 2 cores). Version 2 pools before the BatchNorm and
# the ReLU (1.6x faster an update) and trains with a one-cycle schedule, which reaches 92.3% in 2,000 updates. Shifts
# and horizontal flips hurt there: garments are centred alike, and the short schedule under-fits.
LARGE = ClassifierRecipe("large", widths=(32, 64), pooled=8, batch_norm=True, dropout=0.3, shifts=False,
                         min_updates=2000, max_updates=2000, epochs=0, version=2, pool_first=True, peak_lr=3e-3,
                         channels_last=True, cost="about 2 minutes on 2 CPU cores")


def recipe_for(samples: int) -> ClassifierRecipe:
    """The recipe for a training set of ``samples`` images: larger data affords (and needs) the larger network."""
    return LARGE if samples >= LARGE_DATA else SMALL


class _PoolTo(nn.AdaptiveAvgPool2d):
    """Average-pools to a side of ``output_size``; a map already that size passes through, which is what the pool would
    compute, without its cost (most of an update's backward time in the large recipe at 32x32)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-2:] == (self.output_size, self.output_size):
            return x
        return super().forward(x)


class DomainClassifier(nn.Module):
    """Two conv stages (a 3x3 conv, [BatchNorm,] ReLU, 2x2 max-pool), pooled to a small map, then a 128-unit feature
    layer and the classes. Small on purpose: it trains on a CPU in seconds (digits) to minutes (Fashion-MNIST)."""

    def __init__(self, channels: int, num_classes: int, recipe: ClassifierRecipe = SMALL):
        super().__init__()
        first, second = recipe.widths

        def stage(cin: int, cout: int) -> list[nn.Module]:
            norm = [nn.BatchNorm2d(cout)] if recipe.batch_norm else []
            if recipe.pool_first:
                return [nn.Conv2d(cin, cout, 3, padding=1), nn.MaxPool2d(2), *norm, nn.ReLU()]
            return [nn.Conv2d(cin, cout, 3, padding=1), *norm, nn.ReLU(), nn.MaxPool2d(2)]

        def dropout() -> list[nn.Module]:
            # none at rate 0: the small recipe's state-dict keys (and so its cached files) stay as they were
            return [nn.Dropout(recipe.dropout)] if recipe.dropout else []

        self.body = nn.Sequential(
            *stage(channels, first), *stage(first, second),
            _PoolTo(recipe.pooled), nn.Flatten(), *dropout(),
            nn.Linear(second * recipe.pooled ** 2, FEATURES), nn.ReLU(),
        )
        head = nn.Linear(FEATURES, num_classes)
        self.head = nn.Sequential(*dropout(), head) if recipe.dropout else head

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


@dataclass
class TrainedClassifier:
    net: DomainClassifier
    accuracy: float  # on the held-out split
    path: Optional[Path]

    @torch.no_grad()
    def embed(self, x: torch.Tensor, batch: int = 500) -> tuple[torch.Tensor, torch.Tensor]:
        """(features float64, predicted classes) of images ``x`` (N, C, H, W) in [-1, 1], computed on the CPU."""
        self.net.eval()
        feats, preds = [], []
        for start in range(0, len(x), batch):
            chunk = x[start:start + batch].detach().float().cpu()
            f = self.net.features(chunk)
            feats.append(f.double())
            preds.append(self.net.head(f).argmax(dim=1))
        return torch.cat(feats), torch.cat(preds)


# id(x) -> (weak refs to x and y, their version counters, the prefix, the fingerprint): validation calls the metric
# with the same training tensors every time, and hashing MNIST-sized data each call costs more than the scoring
_fingerprints: dict[int, tuple[weakref.ref, weakref.ref, int, int, str, str]] = {}


def _fingerprint(x: torch.Tensor, y: torch.Tensor, prefix: str) -> str:
    """The cache key of the network that ``prefix`` (a recipe's ``cache_prefix``) trains on ``x`` and ``y``."""
    known = _fingerprints.get(id(x))
    if known is not None:
        x_ref, y_ref, x_version, y_version, known_prefix, value = known
        # the same tensor objects, not written to since (an in-place change bumps _version)
        if (x_ref() is x and y_ref() is y and x._version == x_version and y._version == y_version
                and known_prefix == prefix):
            return value
    digest = hashlib.sha256(f"{prefix}:{tuple(x.shape)}".encode())
    digest.update(x.detach().float().cpu().contiguous().numpy())  # the buffer itself: the same bytes, no copy
    digest.update(y.detach().long().cpu().contiguous().numpy())
    value = digest.hexdigest()[:16]
    for key in [k for k, entry in _fingerprints.items() if entry[0]() is None]:
        del _fingerprints[key]  # tensors that are gone
    _fingerprints[id(x)] = (weakref.ref(x), weakref.ref(y), x._version, y._version, prefix, value)
    return value


def _train(x: torch.Tensor, y: torch.Tensor, num_classes: int, recipe: ClassifierRecipe) -> DomainClassifier:
    """Adam, batch 128, the recipe's rate schedule, updates and augmentation. Seeded: the same data gives the same
    network for the same thread count (another count rounds differently). The initial weights and the large recipe's
    dropout draw from torch's global generator, seeded for this function only. A recipe that takes minutes (``cost``)
    shows a progress bar on a terminal's stderr while it trains; the bar draws nothing from the generators."""
    from tqdm import tqdm

    layout = torch.channels_last if recipe.channels_last else torch.contiguous_format
    with torch_seeded(0):
        net = DomainClassifier(x.shape[1], num_classes, recipe).to(memory_format=layout)
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        gen = torch.Generator().manual_seed(0)
        batch = min(128, len(x))
        net.train()
        updates = range(recipe.updates(len(x), batch))
        schedule = None
        if recipe.peak_lr is not None:
            schedule = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=recipe.peak_lr, total_steps=len(updates),
                                                           pct_start=0.25)
        if recipe.cost and sys.stderr.isatty():
            updates = tqdm(updates, desc="domain classifier", unit="update", file=sys.stderr, leave=False)
        for _ in updates:
            idx = torch.randint(len(x), (batch,), generator=gen)
            xb = x[idx]
            if recipe.shifts:  # one pixel either way: digits are not centred alike
                shift = torch.randint(-1, 2, (2,), generator=gen).tolist()
                xb = torch.roll(xb, shifts=shift, dims=(2, 3))
            loss = F.cross_entropy(net(xb.contiguous(memory_format=layout)), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if schedule is not None:
                schedule.step()
    return net.eval().to(memory_format=torch.contiguous_format)


def domain_classifier(train_x: torch.Tensor, train_y: torch.Tensor, val_x: torch.Tensor, val_y: torch.Tensor,
                      num_classes: int, cache: bool = True) -> TrainedClassifier:
    """The classifier for this training data: loaded from the cache when its fingerprint matches, else trained (CPU,
    seeded), checked on the held-out split and cached (safetensors; its accuracy in the header)."""
    from safetensors import SafetensorError, safe_open
    from safetensors.torch import save_file

    if num_classes < 2:
        raise ConfigError("the domain-classifier metrics need a dataset with class labels: use --metric swd")
    train_x, train_y = train_x.detach().float().cpu(), train_y.detach().long().cpu()
    recipe = recipe_for(len(train_x))
    key = _fingerprint(train_x, train_y, recipe.cache_prefix)
    path = cache_dir() / "classifiers" / f"{key}.safetensors"
    if cache and path.is_file():
        try:
            with safe_open(str(path), framework="pt") as f:
                meta = f.metadata() or {}
                state = {k: f.get_tensor(k) for k in f.keys()}
            net = DomainClassifier(train_x.shape[1], num_classes, recipe)
            net.load_state_dict(state)
            return TrainedClassifier(net.eval(), float(json.loads(meta["info"])["accuracy"]), path)
        except (SafetensorError, OSError, KeyError, ValueError, RuntimeError):
            pass  # a damaged cache entry is rebuilt below
    if recipe.cost:
        warnings.warn(f"training the domain classifier for these {len(train_x):,} images once ({recipe.cost}; then "
                      f"cached in {path.parent})", GanzooWarning, stacklevel=3)
    net = _train(train_x, train_y, num_classes, recipe)
    with torch.no_grad():
        pred = torch.cat([net(val_x[i:i + 500].float().cpu()).argmax(1) for i in range(0, len(val_x), 500)])
    accuracy = float((pred == val_y.cpu()).double().mean())
    if cache:
        info = {"accuracy": accuracy, "num_classes": num_classes, "shape": list(train_x.shape[1:]),
                "train_samples": len(train_x), "val_samples": len(val_x), "version": recipe.version,
                "recipe": recipe.name}
        with atomic_path(path, suffix=".safetensors") as tmp:
            save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(tmp), metadata={"info": json.dumps(info)})
    return TrainedClassifier(net, accuracy, path if cache else None)


# ------------------------------------------------------------------------------------------------------------- scores
def _psd_sqrt(m: torch.Tensor) -> torch.Tensor:
    vals, vecs = torch.linalg.eigh(m)
    return (vecs * vals.clamp_min(0).sqrt()) @ vecs.T


def frechet_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """Frechet distance between Gaussians fitted to feature sets ``a`` (N, D) and ``b`` (M, D), in float64."""
    a, b = a.double(), b.double()
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = torch.cov(a.T).reshape(a.shape[1], a.shape[1]), torch.cov(b.T).reshape(b.shape[1], b.shape[1])
    root_a = _psd_sqrt(cov_a)
    middle = root_a @ cov_b @ root_a
    cross = torch.linalg.eigvalsh((middle + middle.T) / 2).clamp_min(0).sqrt().sum()
    return float((mu_a - mu_b).square().sum() + torch.trace(cov_a) + torch.trace(cov_b) - 2 * cross)


def kernel_inception_distance(a: torch.Tensor, b: torch.Tensor, subsets: int = 20, subset_size: int = 1000,
                              seed: int = 0) -> float:
    """Unbiased MMD^2 with the kernel (x.y / d + 1)^3, the mean over ``subsets`` random subsets of equal size."""
    a, b = a.double(), b.double()
    d = a.shape[1]
    m = min(subset_size, len(a), len(b))
    if m < 2:
        raise ValueError("KID needs at least 2 samples on each side")
    gen = torch.Generator().manual_seed(seed)
    total = 0.0
    for _ in range(subsets):
        x = a[torch.randperm(len(a), generator=gen)[:m]]
        y = b[torch.randperm(len(b), generator=gen)[:m]]
        kxx, kyy, kxy = (x @ x.T / d + 1) ** 3, (y @ y.T / d + 1) ** 3, (x @ y.T / d + 1) ** 3
        off = m * (m - 1)
        total += float((kxx.sum() - kxx.diagonal().sum()) / off + (kyy.sum() - kyy.diagonal().sum()) / off
                       - 2 * kxy.mean())
    return total / subsets


def _knn_radii(x: torch.Tensor, k: int) -> torch.Tensor:
    dist = torch.cdist(x, x)
    return dist.kthvalue(k + 1, dim=1).values  # k + 1: each point is its own nearest neighbour


def precision_recall(real: torch.Tensor, fake: torch.Tensor, k: int = K_NEAREST) -> tuple[float, float]:
    """Improved precision (share of fakes inside the real manifold: within some real sample's k-NN radius) and recall
    (share of reals inside the fake manifold)."""
    real, fake = real.double(), fake.double()

    def covered(points: torch.Tensor, support: torch.Tensor) -> float:
        radii = _knn_radii(support, k)
        inside = torch.zeros(len(points), dtype=torch.bool)
        for start in range(0, len(points), 1000):
            dist = torch.cdist(points[start:start + 1000], support)
            inside[start:start + 1000] = (dist <= radii[None, :]).any(dim=1)
        return float(inside.double().mean())

    return covered(fake, real), covered(real, fake)


def class_coverage(predicted: torch.Tensor, data_labels: torch.Tensor, num_classes: int) -> tuple[float, float]:
    """(classes covered, KL(predicted histogram || data histogram)) - see the module docstring."""
    p = torch.bincount(predicted.long(), minlength=num_classes).double()
    q = torch.bincount(data_labels.long(), minlength=num_classes).double()
    p, q = p / p.sum(), q / q.sum()
    covered = float(((p >= 0.1 * q) & (q > 0)).sum())
    nz = p > 0
    kl = float((p[nz] * torch.log(p[nz] / q[nz].clamp_min(1e-12))).sum())
    return covered, kl


def compute_domain(inp: MetricInput) -> Mapping[str, float]:
    """Metric plugin entry: ``inp.fake`` scored against ``inp.real`` in the domain classifier's feature space. The
    classifier comes from ``inp.train`` / ``inp.train_labels`` (held-out accuracy checked on ``inp.real``)."""
    if inp.train is None or inp.train_labels is None or inp.info.num_classes < 2:
        raise ConfigError("the domain-classifier metrics need a dataset with class labels (digits, mnist, "
                          "fashion_mnist, a labelled folder): use --metric swd for this one")
    if inp.real_labels is None:
        raise ConfigError("the domain-classifier metrics need the held-out labels to check the classifier")
    clf = domain_classifier(inp.train, inp.train_labels, inp.real, inp.real_labels, inp.info.num_classes)
    if clf.accuracy < MIN_ACCURACY:
        warnings.warn(f"the domain classifier reaches only {clf.accuracy:.1%} held-out accuracy (below "
                      f"{MIN_ACCURACY:.0%}): its features may not separate this data well", GanzooWarning, stacklevel=2)
    fake_f, fake_pred = clf.embed(inp.fake)
    real_f, _ = clf.embed(inp.real)
    if len(fake_f) < 2 or len(real_f) < 2:
        raise ConfigError("the domain-classifier metrics need at least 2 samples on each side: raise --n")
    precision, recall = precision_recall(real_f, fake_f)
    classes, class_kl = class_coverage(fake_pred, inp.train_labels, inp.info.num_classes)
    scores = {"fd": frechet_distance(fake_f, real_f), "kid": kernel_inception_distance(fake_f, real_f, seed=inp.seed),
              "precision": precision, "recall": recall, "classes": classes, "class_kl": class_kl,
              "classifier_accuracy": clf.accuracy}
    if inp.fake_labels is not None:
        scores.update(class_match(fake_pred, inp.fake_labels))
    return scores


def class_match(predicted: torch.Tensor, asked: torch.Tensor) -> dict[str, float]:
    """The share of samples classified as the class they were drawn for, over all samples and for the worst class
    (the "samples of class k are classified as k" of a conditional generator)."""
    asked = asked.to(predicted.device).long()
    hit = (predicted.long() == asked).double()
    per_class = [float(hit[asked == k].mean()) for k in asked.unique()]
    return {"class_match": float(hit.mean()), "class_match_worst": min(per_class)}

