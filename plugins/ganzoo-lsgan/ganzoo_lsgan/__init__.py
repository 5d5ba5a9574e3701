"""ganzoo-lsgan: the least-squares GAN loss (Mao et al. 2017), a ``spiral`` dataset and the ``energy`` distance metric.

A small plugin that uses three of ganzoo's four hooks (loss, dataset, metric); ``ganzoo-sngan`` shows the fourth.
"""

from importlib import metadata as _metadata

try:
    __version__ = _metadata.version("ganzoo-lsgan")
except _metadata.PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0.0.0+unknown"
