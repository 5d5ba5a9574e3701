"""Every quality suite's commands are commands ganzoo accepts: a misspelt flag in a suite would otherwise surface only
an hour into a suite's run, after its first training."""

from __future__ import annotations

import pytest

from benchmarks.quality import EVAL_ARGS, SUITES
from ganzoo.cli import cli
from ganzoo.registry import default_registry


@pytest.mark.parametrize("suite", sorted(SUITES))
def test_every_suite_command_parses(suite: str, tmp_path) -> None:
    registry = default_registry()
    for entry in SUITES[suite]:
        args = [*entry.train_args, "--seed", "0", "--out", str(tmp_path / "run"), "--quiet"]
        context = cli.commands["train"].make_context("train", args)
        assert registry.get("arch", context.params["arch"]).name == context.params["arch"]
        assert registry.get("dataset", context.params["dataset"]).name == context.params["dataset"]
    eval_args = [str(tmp_path / "run"), "--json", "--seed", "0", *EVAL_ARGS.get(suite, [])]
    context = cli.commands["eval"].make_context("eval", eval_args)
    for metric in context.params["metrics"]:
        assert registry.get("metric", metric).name == metric
