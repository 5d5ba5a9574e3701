"""PacGAN for ganzoo (Lin, Khetan, Fanti & Oh 2018): the discriminator judges packs of samples.

Installing this package is all it takes: ganzoo finds ``ganzoo_pacgan.plugin`` through the ``ganzoo`` entry-point group.
"""

from importlib import metadata as _metadata

try:
    __version__ = _metadata.version("ganzoo-pacgan")
except _metadata.PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0.0.0+unknown"
