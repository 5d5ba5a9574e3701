"""Loading the compiled extension ``ganzoo._C`` and saying why it is not there when it is not."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional

from ganzoo.errors import ExtensionError

__all__ = ["ExtensionStatus", "extension_status", "require_extension", "when_loaded"]


@dataclass(frozen=True)
class ExtensionStatus:
    """Whether ``ganzoo._C`` loaded; ``reason`` says why not, ``path`` where it was found."""

    available: bool
    with_cuda: bool
    path: Optional[str]
    reason: str


# (module or None, reason): filled on first use. A plain global rather than functools.lru_cache, which torch.compile
# would trace through (and warn about) in code that calls the ops.
_loaded: list[tuple[Optional[Any], str]] = []
# what the op modules register with torch.library once the ops exist (their fake kernels and create-graph gradients)
_on_load: list[Callable[[], None]] = []


def when_loaded(register: Callable[[], None]) -> Callable[[], None]:
    """Run ``register`` once ``ganzoo._C`` has loaded (now, if it has); never, where it is not built. A decorator for
    an op module's registrations, which need the ops the extension defines."""
    _on_load.append(register)
    if _loaded and _loaded[0][0] is not None:
        register()
    return register


def _load() -> tuple[Optional[Any], str]:
    if not _loaded:
        import torch  # noqa: F401  - libtorch must be loaded before the extension's shared object

        try:
            from ganzoo import _C
        except ImportError as exc:
            reason = " ".join(str(exc).split())
            _loaded.append((None, f"ganzoo._C is not built or does not load ({reason}); rebuild with 'make install'"))
        else:
            _loaded.append((_C, "built"))
            for register in _on_load:
                register()
    return _loaded[0]


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
