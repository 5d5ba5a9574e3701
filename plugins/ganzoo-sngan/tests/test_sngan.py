"""ganzoo-sngan's own tests: the networks, the spectral norm, the plugin as ganzoo sees it, and a real run.

They run against the installed package (``pip install ./plugins/ganzoo-sngan``), the way a user has it.
"""

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
from ganzoo.errors import ConfigError
from ganzoo.plugins import load_plugins
from ganzoo.registry import build_registry
from ganzoo_sngan import plugin
from ganzoo_sngan.nets import SNConvDiscriminator, SNMLPDiscriminator, build_sngan

DIGITS = ganzoo.DataInfo(kind="images", shape=(1, 16, 16), num_classes=10)
POINTS = ganzoo.DataInfo(kind="points", shape=(2,), num_classes=8)


def ganzoo_cli(*args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ganzoo", *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, **(env or {})}, timeout=600)


def _hparams(**overrides):
    return {**plugin.SNGAN.hyperparameters, **overrides}


@pytest.mark.parametrize("size", [8, 16, 32])
@pytest.mark.parametrize("classes", [0, 10])
def test_conv_networks_make_and_take_images_of_every_size(size: int, classes: int) -> None:
    info = ganzoo.DataInfo(kind="images", shape=(3, size, size), num_classes=classes)
    models = build_sngan(info, _hparams(base_channels=8), classes)
    z = torch.randn(5, models.latent_dim)
    y = torch.randint(10, (5,)) if classes else None
    x = models.generator(z, y)
    assert x.shape == (5, 3, size, size)
    assert x.abs().max() <= 1.0
    assert models.discriminator(x, y).shape == (5,)


def _top_singular_values(module: torch.nn.Module) -> list[float]:
    values = []
    for layer in module.modules():
        if hasattr(layer, "parametrizations"):
            weight = layer.weight  # the normalised weight W / sigma
            values.append(float(torch.linalg.matrix_norm(weight.detach().reshape(weight.shape[0], -1).double(), ord=2)))
    return values


@pytest.mark.parametrize("make", [lambda: SNMLPDiscriminator((2,), 64, 3, num_classes=8),
                                  lambda: SNConvDiscriminator(1, 16, 8, num_classes=10)], ids=["mlp", "conv"])
def test_every_discriminator_weight_has_spectral_norm_one_once_power_iteration_converged(make) -> None:
    torch.manual_seed(0)
    d = make()
    layers = _top_singular_values(d)
    assert len(layers) >= 4  # every weight layer, the projection embedding included
    x = torch.randn(4, *((2,) if isinstance(d, SNMLPDiscriminator) else (1, 16, 16)))
    y = torch.randint(8, (4,))
    before = _top_singular_values(d)
    for _ in range(200):  # one power iteration per training-mode forward pass, as in the paper
        d(x, y)
    after = _top_singular_values(d)
    # The power iteration underestimates sigma, so W / sigma_estimate is >= 1 and converges down to 1.
    assert all(0.999 < s < 1.02 for s in after), after
    assert max(before) > max(after)


def test_mlp_critic_is_one_lipschitz_on_random_pairs() -> None:
    torch.manual_seed(1)
    d = SNMLPDiscriminator((2,), 64, 3)
    warm = torch.randn(8, 2)
    for _ in range(300):
        d(warm)
    d.eval()
    a, b = torch.randn(2000, 2) * 3, torch.randn(2000, 2) * 3
    with torch.no_grad():
        ratio = (d(a) - d(b)).abs() / (a - b).norm(dim=1)
    # Linear layers of norm <= ~1 and LeakyReLU (1-Lipschitz) compose to a ~1-Lipschitz critic; the input gradients of an
    # unconstrained MLP of this size are typically far above 1.
    assert float(ratio.max()) <= 1.02


def test_bad_hyperparameters_are_one_line_config_errors() -> None:
    with pytest.raises(ConfigError, match="base_channels=0 must be a positive integer"):
        build_sngan(DIGITS, _hparams(base_channels=0))
    with pytest.raises(ConfigError, match="leak"):
        build_sngan(POINTS, _hparams(leak=1.5))
    with pytest.raises(ConfigError, match="--image-size"):
        build_sngan(ganzoo.DataInfo(kind="images", shape=(1, 12, 12)), _hparams())


def test_registers_one_architecture_and_one_loss_in_memory() -> None:
    registry = build_registry(load_plugins([(plugin, "ganzoo-sngan", "test")], entry_points=False))
    assert not registry.failures
    assert not lazy_problems(registry.entries())
    assert [(e.kind, e.name) for e in registry.entries()] == [("arch", "sngan"), ("loss", "sngan_hinge")]
    assert registry.get("arch", "sngan").capabilities >= {"lipschitz"}


def test_installed_package_is_listed_with_its_name_and_version() -> None:
    proc = ganzoo_cli("list", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = {(row["kind"], row["name"]): row for row in json.loads(proc.stdout)}
    assert rows[("arch", "sngan")]["package"] == "ganzoo-sngan"
    from ganzoo_sngan import __version__
    assert rows[("loss", "sngan_hinge")]["version"] == __version__


def test_sngan_hinge_is_refused_for_a_critic_without_spectral_norm(tmp_path: Path) -> None:
    proc = ganzoo_cli("train", "--arch", "wgan_gp", "--loss", "sngan_hinge", "--steps", "1", "--out", str(tmp_path / "r"))
    assert proc.returncode != 0
    assert "Lipschitz by construction" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_trains_on_digits_resumes_and_is_scored(tmp_path: Path) -> None:
    run = tmp_path / "sngan-digits"
    proc = ganzoo_cli("train", "--arch", "sngan", "--steps", "20", "--batch-size", "16", "--out", str(run), "--quiet",
                      "--sample-every", "0", "--val-every", "0", "--log-every", "10")
    assert proc.returncode == 0, proc.stderr
    proc = ganzoo_cli("train", "--resume", str(run), "--steps", "30", "--quiet")
    assert proc.returncode == 0, proc.stderr
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines() if '"d_loss"' in line]
    assert steps[-1] == 30
    proc = ganzoo_cli("eval", str(run), "--metric", "swd", "--n", "300", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["step"] == 30 and report["metrics"]["swd"]["score"]["swd"] > 0
