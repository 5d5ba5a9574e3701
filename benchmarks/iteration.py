"""Whole training iterations, ganzoo against the plain eager peer (benchmarks/peer.py), timed in alternation.

    python -m benchmarks.iteration                      # both workloads, 5 rounds
    python -m benchmarks.iteration --workload ring --rounds 7 --variants ganzoo ganzoo_unfused peer

Each round runs every variant once, in a rotated order, on the same networks (same initial weights), data and settings
as ``ganzoo train`` with validation and pictures off. Each run is a process of its own (a warm-up run of a few steps,
then the timed one), so nothing one variant does to its process (malloc's settings, thread pools, oneDNN's caches)
reaches another. ganzoo's time is its training loop alone (from the progress sink's
start to its close: no start-up, config or loss-curve writing); the peer's is its loop. The table gives each variant's
median seconds per step and, per round, the peer's time over the variant's (above 1: faster than the peer): the median
of those ratios with their min-max spread, which survives the 2-3x swings of a shared machine better than ratios of
variants timed one after another.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Optional
from unittest import mock

import torch

WORKLOADS: dict[str, dict[str, Any]] = {
    # ganzoo train --arch wgan_gp (ring: MLPs 3x128, latent 2, batch 256, Adam 1e-4 (0.5, 0.9), lambda 0.1, n_critic 5)
    "ring": {"options": {"arch": "wgan_gp", "dataset": "ring"}, "steps": 200},
    # ganzoo train --arch wgan_gp --dataset digits --image-size 16 (conv critic, batch 64, lambda 10, n_critic 5)
    "digits": {"options": {"arch": "wgan_gp", "dataset": "digits", "image_size": 16}, "steps": 20},
    # the image issue's two peers at 32x32, batch 64: pytorch/examples' DCGAN loop (BCE, one critic update a step) and a
    # plain WGAN-GP conv loop (the conv critic, lambda 10, n_critic 5)
    # (dcgan's own defaults add augmentation and, on a CPU with native bf16, bf16: both pinned off here, so that "ganzoo"
    # is the peer's maths in float32 and "ganzoo_bf16" the same with bf16)
    "dcgan32": {"options": {"arch": "dcgan", "dataset": "digits", "image_size": 32, "batch_size": 64,
                            "precision": "fp32", "augment": "none"}, "steps": 100},
    "wgan_gp32": {"options": {"arch": "wgan_gp", "dataset": "digits", "image_size": 32, "batch_size": 64}, "steps": 10},
}
OFF = {"val_every": 0, "sample_every": 0}


class _LoopTimer:
    """A progress sink that times the training loop: from ``start`` to ``close``."""

    def start(self, total: int, initial: int) -> None:
        self.began = time.perf_counter()

    def update(self, step: int, record: Optional[dict[str, Any]]) -> None:
        pass

    def close(self) -> None:
        if torch.cuda.is_available():
            torch.cuda.synchronize()  # queued GPU work belongs to the loop's time
        self.seconds = time.perf_counter() - self.began


@dataclass
class Workload:
    name: str
    options: dict[str, Any]
    steps: int
    device: str = "cpu"
    sets: tuple[str, ...] = ()  # --set KEY=VALUE items (hyper-parameters)

    def resolved(self, **extra: Any):  # noqa: ANN201
        from ganzoo.registry import default_registry
        from ganzoo.train.config import resolve_config

        return resolve_config(default_registry(),
                              {**self.options, **OFF, "steps": self.steps, "device": self.device, **extra}, self.sets)

    def run_ganzoo(self, fused: bool = True, **extra: Any) -> float:
        from ganzoo.train import train

        timer = _LoopTimer()
        with tempfile.TemporaryDirectory() as tmp:  # malloc as `ganzoo train` sets it (GANZOO_ALLOCATOR=system: as it is)
            train(self.resolved(fused=fused, **extra), Path(tmp) / "run", progress=timer, tune_malloc=True)
        return timer.seconds

    def run_peer(self) -> float:
        from benchmarks.peer import PeerSettings, peer_networks, train_dcgan_peer, train_peer
        from ganzoo.data import load_dataset
        from ganzoo.train.config import data_request

        resolved = self.resolved()
        cfg = resolved.config
        data = load_dataset(resolved.dataset, data_request(cfg))
        torch.manual_seed(cfg.seed)  # the initial weights ganzoo's run starts from
        models = resolved.arch.build(data.info, dict(cfg.hparams), 0)
        G, D = (network.to(self.device) for network in peer_networks(models.generator, models.discriminator))
        weight = resolved.penalty.weight if resolved.penalty is not None else 0.0
        settings = PeerSettings(steps=cfg.steps, batch_size=cfg.batch_size, n_critic=cfg.n_critic, penalty_weight=weight,
                                lr=cfg.lr_d, betas=tuple(cfg.betas), latent_dim=models.latent_dim, seed=cfg.seed,
                                device=self.device)
        loop = train_dcgan_peer if resolved.loss.kind == "bce" and resolved.penalty is None else train_peer
        x = data.x.to(self.device)
        began = time.perf_counter()
        loop(G, D, x, settings)  # ends in float(loss): a host sync, so queued GPU work is inside the time
        return time.perf_counter() - began


def _without(target: str, value: Any, call: bool = True) -> Callable[[Workload], float]:
    """ganzoo with one of its choices switched off (``target``, a dotted name, replaced by a function returning
    ``value``, or by ``value`` itself when not ``call``): each speed change measured on its own, against the same build,
    in the same alternation."""

    def run(w: Workload) -> float:
        with mock.patch(target, (lambda *args, **kwargs: value) if call else value):
            return w.run_ganzoo(fused=True)

    return run


VARIANTS: dict[str, Callable[[Workload], float]] = {
    "ganzoo": lambda w: w.run_ganzoo(fused=True),
    "ganzoo_unfused": lambda w: w.run_ganzoo(fused=False),
    # the networks under bf16 autocast (--precision bf16): fast where the CPU multiplies bf16 natively (AMX, avx512_bf16)
    "ganzoo_bf16": lambda w: w.run_ganzoo(fused=True, precision="bf16"),
    # the MLP critic's gradients by autograd's double backward instead of mlp_critic_grads
    "ganzoo_double_backward": _without("ganzoo.train.models._critic_layers", None),
    # image networks in NCHW instead of channels_last
    "ganzoo_nchw": _without("ganzoo.train.models.channels_last_pays", False),
    # the DCGAN generator's first and one-channel last layer as oneDNN deconvolutions instead of matrix products
    "ganzoo_deconv": _without("ganzoo.nets.ConvGenerator.matrix_layers", False, call=False),
    # ganzoo with glibc's malloc as it comes (ganzoo.train.allocator not applied)
    "ganzoo_system_malloc": lambda w: w.run_ganzoo(fused=True),
    "peer": lambda w: w.run_peer(),
    # the peer with malloc set up as ganzoo sets it, through glibc's environment variables
    "peer_tuned_malloc": lambda w: w.run_peer(),
}


def _variant_env(variant: str) -> dict[str, str]:
    from ganzoo.train.allocator import ENV, MMAP_THRESHOLD, TRIM_THRESHOLD

    if variant == "ganzoo_system_malloc":
        return {ENV: "system"}
    if variant == "peer_tuned_malloc":
        return {"MALLOC_MMAP_THRESHOLD_": str(MMAP_THRESHOLD), "MALLOC_TRIM_THRESHOLD_": str(TRIM_THRESHOLD)}
    return {}


WARM_UP_STEPS = 3


def run_in_own_process(workload: Workload, variant: str) -> float:
    """One timed run of ``variant`` in a fresh Python process, after a warm-up run there (imports, oneDNN's primitive
    caches and first-call costs off the clock)."""
    command = [sys.executable, "-m", "benchmarks.iteration", "--child", variant, "--workload", workload.name,
               "--steps", str(workload.steps), "--device", workload.device]
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, **_variant_env(variant), "PYTHONPATH": os.pathsep.join(
        p for p in (str(root), os.environ.get("PYTHONPATH", "")) if p)}
    done = subprocess.run(command, env=env, cwd=root, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{variant} on {workload.name} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])["seconds"]


def _child(variant: str, workload: Workload) -> None:
    VARIANTS[variant](replace(workload, steps=WARM_UP_STEPS))  # every other field kept, --set items included
    print(json.dumps({"seconds": VARIANTS[variant](workload)}), flush=True)


def measure(workload: Workload, variants: list[str], rounds: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {v: [] for v in variants}
    for r in range(rounds):
        order = variants[r % len(variants):] + variants[:r % len(variants)]
        for variant in order:
            times[variant].append(run_in_own_process(workload, variant))
    return times


def table(workload: Workload, times: dict[str, list[float]]) -> str:
    lines = [f"{workload.name}: {workload.steps} steps a run, {len(next(iter(times.values())))} rounds in alternation",
             f"  {'variant':<24} {'ms/step':>9}   {'peer / variant':>16}  (median, min-max of per-round ratios)"]
    peer = times.get("peer")
    for variant, seconds in times.items():
        per_step = statistics.median(seconds) / workload.steps * 1e3
        ratio = ""
        if peer and variant != "peer":
            ratios = [p / s for p, s in zip(peer, seconds)]
            ratio = f"{statistics.median(ratios):.2f}x ({min(ratios):.2f}-{max(ratios):.2f})"
        lines.append(f"  {variant:<24} {per_step:>9.2f}   {ratio:>16}")
    return "\n".join(lines)


def main(argv: Optional[list[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workload", choices=sorted(WORKLOADS), nargs="*", default=sorted(WORKLOADS, reverse=True))
    parser.add_argument("--variants", nargs="*", default=["ganzoo", "peer"], choices=sorted(VARIANTS))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, help="generator steps a run (default: the workload's)")
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda: both loops run there")
    parser.add_argument("--child", choices=sorted(VARIANTS), help=argparse.SUPPRESS)  # one run, in its own process
    args = parser.parse_args(argv)
    import warnings

    warnings.simplefilter("ignore")  # "fused kernels unavailable" and the like are the suite's business, not this table's
    for name in args.workload:
        spec = WORKLOADS[name]
        workload = Workload(name, spec["options"], args.steps or spec["steps"], args.device)
        if args.child:
            _child(args.child, workload)
            continue
        print(table(workload, measure(workload, args.variants, args.rounds)), flush=True)


if __name__ == "__main__":
    main()
