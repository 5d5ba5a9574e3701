"""Loading the compiled extension ``ganzoo._C`` and saying why it is not there when it is not."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Optional

from ganzoo.errors import ExtensionError

__all__ = ["ExtensionStatus", "extension_status", "require_extension"]


@dataclass(frozen=True)
class ExtensionStatus:
    """Whether ``ganzoo._C`` loaded; ``reason`` says why not, ``path`` where it was found."""

    available: bool
    with_cuda: bool
    path: Optional[str]
    reason: str


@functools.lru_cache(maxsize=1)
def _load() -> tuple[Optional[Any], str]:
    import torch  # noqa: F401  - libtorch must be loaded before the extension's shared object

    try:
        from ganzoo import _C
    except ImportError as exc:
        return None, f"ganzoo._C is not built or does not load ({' '.join(str(exc).split())}); rebuild with 'make install'"
    return _C, "built"


def extension_status() -> ExtensionStatus:
    module, reason = _load()
    if module is None:
        return ExtensionStatus(False, False, None, reason)
    return ExtensionStatus(True, bool(getattr(module, "WITH_CUDA", 0)), getattr(module, "__file__", None), reason)


def require_extension() -> Any:
    """The loaded extension module, or ``ExtensionError`` with the reason it is missing."""
    module, reason = _load()
    if module is None:
        raise ExtensionError(reason)
    return module
