"""``ganzoo new-plugin NAME [--kind KIND]``: write a ready plugin package that installs with pip, passes its own tests
and ``ganzoo check-plugin`` as generated.

The package registers one thing named NAME, of the kind asked for: an architecture (small MLPs for points and flattened
images, the default), a loss (the non-saturating logistic loss written out), a dataset (two moons, generated in code)
or a metric (an unbiased MMD). An author replaces the maths and keeps the rest: the entry point, the API-version
declaration, the lazy import and the tests.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template
from typing import Mapping

from ganzoo.errors import ConfigError
from ganzoo.hookspecs import API_RELEASES, API_VERSION
from ganzoo.specs import NAME_PATTERN

__all__ = ["KINDS", "TEMPLATES", "new_plugin", "package_names", "render"]


def package_names(name: str) -> tuple[str, str]:
    """The distribution and module names of plugin ``name``: ``my_gan`` -> ``("ganzoo-my-gan", "ganzoo_my_gan")``."""
    if not NAME_PATTERN.match(name):
        raise ConfigError(f"plugin name {name!r} is invalid: use a lowercase identifier such as 'my_gan'")
    return f"ganzoo-{name.replace('_', '-')}", f"ganzoo_{name}"


# The package's files are templates under ganzoo/templates/plugin/ (string.Template: $name, $dist, ...): the files
# every kind shares at the top, each kind's own in its folder. ${plugin_head}, ${registers_test} and ${installed_helper}
# in a kind's file stand for the shared pieces of the same names.
TEMPLATES = resources.files("ganzoo") / "templates" / "plugin"
_PIECES = ("plugin_head", "registers_test", "installed_helper")


@dataclass(frozen=True)
class _Kind:
    title: str  # "architecture"
    impl: str  # the module an author edits
    what: str  # what that module holds
    usage: str  # the README's line that uses the plugin


KINDS: dict[str, _Kind] = {
    "arch": _Kind("architecture", "nets", "networks", "ganzoo train --arch $name --dataset ring --steps 2000"),
    "loss": _Kind("loss", "losses", "formulas", "ganzoo train --arch vanilla --loss $name --steps 2000"),
    "dataset": _Kind("dataset", "data", "data", "ganzoo train --arch wgan_gp --dataset $name --steps 2000"),
    "metric": _Kind("metric", "metrics", "metric", "ganzoo train --val-metric $name --steps 2000"),
}


def render(kind: str, values: Mapping[str, object]) -> dict[str, str]:
    """The files of a ``kind`` plugin package, by their paths in it, with ``values`` substituted."""
    spec = KINDS[kind]
    pieces = {name: (TEMPLATES / f"{name}.py.tmpl").read_text().rstrip("\n") for name in _PIECES}
    sources = {"pyproject.toml": "pyproject.toml.tmpl", "README.md": "README.md.tmpl",
               "$module/__init__.py": "__init__.py.tmpl", "$module/plugin.py": f"{kind}/plugin.py.tmpl",
               f"$module/{spec.impl}.py": f"{kind}/{spec.impl}.py.tmpl", "tests/test_$name.py": f"{kind}/test.py.tmpl"}
    files = {}
    for relative, source in sources.items():
        text = Template((TEMPLATES / source).read_text()).safe_substitute(pieces)
        files[Template(relative).substitute(values)] = Template(text).substitute(values)
    return files


def new_plugin(name: str, directory: str | os.PathLike = ".", kind: str = "arch") -> Path:
    """Write the package for plugin ``name`` registering one ``kind`` (``KINDS``) into ``directory/ganzoo-NAME`` and
    return that folder.

    The package appears whole or not at all: it is written to a temporary folder beside the target and renamed.

    Raises:
        ConfigError: a bad name, a --dir that is a file, or a target that already exists (never overwritten).
    """
    dist, module = package_names(name)
    if kind not in KINDS:
        raise ConfigError(f"--kind {kind!r} is not a plugin kind: use one of {', '.join(KINDS)}")
    spec = KINDS[kind]
    parent = Path(directory)
    if parent.exists() and not parent.is_dir():
        raise ConfigError(f"--dir {str(parent)!r} is a file, not a folder: pick another")
    target = parent / dist
    if target.exists():
        raise ConfigError(f"{target} already exists: pick another --dir or name, or remove it (it is never overwritten)")
    values = {"name": name, "dist": dist, "module": module, "api_version": API_VERSION, "kind": kind,
              "title": spec.title, "impl": spec.impl, "what": spec.what,
              "ganzoo_version": API_RELEASES[API_VERSION]}
    values["usage"] = Template(spec.usage).substitute(values)
    files = render(kind, values)
    parent.mkdir(parents=True, exist_ok=True)  # a folder to put the package in is made, like `git clone` does
    staging = Path(tempfile.mkdtemp(prefix=f".{dist}-", dir=parent))
    try:
        for relative, text in files.items():
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target
