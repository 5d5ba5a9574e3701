"""``ganzoo doctor``: what this installation can do, and what is broken."""

from __future__ import annotations

import os
import platform
import sys
from typing import Any

__all__ = ["collect", "render"]


def collect() -> dict[str, Any]:
    """Facts about Python, torch, devices, the extension and the plugins, as plain JSON-able data."""
    import torch

    from ganzoo import __version__
    from ganzoo.ops.extension import extension_status
    from ganzoo.registry import default_registry
    from ganzoo.train.allocator import describe_allocator
    from ganzoo.train.models import native_bf16

    ext = extension_status()
    registry = default_registry()
    devices = [{"type": "cpu", "name": platform.processor() or platform.machine(), "threads": torch.get_num_threads(),
                 "vector_isa": torch.backends.cpu.get_cpu_capability(), "native_bf16": native_bf16(),
                 "malloc": describe_allocator()}]
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(i)
            devices.append({"type": "cuda", "index": i, "name": props.name,
                            "memory_gib": round(props.total_memory / 2**30, 1), "capability": f"{props.major}.{props.minor}"})
    counts: dict[tuple[str, str], dict[str, int]] = {}
    for entry in registry.entries():
        per_kind = counts.setdefault((entry.package, entry.plugin), {})
        per_kind[entry.kind] = per_kind.get(entry.kind, 0) + 1
    return {
        "ganzoo": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "torch": torch.__version__,
        "torch_cuda": torch.version.cuda,
        "devices": devices,
        "extension": {"built": ext.available, "cuda_kernels": ext.with_cuda, "path": ext.path, "status": ext.reason},
        "plugins": [
            {"name": p.name, "package": p.package, "version": p.version, "provides": counts.get((p.package, p.name), {})}
            for p in registry.plugins
        ],
        "failed_plugins": [{"where": f.where, "package": f.package, "version": f.version, "error": f.error}
                           for f in registry.failures],
        "env": {k: v for k, v in os.environ.items() if k.startswith("GANZOO_")},
    }


def render(report: dict[str, Any]) -> str:
    ext = report["extension"]
    if ext["built"]:
        ext_line = (f"built, CPU kernels{' + CUDA kernels' if ext['cuda_kernels'] else ' (no CUDA kernels)'} ({ext['path']}); "
                    "training uses them unless --no-fused")
    else:
        ext_line = f"NOT available: {ext['status']}; fused ops fall back to the PyTorch reference"
    lines = [
        f"ganzoo     {report['ganzoo']}",
        f"python     {report['python']}  ({report['platform']})",
        f"torch      {report['torch']}  (CUDA {report['torch_cuda'] or 'none'})",
        "devices",
    ]
    for d in report["devices"]:
        if d["type"] == "cpu":
            lines.append(f"  cpu      {d['name']}, {d['threads']} threads, {d['vector_isa']}")
            lines.append(f"           malloc: {d['malloc']}")
            if d.get("native_bf16"):
                lines.append(f"           bf16: native ({d['native_bf16']}): --precision auto, dcgan's default, trains "
                             "images in bf16")
            else:
                lines.append("           bf16: not native: --precision auto trains in float32 here")
        else:
            lines.append(f"  cuda:{d['index']}   {d['name']}, {d['memory_gib']} GiB, sm_{d['capability'].replace('.', '')}")
    lines.append(f"extension  {ext_line}")
    lines.append(f"plugins    {len(report['plugins'])} loaded")
    for p in report["plugins"]:
        provides = ", ".join(f"{n} {k}" for k, n in sorted(p["provides"].items())) or "nothing"
        lines.append(f"  {p['package']} {p['version']}: {p['name']} ({provides})")
    if report["failed_plugins"]:
        lines.append(f"failed     {len(report['failed_plugins'])} plugin(s) skipped")
        for f in report["failed_plugins"]:
            lines.append(f"  {f['where']} [{f['package']} {f['version']}]: {f['error']}")
    for key, value in report["env"].items():
        lines.append(f"env        {key}={value}")
    return "\n".join(lines)
