"""``ganzoo bench`` runs the real benchmark suite and condenses it (a two-benchmark subset here, to stay fast)."""

from __future__ import annotations

import json

from tests.conftest import run_subprocess


def test_bench_json_subset() -> None:
    proc = run_subprocess(["bench", "--json", "-k", "critic_loss and wasserstein and not 4096"])
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)["rows"]
    assert {r["variant"] for r in rows} == {"best_eager", "fused"}
    assert all(r["median_ms"] > 0 and r["group"] == "critic loss wasserstein B=64" for r in rows)
    eager = next(r for r in rows if r["variant"] == "best_eager")
    assert eager["speedup_vs_eager"] == 1.0
