"""Builds ganzoo._C, the compiled ops, ahead of time (never at a user's first call).

Everything else about the package lives in pyproject.toml. Build against the torch that will run it:

    pip install torch==2.13.0 setuptools wheel ninja
    pip install --no-build-isolation -e .

CPU kernels always; CUDA kernels (csrc/cuda/*.cu) when torch was built with CUDA and a CUDA toolkit is found.
Environment switches:
    GANZOO_CUDA=1 / 0     force the CUDA kernels on / off (default: auto)
    GANZOO_DEBUG_BUILD=1  -O0 -g instead of -O3
    TORCH_CUDA_ARCH_LIST  GPU architectures (default here: "8.0;9.0")
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from setuptools import setup

try:
    import torch
    from torch.utils import cpp_extension
except ImportError:  # pragma: no cover - only reached by a build without torch
    sys.exit(
        "ganzoo's extension builds against the installed torch: install torch first (e.g. pip install torch==2.13.0), "
        "then pip install --no-build-isolation -e ."
    )

ROOT = Path(__file__).parent
CSRC = ROOT / "csrc"


def _sources(pattern: str) -> list[str]:
    return sorted(str(p.relative_to(ROOT)) for p in CSRC.glob(pattern))


def _want_cuda(cuda_sources: list[str]) -> bool:
    forced = os.environ.get("GANZOO_CUDA", "").strip()
    if forced == "0":
        return False
    available = torch.version.cuda is not None and cpp_extension.CUDA_HOME is not None
    if forced == "1":
        if not available:
            sys.exit("GANZOO_CUDA=1 but torch has no CUDA or no CUDA toolkit was found: set CUDA_HOME or unset GANZOO_CUDA")
        return True
    return available and bool(cuda_sources)


def extension() -> cpp_extension.CppExtension:
    cpu_sources = _sources("*.cpp")
    cuda_sources = _sources("cuda/*.cu") + _sources("cuda/*.cpp")
    with_cuda = _want_cuda(cuda_sources)
    debug = os.environ.get("GANZOO_DEBUG_BUILD", "") == "1"
    opt = ["-O0", "-g"] if debug else ["-O3"]
    # CppExtension does not add OpenMP: without it at::parallel_for silently runs on one thread.
    # -fno-trapping-math: no floating-point traps are relied on, and without it GCC keeps the branch-free selects of the
    # critic loss's float loop (csrc/ops_cpu.cpp) as branches, which stops `omp simd` from vectorising it. Results are
    # unchanged (unlike -ffast-math): no reassociation, NaN and Inf keep their IEEE meaning.
    cxx = [*opt, "-fopenmp", "-fno-trapping-math", f"-DGANZOO_WITH_CUDA={int(with_cuda)}"]
    if with_cuda:
        os.environ.setdefault("TORCH_CUDA_ARCH_LIST", "8.0;9.0")
        nvcc = [*opt, "--expt-relaxed-constexpr", f"-DGANZOO_WITH_CUDA=1"]
        include_dirs = [str(p) for p in _nvidia_include_dirs()]
        return cpp_extension.CUDAExtension(
            "ganzoo._C",
            cpu_sources + cuda_sources,
            include_dirs=include_dirs,
            extra_compile_args={"cxx": cxx, "nvcc": nvcc},
            extra_link_args=["-fopenmp"],
        )
    return cpp_extension.CppExtension(
        "ganzoo._C", cpu_sources, extra_compile_args={"cxx": cxx}, extra_link_args=["-fopenmp"]
    )


def _nvidia_include_dirs() -> list[Path]:
    # pip's CUDA builds of torch ship CUDA's library headers (cusparse.h, ...) under site-packages/nvidia/*/include
    site = Path(torch.__file__).resolve().parent.parent / "nvidia"
    return sorted(p for p in site.glob("*/include") if p.is_dir())


setup(
    ext_modules=[extension()],
    cmdclass={"build_ext": cpp_extension.BuildExtension.with_options(use_ninja=True)},
)
