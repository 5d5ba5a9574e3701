"""The plugin author's guide (docs/plugins.md) against the code: every hook titled by its real signature, every spec
field explained, and its minimal plugin, copied out of the guide, installs and trains."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

import ganzoo
from ganzoo.hookspecs import HOOK_KINDS, hook_signature
from tests.conftest import run_subprocess
from tests.plugins.packages import install_into

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"
SPECS = [ganzoo.Architecture, ganzoo.GanModels, ganzoo.DataInfo, ganzoo.Plan, ganzoo.Loss, ganzoo.Penalty,
         ganzoo.Dataset, ganzoo.DataRequest, ganzoo.LoadedData, ganzoo.Metric, ganzoo.MetricInput]


@pytest.fixture(scope="module")
def guide() -> str:
    return GUIDE.read_text()


@pytest.mark.parametrize("hook", list(HOOK_KINDS))
def test_every_hook_has_a_section_titled_by_its_full_signature(guide: str, hook: str) -> None:
    assert f"### `{hook_signature(hook)}`" in guide.splitlines()


def field_columns(spec: type) -> dict[str, tuple[str, str]]:
    """Each field's type and default as the guide's tables write them: ``(`type`, `default` or **required**)``."""
    columns = {}
    for f in dataclasses.fields(spec):
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            default = "**required**"
        else:
            default = f"`{f.default_factory() if f.default is dataclasses.MISSING else f.default!r}`"
        columns[f.name] = (f"`{str(f.type).replace(chr(39), '')}`", default)
    return columns


def spec_tables(guide: str) -> dict[str, list[list[str]]]:
    """The table that follows each spec's bold name (outside a table row), as rows of cells, by spec name."""
    tables: dict[str, list[list[str]]] = {}
    current = None
    for line in guide.splitlines():
        if line.startswith("|"):
            if current is not None:
                separator = re.fullmatch(r"\|[-|]+\|", line.strip())
                cells = line.strip().strip("|").split("|" if separator else " | ")
                tables.setdefault(current, []).append([cell.strip() for cell in cells])
            continue
        if current is not None and current in tables:
            current = None  # the table ended
        named = re.findall(r"\*\*`(\w+)`\*\*", line)
        if named and named[-1] not in tables:
            current = named[-1]
    return tables


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.__name__)
def test_every_spec_field_has_a_table_row_with_its_type_and_default(guide: str, spec: type) -> None:
    table = spec_tables(guide).get(spec.__name__)
    assert table, f"no table follows **`{spec.__name__}`** in docs/plugins.md"
    assert table[0] == ["field", "type", "default", "meaning"] and table[1] == ["---"] * 4
    rows = {row[0].strip("`"): row for row in table[2:]}
    expected = field_columns(spec)
    assert sorted(rows) == sorted(expected), f"{spec.__name__}: the table's fields differ from the code's"
    for name, (type_, default) in expected.items():
        assert rows[name][1:3] == [type_, default], f"{spec.__name__}.{name}: the guide says {rows[name][1:3]}"
        assert rows[name][3], f"{spec.__name__}.{name} is not explained"


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
    site = install_into(tmp_path / "site", package)
    env = {"PYTHONPATH": str(site)}
    listed = run_subprocess(["list", "--json", "--kind", "loss"], env=env)
    assert listed.returncode == 0, listed.stderr
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert rows["softhinge"]["package"] == "ganzoo-softhinge" and rows["softhinge"]["version"] == "0.1.0"
    run = run_subprocess(["train", "--arch", "vanilla", "--loss", "softhinge", "--steps", "3", "--quiet",
                          "--out", str(tmp_path / "run")], env=env)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "run" / "checkpoints" / "last.safetensors").exists()


def test_the_guide_lists_the_settings_an_architecture_may_set(guide: str) -> None:
    """docs/plugins.md names ``TRAINING_KEYS`` one by one; they come from the declarations in ganzoo.settings."""
    from ganzoo.settings import TRAINING_KEYS

    found = re.search(r"The keys an architecture may set are `ganzoo\.specs\.TRAINING_KEYS`: ([^;]+);", guide)
    assert found, "the sentence naming TRAINING_KEYS is gone from docs/plugins.md"
    assert tuple(re.findall(r"`(\w+)`", found.group(1))) == TRAINING_KEYS


def test_the_readme_explains_every_option_of_train() -> None:
    """Every trainer setting with a flag has a row in the README's table of ``ganzoo train`` options."""
    from ganzoo.settings import flag_of, settings

    readme = (GUIDE.parents[1] / "README.md").read_text()
    table = readme.split("## Training: `ganzoo train`")[1].split("### The run folder")[0]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    first_cells = " ".join(row.split(" | ")[0] for row in rows)
    missing = [flag_of(name) for name, about in settings().items()
               if about.flag is not None and flag_of(name) not in first_cells]
    assert not missing, f"README's table of train options lacks {missing}"
