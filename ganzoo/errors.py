"""Typed errors raised below the CLI.

Only ``ganzoo.cli`` turns these into messages and exit codes; library code raises them with a message that names the
problem and, where there is one, the fix.
"""

from __future__ import annotations

__all__ = [
    "GanzooError",
    "ConfigError",
    "DataError",
    "DataMissingError",
    "PluginError",
    "UnknownNameError",
    "AmbiguousNameError",
    "CheckpointError",
    "ExtensionError",
    "GanzooWarning",
]


class GanzooError(Exception):
    """Base class of every error ganzoo reports to a user as one line."""


class ConfigError(GanzooError, ValueError):
    """A setting or command-line option is invalid."""


class DataError(GanzooError, ValueError):
    """A dataset could not be found, read or decoded."""


class DataMissingError(DataError):
    """Data that lives outside the package is not on this machine: fetched once (``ganzoo fetch NAME``) and not yet,
    or installed separately (Debian's dataset-fashion-mnist for ``fashion_mnist``) and not installed."""


class PluginError(GanzooError):
    """A plugin registered something invalid."""


class UnknownNameError(GanzooError, KeyError):
    """No plugin provides the requested name."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class AmbiguousNameError(GanzooError, KeyError):
    """Two or more packages provide the same name."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class CheckpointError(GanzooError):
    """A run folder or checkpoint is missing, corrupted or belongs to another setup."""


class ExtensionError(GanzooError, RuntimeError):
    """The compiled extension was requested but is not available."""


class GanzooWarning(UserWarning):
    """Something was skipped, adjusted or slower than asked, and the user should know (the CLI prints 'warning: ...')."""
