"""Benchmark suite settings: ``--quick`` keeps to the small sizes (the 64x64 conv critic step takes seconds on a CPU)."""

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--quick", action="store_true", help="small sizes only")


@pytest.fixture
def quick(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--quick"))
