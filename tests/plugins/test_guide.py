"""The plugin author's guide (docs/plugins.md) against the code: every hook titled by its real signature, every spec
field explained, and its minimal plugin, copied out of the guide, installs and trains."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import ganzoo
from ganzoo.hookspecs import HOOK_KINDS, hook_signature
from tests.conftest import run_subprocess

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"
SPECS = [ganzoo.Architecture, ganzoo.GanModels, ganzoo.DataInfo, ganzoo.Plan, ganzoo.Loss, ganzoo.Penalty,
         ganzoo.Dataset, ganzoo.DataRequest, ganzoo.LoadedData, ganzoo.Metric, ganzoo.MetricInput]


@pytest.fixture(scope="module")
def guide() -> str:
    return GUIDE.read_text()


@pytest.mark.parametrize("hook", list(HOOK_KINDS))
def test_every_hook_has_a_section_titled_by_its_full_signature(guide: str, hook: str) -> None:
    assert f"### `{hook_signature(hook)}`" in guide.splitlines()


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.__name__)
def test_every_spec_field_is_explained_in_a_table_row(guide: str, spec: type) -> None:
    rows = set(re.findall(r"^\| `(\w+)` \|", guide, flags=re.MULTILINE))
    missing = [f.name for f in dataclasses.fields(spec) if f.name not in rows]
    assert not missing, f"{spec.__name__} fields not in docs/plugins.md: {missing}"
    assert f"**`{spec.__name__}`**" in guide


def _code_block_after(guide: str, marker: str) -> str:
    start = guide.index(marker)
    match = re.search(r"```\w*\n(.*?)```", guide[start:], flags=re.DOTALL)
    assert match, marker
    return match.group(1)


def test_the_guides_minimal_plugin_installs_lists_and_trains(guide: str, tmp_path: Path) -> None:
    package = tmp_path / "ganzoo-softhinge"
    package.mkdir()
    (package / "pyproject.toml").write_text(_code_block_after(guide, "`pyproject.toml`:"))
    (package / "ganzoo_softhinge.py").write_text(_code_block_after(guide, "`ganzoo_softhinge.py`:"))
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-build-isolation", "--no-deps", "--target",
                    str(site), str(package)], check=True, capture_output=True, text=True)
    env = {"PYTHONPATH": str(site)}
    listed = run_subprocess(["list", "--json", "--kind", "loss"], env=env)
    assert listed.returncode == 0, listed.stderr
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert rows["softhinge"]["package"] == "ganzoo-softhinge" and rows["softhinge"]["version"] == "0.1.0"
    run = run_subprocess(["train", "--arch", "vanilla", "--loss", "softhinge", "--steps", "3", "--quiet",
                          "--out", str(tmp_path / "run")], env=env)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "run" / "checkpoints" / "last.safetensors").exists()
