"""Entry-point discovery end to end: real plugin packages are built and pip-installed, then seen by a fresh ganzoo process.

They are installed with ``pip install --target`` into a temporary folder put on PYTHONPATH: importlib.metadata discovers their
entry points exactly as in site-packages, and the venv is left untouched even when a test dies half-way.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_subprocess
from tests.plugins.packages import install_into, write_plugin_package

GOOD = "ganzoo-throwaway"
BROKEN = "ganzoo-broken"


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("plugin-src")
    site = tmp_path_factory.mktemp("plugin-site")
    good = write_plugin_package(root, GOOD, {"plugin.py": """
        import ganzoo

        @ganzoo.hookimpl
        def register_datasets(register):
            register(ganzoo.Dataset(name="throwaway_points", description="three fixed points", kind="points",
                                    load=ganzoo.lazy("math:prod")))
    """})
    broken = write_plugin_package(root, BROKEN, {"plugin.py": """
        raise ImportError("needs the module 'nonexistent_dependency'")
    """})
    return install_into(site, good, broken)


def _list_json(site: Path, **env: str) -> tuple[list[dict], str, int]:
    proc = run_subprocess(["list", "--json"], env={"PYTHONPATH": str(site), **env})
    return json.loads(proc.stdout), proc.stderr, proc.returncode


def test_installed_plugin_is_discovered_with_its_package(plugin_site: Path) -> None:
    rows, stderr, code = _list_json(plugin_site)
    assert code == 0
    row = next(r for r in rows if r["name"] == "throwaway_points")
    assert row == {"kind": "dataset", "name": "throwaway_points", "package": GOOD, "version": "0.4.2",
                   "description": "three fixed points"}
    assert any(r["name"] == "ring" and r["package"] == "ganzoo" for r in rows)
    # the broken plugin is a row of its own, for scripts that read the JSON
    (failure,) = [r for r in rows if r["kind"] == "failure"]
    assert failure == {"kind": "failure", "name": "ganzoo_broken = ganzoo_broken.plugin", "package": BROKEN,
                       "version": "0.4.2", "description": "ImportError: needs the module 'nonexistent_dependency'"}
    only_arch = json.loads(run_subprocess(["list", "--json", "--kind", "arch"], env={"PYTHONPATH": str(plugin_site)}).stdout)
    assert {r["kind"] for r in only_arch} == {"arch", "failure"}


def test_broken_plugin_is_listed_under_the_table_and_exit_is_zero(plugin_site: Path) -> None:
    proc = run_subprocess(["list"], env={"PYTHONPATH": str(plugin_site)})
    assert proc.returncode == 0
    assert "throwaway_points" in proc.stdout
    failure_line = next(line for line in proc.stdout.splitlines() if BROKEN in line)
    assert "ganzoo_broken = ganzoo_broken.plugin" in failure_line
    assert "ImportError: needs the module 'nonexistent_dependency'" in failure_line
    assert "Traceback" not in proc.stdout + proc.stderr
    doctor = run_subprocess(["doctor"], env={"PYTHONPATH": str(plugin_site)})
    assert doctor.returncode == 0 and BROKEN in doctor.stdout and "1 plugin(s) skipped" in doctor.stdout


def test_load_plugins_env_limits_third_party_plugins(plugin_site: Path) -> None:
    rows, stderr, _ = _list_json(plugin_site, GANZOO_LOAD_PLUGINS="")
    assert {r["package"] for r in rows} == {"ganzoo"}
    assert BROKEN not in stderr
    rows, stderr, _ = _list_json(plugin_site, GANZOO_LOAD_PLUGINS=GOOD)
    assert {r["package"] for r in rows} == {"ganzoo", GOOD}
    assert BROKEN not in stderr


def test_debug_shows_a_failed_plugins_traceback_and_a_bad_load_list_is_said(plugin_site: Path) -> None:
    plain = run_subprocess(["list"], env={"PYTHONPATH": str(plugin_site)})
    assert "rerun with --debug for their tracebacks" in plain.stderr + plain.stdout
    assert "Traceback" not in plain.stderr
    debug = run_subprocess(["--debug", "list"], env={"PYTHONPATH": str(plugin_site)})
    assert debug.returncode == 0
    assert "Traceback" in debug.stderr and "nonexistent_dependency" in debug.stderr
    named = run_subprocess(["list"], env={"PYTHONPATH": str(plugin_site), "GANZOO_LOAD_PLUGINS": f"{GOOD},ganzoo-nope"})
    assert named.returncode == 0 and "throwaway_points" in named.stdout
    assert "GANZOO_LOAD_PLUGINS names 'ganzoo-nope', which provides no ganzoo plugin here" in named.stdout
    unknown = run_subprocess(["train", "--arch", "resmlp"], env={"PYTHONPATH": str(plugin_site)})
    assert unknown.returncode != 0 and "plugin(s) failed to load: ganzoo-broken" in unknown.stderr


def test_a_plugin_that_imports_torch_at_import_time_is_noted(tmp_path: Path) -> None:
    heavy = write_plugin_package(tmp_path / "src", "ganzoo-heavy", {"plugin.py": """
        import torch  # at module level: every command that lists plugins pays for it
        import ganzoo
    """})
    site = install_into(tmp_path / "site", heavy)
    proc = run_subprocess(["list"], env={"PYTHONPATH": str(site)})
    assert proc.returncode == 0
    assert "note: ganzoo-heavy: importing ganzoo_heavy = ganzoo_heavy.plugin imports torch" in proc.stdout
    assert "import it inside the functions a spec calls" in proc.stdout
