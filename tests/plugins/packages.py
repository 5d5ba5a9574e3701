"""Real plugin packages for the tests: written to a folder, pip-installed into a site folder that a test puts on
PYTHONPATH, where importlib.metadata finds their entry points exactly as in site-packages (the venv is untouched)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path


def write_plugin_package(root: Path, dist: str, files: dict[str, str], version: str = "0.4.2") -> Path:
    """``root/dist``: a pyproject whose ``ganzoo`` entry point names ``MODULE.plugin``, and ``files`` (name -> source,
    dedented) in the package ``MODULE`` (``dist`` with dashes as underscores)."""
    module = dist.replace("-", "_")
    pkg = root / dist
    (pkg / module).mkdir(parents=True)
    (pkg / "pyproject.toml").write_text(textwrap.dedent(f"""
        [build-system]
        requires = ["setuptools>=61"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "{dist}"
        version = "{version}"

        [project.entry-points.ganzoo]
        {module} = "{module}.plugin"
    """))
    (pkg / module / "__init__.py").write_text("")
    for name, source in files.items():
        (pkg / module / name).write_text(textwrap.dedent(source))
    return pkg


def install_into(site: Path, *packages: Path) -> Path:
    """pip-install ``packages`` (source folders) into ``site`` without their dependencies or build isolation."""
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-build-isolation", "--no-deps", "--target",
                    str(site), *(str(p) for p in packages)], check=True, capture_output=True, text=True)
    return site
