"""``ganzoo bench``: run the pytest-benchmark suite in benchmarks/ and condense it into one table (median and ratio to
eager per case). The suite lives in the source tree, not the installed package: it is found beside the package (an
editable install) or in the current folder (a clone), else the command says so in one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Optional

from ganzoo.errors import ConfigError

__all__ = ["run_suite", "table", "suite_dir"]

BASELINE = ("best_eager", "official")


def _suite_places() -> tuple[Path, ...]:
    # beside the package (an editable install of a clone), then the folder the command runs in (a clone, whatever
    # ganzoo is installed from)
    return Path(__file__).resolve().parent.parent / "benchmarks", Path.cwd() / "benchmarks"


def suite_dir() -> Path:
    for folder in _suite_places():
        if (folder / "test_bench.py").is_file():
            return folder
    raise ConfigError("ganzoo bench runs the suite in benchmarks/ of ganzoo's source tree, which an installed package "
                      "does not ship: run it inside a clone of the repository (pip install -e '.[dev]' there)")


def run_suite(quick: bool = False, select: Optional[str] = None,
              device: str = "cpu") -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """Run the suite in a subprocess; return one row per benchmark and the variants that could not run."""
    try:
        import pytest_benchmark  # noqa: F401
    except ImportError:
        raise ConfigError("ganzoo bench needs pytest-benchmark: pip install -e '.[dev]'") from None
    folder = suite_dir()
    if device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise ConfigError(f"--device {device}: this torch ({torch.__version__}) sees no CUDA device; "
                              "run the suite on the CPU or install a CUDA build of torch")
    with tempfile.TemporaryDirectory() as tmp:
        out, notes_path = Path(tmp) / "bench.json", Path(tmp) / "notes.jsonl"
        cmd = [sys.executable, "-m", "pytest", str(folder / "test_bench.py"), "-q", "-p", "no:cacheprovider",
               f"--benchmark-json={out}", "--benchmark-disable-gc", "--benchmark-min-rounds=5",
               "--benchmark-max-time=0.5", "--benchmark-warmup=on"]
        if quick:
            cmd.append("--quick")
        cmd.append(f"--device={device}")
        if select:
            cmd += ["-k", select]
        proc = subprocess.run(cmd, cwd=folder.parent, capture_output=True, text=True,
                              env={**os.environ, "GANZOO_BENCH_NOTES": str(notes_path)})
        if proc.returncode not in (0, 5) or not out.exists():
            tail = " ".join((proc.stdout + proc.stderr).strip().splitlines()[-3:])
            raise ConfigError(f"the benchmark suite failed (exit {proc.returncode}): {tail[:300]}")
        data = json.loads(out.read_text())
        notes = [json.loads(line) for line in notes_path.read_text().splitlines()] if notes_path.exists() else []
    rows = []
    for b in data["benchmarks"]:
        info = b.get("extra_info", {})
        rows.append({"group": b["group"], "case": info.get("case"), "variant": info.get("variant"),
                     "median_ms": b["stats"]["median"] * 1e3, "rounds": b["stats"]["rounds"],
                     "samples_per_iteration": info.get("samples_per_iteration")})
    for group in {r["group"] for r in rows}:
        members = [r for r in rows if r["group"] == group]
        base = next((r for name in BASELINE for r in members if r["variant"] == name), None)
        for r in members:
            r["speedup_vs_eager"] = base["median_ms"] / r["median_ms"] if base else None
            if r["samples_per_iteration"]:
                r["samples_per_s"] = r["samples_per_iteration"] / (r["median_ms"] / 1e3)
    rows.sort(key=lambda r: (r["group"], r["median_ms"]))
    return rows, notes


def table(rows: list[dict[str, Any]]) -> str:
    lines = [f"{'case':<34} {'variant':<11} {'median':>11} {'vs eager':>9}  note"]
    for r in rows:
        ms = r["median_ms"]
        median = f"{ms * 1e3:.1f} us" if ms < 1 else f"{ms:.2f} ms"
        ratio = f"{r['speedup_vs_eager']:.2f}x" if r.get("speedup_vs_eager") else ""
        note = f"{r['samples_per_s']:.0f} samples/s" if r.get("samples_per_s") else ""
        lines.append(f"{r['group']:<34} {r['variant']:<11} {median:>11} {ratio:>9}  {note}".rstrip())
    lines.append("vs eager: the 'best_eager' variant's median over this one's (above 1 = faster than eager)")
    return "\n".join(lines)
