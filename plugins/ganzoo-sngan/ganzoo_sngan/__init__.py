"""SNGAN for ganzoo (Miyato et al. 2018): spectral normalisation in the discriminator, the hinge loss.

Installing this package is all it takes: ganzoo finds ``ganzoo_sngan.plugin`` through the ``ganzoo`` entry-point group.
"""

from importlib import metadata as _metadata

try:
    __version__ = _metadata.version("ganzoo-sngan")
except _metadata.PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0.0.0+unknown"
