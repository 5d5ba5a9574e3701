"""``ganzoo bench`` runs the real benchmark suite and condenses it (a two-benchmark subset here, to stay fast)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_subprocess


def test_bench_json_subset() -> None:
    proc = run_subprocess(["bench", "--json", "-k", "critic_loss and wasserstein and not 4096"])
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)["rows"]
    assert {r["variant"] for r in rows} == {"best_eager", "fused", "auto"}
    assert all(r["median_ms"] > 0 and r["group"] == "critic loss wasserstein B=64" for r in rows)
    eager = next(r for r in rows if r["variant"] == "best_eager")
    assert eager["speedup_vs_eager"] == 1.0


def test_bench_rejects_a_device_it_cannot_time(run_cli) -> None:
    result = run_cli("bench", "--device", "tpu")
    assert result.exit_code == 1 and "not supported by the benchmark suite" in result.stderr
    assert "Traceback" not in result.stderr


def test_bench_on_cuda_without_a_gpu_says_so(run_cli) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU; benchmarks/gpu_check.sh runs the suite on CUDA")
    result = run_cli("bench", "--device", "cuda")
    assert result.exit_code == 1 and "sees no CUDA device" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_bench_outside_a_source_tree_says_what_it_needs(run_cli, monkeypatch, tmp_path) -> None:
    """An installed package ships no benchmarks/: the command says so in one line instead of failing in pytest."""
    import ganzoo.bench

    monkeypatch.setattr(ganzoo.bench, "_suite_places", lambda: (tmp_path / "site-packages" / "benchmarks",
                                                                 tmp_path / "cwd" / "benchmarks"))
    result = run_cli("bench", "--quick")
    assert result.exit_code == 1 and len(result.stderr.strip().splitlines()) == 1
    assert "run it inside a clone of the repository" in result.stderr


def test_bench_finds_the_suite_in_the_current_folder(monkeypatch, tmp_path) -> None:
    import ganzoo.bench

    (tmp_path / "benchmarks").mkdir()
    (tmp_path / "benchmarks" / "test_bench.py").write_text("")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(ganzoo.bench, "__file__", str(tmp_path / "site-packages" / "ganzoo" / "bench.py"))
    assert ganzoo.bench.suite_dir() == tmp_path / "benchmarks"
