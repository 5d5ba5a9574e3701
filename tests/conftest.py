"""Shared fixtures: a CLI runner that goes through ganzoo's own error boundary, and in-memory plugin registries."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import pytest

from ganzoo.io import cache_dir
from ganzoo.plugins import load_plugins
from ganzoo.registry import build_registry

REPO = Path(__file__).resolve().parents[1]


USERS_CACHE: list = []  # the user's cache folder, as it was before the test session replaced it


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory):
    """Cached classifiers go to a folder of the test session's own, never to the user's ~/.cache."""
    folder = tmp_path_factory.mktemp("ganzoo-cache")
    old = os.environ.get("GANZOO_CACHE_DIR")
    USERS_CACHE.append(cache_dir())  # what a test that needs fetched data (the Inception network) reads, read-only
    os.environ["GANZOO_CACHE_DIR"] = str(folder)
    yield folder
    if old is None:
        os.environ.pop("GANZOO_CACHE_DIR", None)
    else:
        os.environ["GANZOO_CACHE_DIR"] = old


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]):
    """Run ``ganzoo ARGS`` in-process through ``ganzoo.cli.main`` (the real error boundary), capturing both streams."""
    from ganzoo.cli import main

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        with pytest.raises(SystemExit) as exited:
            main(list(args))
        out, err = capsys.readouterr()
        return CliResult(int(exited.value.code or 0), out, err)

    return run


def run_subprocess(args: Sequence[str], env: dict[str, str] | None = None, timeout: float = 600, **kw: Any):
    """``python -m ganzoo ARGS`` in a fresh process (what a user's shell does)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "ganzoo", *args], capture_output=True, text=True, env=full_env,
                          timeout=timeout, **kw)


def make_registry(*plugins: Any, entry_points: bool = True):
    """A registry of the installed plugins plus in-memory ones given as objects or (object, package, version)."""
    extra = [p if isinstance(p, tuple) else (p, getattr(p, "package", "test-plugin"), "0.0") for p in plugins]
    return build_registry(load_plugins(extra, entry_points=entry_points))
