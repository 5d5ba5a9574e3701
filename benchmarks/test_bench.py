"""The benchmark suite (pytest-benchmark): ``make bench`` or ``ganzoo bench``. Every case runs its variants on the same
inputs in one process, after warm-up; pytest-benchmark reports medians, ``ganzoo bench`` the ratio to eager."""

from __future__ import annotations

import json
import os

import pytest
import torch

from benchmarks.workloads import (
    TAIL_VARIANTS,
    CriticStep,
    TrainingIteration,
    critic_loss_variant,
    make_critic,
)

TAIL_SHAPES = [(256, 2), (64, 3, 64, 64), (16, 3, 256, 256)]


def _note_unsupported(group: str, variant: str, reason: str) -> None:
    """Record a variant that cannot run (``ganzoo bench`` lists these under its table)."""
    path = os.environ.get("GANZOO_BENCH_NOTES")
    if path:
        with open(path, "a") as f:
            f.write(json.dumps({"group": group, "variant": variant, "reason": reason}) + "\n")


def _skip_large(quick: bool, big: bool) -> None:
    if quick and big:
        pytest.skip("--quick: small sizes only")


@pytest.mark.parametrize("shape", TAIL_SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("variant", [*TAIL_VARIANTS, "compiled"])
def test_tail(benchmark, quick: bool, device: str, synced, shape: tuple, variant: str) -> None:
    """Case 1: the penalty tail alone, forward + backward."""
    _skip_large(quick, shape == (16, 3, 256, 256))
    benchmark.group = f"tail {shape}"
    g = torch.randn(shape, device=device, requires_grad=True)
    fn = torch.compile(TAIL_VARIANTS["best_eager"]) if variant == "compiled" else TAIL_VARIANTS[variant]

    def run() -> None:
        g.grad = None
        fn(g).backward()

    run()  # compile / warm up outside the timing
    benchmark.extra_info.update(variant=variant, case="tail", size=str(shape), device=device)
    benchmark(synced(run))


@pytest.mark.parametrize("batch", [64, 4096])
@pytest.mark.parametrize("kind", ["bce", "hinge", "wasserstein"])
@pytest.mark.parametrize("variant", ["best_eager", "fused", "auto"])
def test_critic_loss(benchmark, device: str, synced, batch: int, kind: str, variant: str) -> None:
    """Case 2: the critic loss alone, forward + backward."""
    benchmark.group = f"critic loss {kind} B={batch}"
    real = torch.randn(batch, device=device, requires_grad=True)
    fake = torch.randn(batch, device=device, requires_grad=True)
    fn = critic_loss_variant(variant, kind)

    def run() -> None:
        real.grad = fake.grad = None
        fn(real, fake).backward()

    benchmark.extra_info.update(variant=variant, case="critic_loss", size=f"{kind} B={batch}", device=device)
    benchmark(synced(run))


@pytest.mark.parametrize("critic", ["mlp", "conv32", "conv64"])
@pytest.mark.parametrize("variant", ["official", "best_eager", "batched3", "batched", "fused", "by_hand", "compiled"])
def test_critic_step(benchmark, quick: bool, device: str, synced, critic: str, variant: str) -> None:
    """Case 3: the whole wgan_gp critic step, batch 64."""
    _skip_large(quick, critic == "conv64")
    if variant == "by_hand" and critic != "mlp":
        pytest.skip("by_hand: mlp_critic_grads differentiates MLP critics (Linear + LeakyReLU) only")
    benchmark.group = f"critic step {critic}"
    benchmark.extra_info.update(variant=variant, case="critic_step", size=critic, device=device)
    D, real, fake = make_critic(critic, device)
    step = CriticStep(D, real, fake, "best_eager" if variant == "compiled" else variant)
    if variant == "compiled":
        compiled = torch.compile(step.__call__)
        try:
            compiled()
        except Exception as exc:  # torch.compile cannot compile a double backward: record it, don't hide it
            reason = " ".join(str(exc).split())[:200]
            _note_unsupported(f"critic step {critic}", variant, f"{type(exc).__name__}: {reason}")
            pytest.skip(f"torch.compile unsupported: {type(exc).__name__}: {reason}")
        step = compiled
    rounds = 3 if critic == "conv64" else None
    if rounds:
        benchmark.pedantic(synced(step), rounds=rounds, warmup_rounds=1)
    else:
        benchmark(synced(step))


@pytest.mark.parametrize("variant", ["best_eager", "fused", "by_hand", "lazy4"])
def test_training_iteration(benchmark, device: str, synced, variant: str) -> None:
    """Case 4: a full wgan_gp training iteration on 2-D points (5 critic steps + 1 generator step, batch 256).

    "lazy4" is an algorithmic change (the penalty on every 4th critic update, weighted by 4), reported as its own row,
    not as a fused speed-up."""
    benchmark.group = "training iteration (ring MLP)"
    it = TrainingIteration(variant, device=device)
    benchmark.extra_info.update(variant=variant, case="training_iteration", size="mlp 3x128 B=256", device=device,
                                samples_per_iteration=it.batch * it.n_critic)
    benchmark(synced(it))


# progan's generator at 32x32 (batch 64: 32 channels at 32x32, 64 at 16x16), in the layouts and dtypes it trains in
PIXEL_NORM_CASES = {"64x32x32x32 bf16 channels_last": ((64, 32, 32, 32), torch.bfloat16, True),
                    "64x32x32x32 fp32 channels_last": ((64, 32, 32, 32), torch.float32, True),
                    "64x64x16x16 fp32 contiguous": ((64, 64, 16, 16), torch.float32, False)}


@pytest.mark.parametrize("case", list(PIXEL_NORM_CASES))
@pytest.mark.parametrize("variant", ["best_eager", "fused", "compiled"])
def test_leaky_pixel_norm(benchmark, device: str, synced, case: str, variant: str) -> None:
    """Case 5: LeakyReLU + pixel norm (progan's generator after every conv), forward + backward."""
    from ganzoo.ops import leaky_pixel_norm, leaky_pixel_norm_ref

    benchmark.group = f"leaky pixel norm {case}"
    shape, dtype, channels_last = PIXEL_NORM_CASES[case]
    x = torch.randn(shape, device=device, dtype=dtype)
    x = x.contiguous(memory_format=torch.channels_last) if channels_last else x
    x.requires_grad_(True)
    grad = torch.randn_like(x)
    fns = {"best_eager": leaky_pixel_norm_ref, "compiled": torch.compile(leaky_pixel_norm_ref),
           "fused": lambda t: leaky_pixel_norm(t, impl="ext")}
    fn = fns[variant]

    def run() -> None:
        x.grad = None
        fn(x).backward(grad)

    run()  # compile / warm up outside the timing
    benchmark.extra_info.update(variant=variant, case="leaky_pixel_norm", size=case, device=device)
    benchmark(synced(run))
