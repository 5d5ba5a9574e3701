"""Built-in datasets plugin."""

from __future__ import annotations

from ganzoo.hookspecs import hookimpl
from ganzoo.specs import Dataset, lazy


@hookimpl
def register_datasets(register):
    register(Dataset("ring", "8 Gaussians on the unit circle, sigma 0.01 (VEEGAN/PacGAN benchmark)", "points",
                     lazy("ganzoo.data.toy:load_ring"), has_labels=True))
    register(Dataset("grid", "25 Gaussians on {-4,-2,0,2,4}^2, sigma 0.05 (VEEGAN/PacGAN benchmark)", "points",
                     lazy("ganzoo.data.toy:load_grid"), has_labels=True))
    register(Dataset("swissroll", "2-D swiss roll, within about [-2, 2]^2", "points", lazy("ganzoo.data.toy:load_swissroll")))
    register(Dataset("digits", "scikit-learn's bundled 8x8 handwritten digits (1,797 images, 10 classes), resized",
                     "images", lazy("ganzoo.data.digits:load_digits"), has_labels=True))
    register(Dataset("mnist", "MNIST / Fashion-MNIST IDX files from --data-dir (gzip or plain)", "images",
                     lazy("ganzoo.data.idx:load_idx_dataset"), has_labels=True))  # --data-dir defaults to Debian's copy
    register(Dataset("folder", "a folder of images (class sub-folders become labels), resized and centre-cropped",
                     "images", lazy("ganzoo.data.folder:load_folder"), needs_data_dir=True, has_labels=True))
    register(Dataset("npz", "arrays 'x' (and labels 'y') from a .npz file, loaded without pickle", "any",
                     lazy("ganzoo.data.npz:load_npz"), needs_data_dir=True, has_labels=True))
