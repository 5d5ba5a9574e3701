"""ganzoo: a plugin-based GAN zoo for PyTorch.

Importing ``ganzoo`` is cheap (no torch): the plugin contract and the spec classes live here; the trainer, datasets and ops
are imported when used.
"""

from __future__ import annotations

from importlib import metadata as _metadata

from ganzoo.hookspecs import API_VERSION, hookimpl
from ganzoo.specs import (
    Architecture,
    DataInfo,
    DataRequest,
    Dataset,
    GanModels,
    LoadedData,
    Loss,
    Metric,
    MetricInput,
    Penalty,
    Plan,
    Schedule,
    lazy,
)

try:
    __version__ = _metadata.version("ganzoo")
except _metadata.PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = [
    "__version__",
    "API_VERSION",
    "hookimpl",
    "Architecture",
    "DataInfo",
    "DataRequest",
    "Dataset",
    "GanModels",
    "LoadedData",
    "Loss",
    "Metric",
    "MetricInput",
    "Penalty",
    "Plan",
    "Schedule",
    "lazy",
]
