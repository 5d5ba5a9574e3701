"""ganzoo-lsgan's own tests: the loss on known values, the spiral dataset, the energy distance on closed forms, and a
run that uses all three through ganzoo's CLI. They run against the installed package."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import ganzoo
from ganzoo.check_plugin import lazy_problems
from ganzoo.errors import DataError
from ganzoo.plugins import load_plugins
from ganzoo.registry import build_registry
from ganzoo_lsgan import plugin
from ganzoo_lsgan.data import load_spiral
from ganzoo_lsgan.losses import discriminator_loss, generator_loss
from ganzoo_lsgan.metrics import compute_energy, energy_distance


def ganzoo_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ganzoo", *args], capture_output=True, text=True, env=dict(os.environ),
                          timeout=600)


# ------------------------------------------------------------------------------------------------------------- loss
def test_loss_is_zero_at_its_targets_and_matches_the_formula() -> None:
    assert float(discriminator_loss(torch.ones(4), torch.zeros(4))) == 0.0
    assert float(generator_loss(torch.ones(4))) == 0.0
    real, fake = torch.tensor([0.0, 2.0]), torch.tensor([1.0, -3.0])
    # 0.5 * mean((0-1)^2, (2-1)^2) + 0.5 * mean(1^2, 3^2) = 0.5 + 2.5
    assert float(discriminator_loss(real, fake)) == pytest.approx(3.0)
    assert float(generator_loss(fake)) == pytest.approx(0.5 * (0.0 + 16.0) / 2)
    assert float(discriminator_loss(torch.full((3,), 0.9), torch.zeros(3), label_smoothing=0.1)) == pytest.approx(0.0)


def test_loss_gradients_match_the_closed_form_in_float64() -> None:
    real = torch.randn(7, dtype=torch.float64, requires_grad=True)
    fake = torch.randn(5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(discriminator_loss, (real, fake))
    assert torch.autograd.gradcheck(generator_loss, (fake,))
    discriminator_loss(real, fake).backward()
    # d/dr 0.5 mean (r - 1)^2 = (r - 1) / n
    torch.testing.assert_close(real.grad, (real.detach() - 1) / 7)


def test_half_precision_logits_are_reduced_in_float32() -> None:
    logits = torch.full((4096,), 3.0, dtype=torch.bfloat16)
    assert discriminator_loss(logits, logits).dtype == torch.float32
    assert float(generator_loss(logits)) == pytest.approx(2.0)


def test_bad_label_smoothing_is_refused() -> None:
    with pytest.raises(ValueError, match="label_smoothing"):
        discriminator_loss(torch.ones(2), torch.zeros(2), label_smoothing=1.0)


# ---------------------------------------------------------------------------------------------------------- dataset
def test_spiral_is_seeded_with_disjoint_splits_and_labelled_arms() -> None:
    a = load_spiral(ganzoo.DataRequest(seed=3, options={"n": 1000}))
    b = load_spiral(ganzoo.DataRequest(seed=3, options={"n": 1000}))
    val = load_spiral(ganzoo.DataRequest(seed=3, split="val", options={"n": 1000}))
    assert torch.equal(a.x, b.x) and not torch.equal(a.x, val.x)
    assert a.x.shape == (1000, 2) and a.x.dtype == torch.float32
    assert set(a.y.tolist()) == {0, 1, 2} and a.info.num_classes == 3
    assert float(a.x.norm(dim=1).max()) < 1.1
    five = load_spiral(ganzoo.DataRequest(options={"n": 500, "arms": 5}))
    assert five.info.num_classes == 5 and int(five.y.max()) == 4


@pytest.mark.parametrize("options, message", [({"arms": 0}, "arms=0"), ({"n": "many"}, "n='many'"),
                                              ({"n": True}, "n=True")])
def test_spiral_rejects_bad_options_with_the_fix(options: dict, message: str) -> None:
    with pytest.raises(DataError, match=message):
        load_spiral(ganzoo.DataRequest(options=options))


# ----------------------------------------------------------------------------------------------------------- metric
def test_energy_distance_of_point_masses_is_twice_their_distance() -> None:
    x, y = torch.zeros(50, 2), torch.tensor([[3.0, 4.0]]).repeat(40, 1)
    assert energy_distance(x, y) == pytest.approx(2 * 5.0)
    assert energy_distance(x, x) == pytest.approx(0.0)


def test_energy_distance_of_two_samples_of_one_law_is_near_zero_and_grows_with_a_shift() -> None:
    gen = torch.Generator().manual_seed(0)
    a, b = torch.randn(2000, 2, generator=gen), torch.randn(2000, 2, generator=gen)
    same = energy_distance(a, b)
    shifted = [energy_distance(a, b + torch.tensor([s, 0.0])) for s in (0.25, 0.5, 1.0)]
    assert abs(same) < 0.01
    assert same < shifted[0] < shifted[1] < shifted[2]
    assert energy_distance(a, b + 1) == pytest.approx(energy_distance(b + 1, a))


def test_energy_metric_subsamples_deterministically_from_the_seed() -> None:
    info = ganzoo.DataInfo(kind="points", shape=(2,))
    fake, real = torch.randn(6000, 2), torch.randn(6000, 2) + 0.5
    first = compute_energy(ganzoo.MetricInput(fake=fake, real=real, info=info, seed=1))
    again = compute_energy(ganzoo.MetricInput(fake=fake, real=real, info=info, seed=1))
    assert first == again and first["energy"] > 0.05


# ----------------------------------------------------------------------------------------------------------- plugin
def test_registers_a_loss_a_dataset_and_a_metric() -> None:
    registry = build_registry(load_plugins([(plugin, "ganzoo-lsgan", "test")], entry_points=False))
    assert not registry.failures
    assert not lazy_problems(registry.entries())
    assert [(e.kind, e.name) for e in registry.entries()] == [("loss", "lsgan"), ("dataset", "spiral"),
                                                               ("metric", "energy")]


def test_lsgan_on_the_spiral_validated_and_scored_with_energy(tmp_path: Path) -> None:
    run = tmp_path / "lsgan-spiral"
    proc = ganzoo_cli("train", "--arch", "vanilla", "--loss", "lsgan", "--dataset", "spiral", "--steps", "40",
                      "--val-metric", "energy", "--val-every", "20", "--out", str(run), "--quiet", "--sample-every", "0")
    assert proc.returncode == 0, proc.stderr
    proc = ganzoo_cli("eval", str(run), "--metric", "energy", "--n", "500", "--json")
    assert proc.returncode == 0, proc.stderr
    scored = json.loads(proc.stdout)["metrics"]["energy"]
    # the floor (real training points against held-out ones) is near 0; 40 steps of training are far from it
    assert abs(scored["floor"]["energy"]) < scored["score"]["energy"]
