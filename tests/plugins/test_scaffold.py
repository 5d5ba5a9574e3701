"""`ganzoo new-plugin`: the package it writes installs with pip, passes its own tests as generated, and is listed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ganzoo.errors import ConfigError
from ganzoo.scaffold import new_plugin, package_names
from tests.conftest import run_subprocess


def test_generated_package_installs_passes_its_tests_and_is_listed(tmp_path: Path) -> None:
    proc = run_subprocess(["new-plugin", "my_gan", "--dir", str(tmp_path)])
    assert proc.returncode == 0, proc.stderr
    package = tmp_path / "ganzoo-my-gan"
    assert f"pip install {package}" in proc.stdout
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-build-isolation", "--no-deps", "--target",
                    str(site), str(package)], check=True, capture_output=True, text=True)
    env = {**os.environ, "PYTHONPATH": str(site)}
    # its own tests, run the way its author would, from its folder (not through this repository's conftest)
    tested = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], cwd=package,
                            capture_output=True, text=True, env=env, timeout=600)
    assert tested.returncode == 0, tested.stdout[-2000:]
    assert "6 passed" in tested.stdout  # none skipped: the installed-run test found the package
    listed = run_subprocess(["list", "--json", "--kind", "arch"], env={"PYTHONPATH": str(site)})
    rows = [r for r in json.loads(listed.stdout) if r["name"] == "my_gan"]
    assert rows == [{"kind": "arch", "name": "my_gan", "package": "ganzoo-my-gan", "version": "0.1.0",
                     "description": rows[0]["description"]}]


def test_names_follow_the_convention() -> None:
    assert package_names("my_gan") == ("ganzoo-my-gan", "ganzoo_my_gan")


@pytest.mark.parametrize("name", ["My-Gan", "1gan", "gan-x", ""])
def test_bad_names_are_refused_with_the_rule(name: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="lowercase identifier"):
        new_plugin(name, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_an_existing_folder_is_never_overwritten(tmp_path: Path) -> None:
    target = tmp_path / "ganzoo-mine"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    proc = run_subprocess(["new-plugin", "mine", "--dir", str(tmp_path)])
    assert proc.returncode == 1 and "already exists" in proc.stderr and "Traceback" not in proc.stderr
    assert (target / "keep.txt").read_text() == "mine" and sorted(p.name for p in tmp_path.iterdir()) == ["ganzoo-mine"]


def test_a_missing_parent_folder_is_a_one_line_error(tmp_path: Path) -> None:
    proc = run_subprocess(["new-plugin", "mine", "--dir", str(tmp_path / "nope")])
    assert proc.returncode == 1 and proc.stderr.strip() == f"error: --dir {str(tmp_path / 'nope')!r} is not a folder: " \
                                                           "create it first or pick another"
