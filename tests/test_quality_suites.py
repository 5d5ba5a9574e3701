"""Every quality suite's commands are commands ganzoo accepts: a misspelt flag in a suite would otherwise surface only
an hour into a suite's run, after its first training."""

from __future__ import annotations

import pytest

from benchmarks.quality import EVAL_ARGS, SUITES, entry_val_every, eval_run_command, train_command
from ganzoo.cli import cli
from ganzoo.registry import default_registry


@pytest.mark.parametrize("suite", sorted(SUITES))
def test_every_suite_command_parses(suite: str, tmp_path) -> None:
    registry = default_registry()
    for entry in SUITES[suite]:
        name, *args = train_command(tmp_path / "run", entry.train_args, 0, [], entry_val_every(entry))
        context = cli.commands[name].make_context(name, args)
        assert registry.get("arch", context.params["arch"]).name == context.params["arch"]
        assert registry.get("dataset", context.params["dataset"]).name == context.params["dataset"]
    name, *args = eval_run_command(tmp_path / "run", 0, EVAL_ARGS.get(suite, []))
    context = cli.commands[name].make_context(name, args)
    for metric in context.params["metrics"]:
        assert registry.get("metric", metric).name == metric
