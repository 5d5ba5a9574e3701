"""scikit-learn's bundled 8x8 handwritten digits (1,797 images, 10 classes): real images with no download."""

from __future__ import annotations

from ganzoo.data.common import check_image_size, holdout_indices, to_image_tensor
from ganzoo.specs import DataInfo, DataRequest, LoadedData

__all__ = ["load_digits", "DIGITS_DEFAULT_SIZE"]

DIGITS_DEFAULT_SIZE = 16


def load_digits(request: DataRequest) -> LoadedData:
    from sklearn.datasets import load_digits as sklearn_digits  # ships inside scikit-learn; imported only when used

    size = check_image_size(DIGITS_DEFAULT_SIZE if request.image_size is None else request.image_size)
    bunch = sklearn_digits()
    keep = holdout_indices(len(bunch.images), request.split)
    x = to_image_tensor(bunch.images[keep.numpy()], size=size, channels=request.channels or 1, scale=16.0)
    import torch

    y = torch.as_tensor(bunch.target[keep.numpy()], dtype=torch.int64)
    import sklearn

    info = DataInfo(kind="images", shape=tuple(x.shape[1:]), num_classes=10, class_names=tuple(str(i) for i in range(10)),
                    meta={"source": f"scikit-learn {sklearn.__version__} load_digits()"})
    return LoadedData(x=x, y=y, info=info)
