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
from tests.plugins.packages import install_into

# how many tests each generated package has: all of them must pass, none skipped (the installed-run test found it)
TESTS_PER_KIND = {"arch": 6, "loss": 4, "dataset": 5, "metric": 4}


@pytest.fixture(scope="module")
def generated_site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """One package of each kind, written by `ganzoo new-plugin`, installed into one folder put on PYTHONPATH."""
    root, site = tmp_path_factory.mktemp("generated"), tmp_path_factory.mktemp("generated-site")
    for kind in TESTS_PER_KIND:
        proc = run_subprocess(["new-plugin", f"my_{kind}", "--kind", kind, "--dir", str(root)])
        assert proc.returncode == 0, proc.stderr
        assert f"pip install {root / f'ganzoo-my-{kind}'}" in proc.stdout
        assert f"ganzoo check-plugin ganzoo-my-{kind}" in proc.stdout
    install_into(site, *(root / f"ganzoo-my-{kind}" for kind in TESTS_PER_KIND))
    return root, site


@pytest.mark.parametrize("kind", list(TESTS_PER_KIND))
def test_generated_package_installs_passes_its_tests_and_check_plugin(generated_site: tuple[Path, Path],
                                                                       kind: str) -> None:
    root, site = generated_site
    package, dist = root / f"ganzoo-my-{kind}", f"ganzoo-my-{kind}"
    env = {**os.environ, "PYTHONPATH": str(site)}
    # its own tests, run the way its author would, from its folder (not through this repository's conftest)
    tested = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], cwd=package,
                            capture_output=True, text=True, env=env, timeout=600)
    assert tested.returncode == 0, tested.stdout[-2000:]
    assert f"{TESTS_PER_KIND[kind]} passed" in tested.stdout and "skipped" not in tested.stdout
    checked = run_subprocess(["check-plugin", dist], env={"PYTHONPATH": str(site)})
    assert checked.returncode == 0, checked.stdout
    assert checked.stdout.strip().splitlines()[-1].startswith(f"{dist} passes check-plugin (")
    assert "warn" not in checked.stdout and "skip" not in checked.stdout
    listed = run_subprocess(["list", "--json", "--kind", kind], env={"PYTHONPATH": str(site)})
    rows = [r for r in json.loads(listed.stdout) if r["name"] == f"my_{kind}"]
    per_arch = {"dataset_defaults": {}} if kind == "arch" else {}  # an architecture's row names its per-dataset settings
    assert rows == [{"kind": kind, "name": f"my_{kind}", "package": dist, "version": "0.1.0",
                     "description": rows[0]["description"], **per_arch}]


def test_an_unknown_kind_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--kind 'model' is not a plugin kind: use one of arch, loss, dataset, metric"):
        new_plugin("mine", tmp_path, "model")
    assert list(tmp_path.iterdir()) == []


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


def test_a_missing_parent_folder_is_made_and_a_file_is_refused(tmp_path: Path, run_cli) -> None:
    made = run_cli("new-plugin", "mine", "--dir", str(tmp_path / "new" / "deeper"))
    assert made.exit_code == 0 and (tmp_path / "new" / "deeper" / "ganzoo-mine" / "pyproject.toml").is_file()
    (tmp_path / "afile").write_text("x")
    refused = run_cli("new-plugin", "mine", "--dir", str(tmp_path / "afile"))
    assert refused.exit_code == 1 and refused.stderr.strip() == (
        f"error: --dir {str(tmp_path / 'afile')!r} is a file, not a folder: pick another")


# sha256 over each generated package (its files' paths and bytes) as the templates wrote them when they were string
# constants in scaffold.py; moving them into package-data files (issue 29) had to leave every byte as it was. Change
# these on purpose when a template changes, after reading the generated package.
GENERATED = {"arch": "c54126341dc5a3f5", "loss": "64ca269195ebcfee", "dataset": "f4e32bb6e93d440f",
             "metric": "362d7d250e54339a"}


@pytest.mark.parametrize("kind", sorted(GENERATED))
def test_the_generated_package_is_byte_for_byte_what_the_templates_made_before_they_moved(kind: str,
                                                                                          tmp_path: Path) -> None:
    import hashlib

    from ganzoo.hookspecs import API_VERSION

    assert API_VERSION == 2, "the recorded packages declare API 2: regenerate GENERATED for the new version"
    root = new_plugin(f"my_{kind}", tmp_path, kind)
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    assert digest.hexdigest()[:16] == GENERATED[kind]
    assert "$" not in "".join(p.read_text() for p in root.rglob("*.py"))  # every placeholder was filled


def test_every_template_ships_with_the_package() -> None:
    """pyproject.toml's package-data globs cover every template file, so a wheel install can write plugins too."""
    import fnmatch

    from ganzoo.scaffold import TEMPLATES

    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    repo = Path(__file__).resolve().parents[2]
    globs = tomllib.loads((repo / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["ganzoo"]
    package = repo / "ganzoo"
    files = [p.relative_to(package).as_posix() for p in Path(str(TEMPLATES)).rglob("*") if p.is_file()]
    assert files and all(any(fnmatch.fnmatch(f, g) and f.count("/") == g.count("/") for g in globs) for f in files)
