"""Benchmark suite settings: ``--quick`` keeps to the small sizes (the 64x64 conv critic step takes seconds on a CPU);
``--device cuda`` runs every case on the GPU, each timed call ending in a synchronisation so that pytest-benchmark's host
clock measures finished work, not queued launches."""

from __future__ import annotations

from typing import Callable

import pytest
import torch


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--quick", action="store_true", help="small sizes only")
    parser.addoption("--device", default="cpu", help="cpu (default) or cuda")


@pytest.fixture
def quick(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--quick"))


@pytest.fixture
def device(request: pytest.FixtureRequest) -> str:
    name = request.config.getoption("--device")
    if name.startswith("cuda") and not torch.cuda.is_available():
        pytest.exit("--device cuda: this torch sees no CUDA device", returncode=4)
    return name


@pytest.fixture
def synced(device: str) -> Callable[[Callable[[], None]], Callable[[], None]]:
    """Wrap a timed callable so that it returns only when its GPU work has finished."""

    def wrap(fn: Callable[[], None]) -> Callable[[], None]:
        if not device.startswith("cuda"):
            return fn

        def run() -> None:
            fn()
            torch.cuda.synchronize(device)

        return run

    return wrap
