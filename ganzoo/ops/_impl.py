"""Which implementation an op call uses: the compiled kernels ("ext") or the pure-PyTorch reference ("ref").

``impl="auto"`` (the default) takes the kernels when they are built for the tensors' device and otherwise the reference,
warning once with the reason; ``impl="ext"`` raises ``ExtensionError`` instead. ``default_impl("ref")`` switches the
default for a block of code (the trainer's ``--no-fused``), without every caller passing ``impl``.
"""

from __future__ import annotations

import contextlib
import contextvars
import warnings
from typing import Iterator

import torch

from ganzoo.errors import ExtensionError, GanzooWarning
from ganzoo.ops.extension import extension_status, require_extension

__all__ = ["IMPLS", "default_impl", "use_extension"]

IMPLS = ("auto", "ref", "ext")
_default: contextvars.ContextVar[str] = contextvars.ContextVar("ganzoo_ops_impl", default="auto")
_warned: set[str] = set()


@contextlib.contextmanager
def default_impl(impl: str) -> Iterator[None]:
    """Use ``impl`` for every op call in this block that does not name one."""
    if impl not in IMPLS:
        raise ValueError(f"impl must be one of {IMPLS}, got {impl!r}")
    token = _default.set(impl)
    try:
        yield
    finally:
        _default.reset(token)


def use_extension(impl: str | None, *tensors: torch.Tensor) -> bool:
    """True when the call should run the compiled kernels (and they are loaded and registered)."""
    impl = impl or _default.get()
    if impl not in IMPLS:
        raise ValueError(f"impl must be one of {IMPLS}, got {impl!r}")
    if impl == "ref":
        return False
    reason = _unavailable_reason(tensors)
    if reason is None:
        return True
    if impl == "ext":
        raise ExtensionError(f"impl='ext' asked for the fused kernels, but {reason}")
    if reason not in _warned:
        _warned.add(reason)
        warnings.warn(f"fused kernels unavailable, using the PyTorch reference: {reason}", GanzooWarning, stacklevel=3)
    return False


def _unavailable_reason(tensors: tuple[torch.Tensor, ...]) -> str | None:
    status = extension_status()
    if not status.available:
        return status.reason
    devices = {t.device.type for t in tensors}
    if "cuda" in devices and not status.with_cuda:
        return "ganzoo._C was built without CUDA kernels (rebuild with CUDA; see README)"
    unsupported = devices - {"cpu", "cuda"}
    if unsupported:
        return f"no ganzoo kernels for device {', '.join(sorted(unsupported))}"
    require_extension()
    return None
