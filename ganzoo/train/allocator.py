"""glibc's malloc, set up for a training loop on the CPU.

PyTorch's CPU tensors come from ``posix_memalign``. glibc serves a request above its mmap threshold (128 KiB at start,
raised as big blocks are freed) with a fresh ``mmap`` and unmaps it when freed, and it hands free memory at the top of
its heap back to the kernel above a trim threshold. A training step allocates and frees the same activation-sized
buffers hundreds of times, so many of them arrive as fresh pages that the kernel must fault in and zero on first touch:
the digits 16x16 critic's penalty step took about 1,000 page faults a step. Serving blocks up to 32 MiB from the heap
and trimming it only above 256 MiB of free space keeps those pages mapped from one step to the next (about 15 faults a
step), which is what jemalloc or tcmalloc, recommended by PyTorch's CPU tuning guide, do by their design.
benchmarks/RESULTS.md has the measurement. The cost: the process keeps up to its peak heap until it exits, as CUDA's
caching allocator does.

``GANZOO_ALLOCATOR=system`` leaves malloc as it is. So does any malloc setting of the user's own (the ``MALLOC_*_``
variables, a ``glibc.malloc`` tunable, or another allocator in ``LD_PRELOAD``), and any C library other than glibc.
"""

from __future__ import annotations

import ctypes
import os
import platform
from typing import Mapping, Optional

from ganzoo.errors import ConfigError

__all__ = ["ENV", "MMAP_THRESHOLD", "TRIM_THRESHOLD", "allocator_plan", "describe_allocator", "tune_allocator"]

ENV = "GANZOO_ALLOCATOR"
MMAP_THRESHOLD = 32 << 20  # glibc's largest allowed value on 64-bit Linux
TRIM_THRESHOLD = 256 << 20
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameter numbers, from glibc's malloc.h
_USERS_OWN = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_")
_OTHER_ALLOCATORS = ("jemalloc", "tcmalloc", "mimalloc")
_applied: Optional[str] = None  # what tune_allocator did to this process


def allocator_plan(env: Mapping[str, str], libc: str) -> Optional[str]:
    """Why malloc is left alone (a short reason), or None when ganzoo should set it up.

    Raises:
        ConfigError: ``GANZOO_ALLOCATOR`` holds neither ``tuned`` nor ``system``.
    """
    choice = env.get(ENV, "tuned").strip().lower() or "tuned"
    if choice not in ("tuned", "system"):
        raise ConfigError(f"{ENV}={env[ENV]!r} is not an allocator setting: use {ENV}=tuned (the default) or "
                          f"{ENV}=system")
    if choice == "system":
        return f"{ENV}=system"
    if libc != "glibc":
        return f"the C library is {libc or 'unknown'}, not glibc"
    own = [name for name in _USERS_OWN if name in env]
    if "glibc.malloc" in env.get("GLIBC_TUNABLES", ""):
        own.append("GLIBC_TUNABLES")
    preloaded = [name for name in _OTHER_ALLOCATORS if name in env.get("LD_PRELOAD", "")]
    if own or preloaded:
        return "the user's own malloc setting (" + ", ".join(own + [f"LD_PRELOAD {p}" for p in preloaded]) + ")"
    return None


def tune_allocator() -> str:
    """Set glibc's mmap and trim thresholds for this process, unless ``allocator_plan`` says not to. Once set, they
    last for the process: later calls check the environment again but do not undo them.

    Returns a one-line account of what was done.

    Raises:
        ConfigError: ``GANZOO_ALLOCATOR`` holds an unknown value.
    """
    global _applied
    reason = allocator_plan(os.environ, platform.libc_ver()[0])
    if reason is not None:
        return f"malloc left as it is: {reason}"
    if _applied is None:
        libc = ctypes.CDLL(None)
        ok = libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
        _applied = ("malloc: blocks up to 32 MiB from the heap, trimmed above 256 MiB" if ok
                    else "malloc left as it is: glibc refused the thresholds")
    return _applied


def describe_allocator() -> str:
    """What ``ganzoo train`` on the CPU does with malloc in this environment, without doing it (for ``ganzoo doctor``)."""
    try:
        reason = allocator_plan(os.environ, platform.libc_ver()[0])
    except ConfigError as exc:
        return str(exc)
    return (f"left as it is ({reason})" if reason is not None
            else f"glibc, tuned by ganzoo train on the CPU (blocks up to 32 MiB from the heap; {ENV}=system to leave it)")
