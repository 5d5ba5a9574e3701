"""The non-finite guard's rollback snapshot on a conv model: memory held, peak memory while taking it, time per take.

    python -m benchmarks.guard_snapshot [--arch dcgan] [--image-size 32] [--rounds 3] [--takes 20]

Each variant runs in a fresh process (so that its peak resident memory is its own), in alternation A B A B:
``deepcopy`` is the guard before issue 28 (a deep copy of every state dict at every passing check), ``in_place`` the
guard's ``Snapshot`` (buffers allocated once, overwritten in place). Both snapshot the networks that training builds
for ``--arch`` on digits at ``--image-size`` and their Adam state after one update. On a CUDA machine add
``--device cuda`` to see the GPU memory each holds (``in_place`` keeps its copy in pinned CPU memory).
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

VARIANTS = ("deepcopy", "in_place")


def _status_kb(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def measure(variant: str, arch: str, image_size: int, takes: int, device_name: str) -> dict:
    import torch

    from ganzoo.registry import default_registry
    from ganzoo.train import distributed
    from ganzoo.train.batches import TrainingData
    from ganzoo.train.config import resolve_config
    from ganzoo.train.guard import Snapshot
    from ganzoo.train.models import build_networks
    from ganzoo.train.state import TrainState

    device = torch.device(device_name)
    resolved = resolve_config(default_registry(), {"arch": arch, "dataset": "digits", "image_size": image_size,
                                                   "device": device_name})
    data = TrainingData.load(resolved, device)
    nets = build_networks(resolved.arch, resolved.config, data.info, device, data.num_classes, distributed.World())
    networks = {k: v for k, v in nets.modules().items() if v is not None}
    optimizers = nets.optimizers()
    for opt in optimizers.values():  # Adam's state exists after the first update: give it one
        for group in opt.param_groups:
            for p in group["params"]:
                p.grad = torch.zeros_like(p)
        opt.step()
    state = TrainState()
    live = [t for m in networks.values() for t in m.state_dict().values()]
    live += [v for o in optimizers.values() for s in o.state.values() for v in s.values() if torch.is_tensor(v)]
    model_bytes = sum(t.numel() * t.element_size() for t in live)

    Path("/proc/self/clear_refs").write_text("5")  # resets the peak resident size (VmHWM) to the current one
    before_kb = _status_kb("VmRSS")
    gpu_before = torch.cuda.memory_allocated() if device.type == "cuda" else 0
    times = []
    snapshot = Snapshot(device) if variant == "in_place" else None
    kept = None
    for _ in range(takes):
        started = time.perf_counter()
        if snapshot is not None:
            snapshot.take(networks, optimizers, state)
        else:  # what the guard did before
            kept = {"networks": {k: copy.deepcopy(m.state_dict()) for k, m in networks.items()},
                    "optimizers": {k: copy.deepcopy(o.state_dict()) for k, o in optimizers.items()},
                    "state": {k: copy.deepcopy(getattr(state, k)) for k in TrainState.ROLLBACK_FIELDS}}
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - started)
    held_kb = _status_kb("VmRSS") - before_kb
    peak_kb = _status_kb("VmHWM") - before_kb
    del kept
    return {"variant": variant, "model_and_optimizer_mb": model_bytes / 2**20,
            "held_mb": held_kb / 1024, "peak_mb": peak_kb / 1024,
            "gpu_held_mb": ((torch.cuda.memory_allocated() - gpu_before) / 2**20) if device.type == "cuda" else 0.0,
            "first_take_ms": times[0] * 1e3, "median_take_ms": statistics.median(times[1:]) * 1e3}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", default="dcgan")
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--takes", type=int, default=20)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--one", choices=VARIANTS, help=argparse.SUPPRESS)  # a single measurement, in this process
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one, args.arch, args.image_size, args.takes, args.device)))
        return
    rows = []
    for _ in range(args.rounds):
        for variant in VARIANTS:
            done = subprocess.run([sys.executable, "-m", "benchmarks.guard_snapshot", "--one", variant, "--arch",
                                   args.arch, "--image-size", str(args.image_size), "--takes", str(args.takes),
                                   "--device", args.device], capture_output=True, text=True, check=True)
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(f"{args.arch} on digits {args.image_size}x{args.image_size}, {args.device}, {args.takes} takes per process, "
          f"variants alternated over {args.rounds} rounds")
    print(f"{'variant':<10} {'model+opt MB':>12} {'held MB':>8} {'peak MB':>8} {'GPU MB':>7} {'1st ms':>7} {'median ms':>9}")
    for r in rows:
        print(f"{r['variant']:<10} {r['model_and_optimizer_mb']:>12.1f} {r['held_mb']:>8.1f} {r['peak_mb']:>8.1f} "
              f"{r['gpu_held_mb']:>7.1f} {r['first_take_ms']:>7.2f} {r['median_take_ms']:>9.2f}")


if __name__ == "__main__":
    main()
