"""Built-in datasets: 2-D mixtures generated in code, scikit-learn's bundled digits, IDX (MNIST), image folders, .npz.

Every loader returns ``LoadedData``: float32 tensors (images in [-1, 1], shape (N, C, H, W)), int64 labels or None, and a
``DataInfo``. Loaders raise ``ganzoo.errors.DataError`` with one line that names the file and the fix.
"""

from ganzoo.data.common import GanzooWarning, check_image_size, holdout_indices, load_dataset, to_image_tensor
from ganzoo.data.digits import load_digits
from ganzoo.data.folder import load_folder
from ganzoo.data.idx import load_idx_dataset, read_idx
from ganzoo.data.npz import load_npz
from ganzoo.data.toy import grid_centres, load_grid, load_ring, load_swissroll, ring_centres

__all__ = [
    "GanzooWarning",
    "check_image_size",
    "holdout_indices",
    "to_image_tensor",
    "load_dataset",
    "load_folder",
    "load_idx_dataset",
    "read_idx",
    "load_npz",
    "load_ring",
    "load_grid",
    "load_swissroll",
    "ring_centres",
    "grid_centres",
    "load_digits",
]
