"""ganzoo-pacgan's own tests: the packed critic, the builders, the plugin as ganzoo sees it, and a real run.

They run against the installed package (``pip install ./plugins/ganzoo-pacgan``), the way a user has it.
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
from ganzoo_pacgan import plugin
from ganzoo_pacgan.nets import PackedDiscriminator, build_pac_vanilla, build_pac_wgan_gp

RING = ganzoo.DataInfo(kind="points", shape=(2,), num_classes=8)


def ganzoo_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ganzoo", *args], capture_output=True, text=True, cwd=cwd,
                          env=dict(os.environ), timeout=600)


@pytest.mark.parametrize("pack", [1, 2, 4, 5])
@pytest.mark.parametrize("build", [build_pac_wgan_gp, build_pac_vanilla], ids=["wgan_gp", "vanilla"])
def test_every_sample_gets_the_logit_of_its_pack_of_consecutive_samples(build, pack: int) -> None:
    spec = plugin.PAC_WGAN_GP if build is build_pac_wgan_gp else plugin.PAC_VANILLA
    torch.manual_seed(pack)
    models = build(RING, {**spec.hyperparameters, "pack": pack})
    d = models.discriminator.eval()
    x = torch.randn(4 * pack * 3, 2)
    with torch.no_grad():
        out = d(x)
        per_pack = d.critic(x.reshape(-1, 2 * pack))  # the base's critic on the packs, concatenated in batch order
    assert out.shape == (x.shape[0],)
    torch.testing.assert_close(out, per_pack.repeat_interleave(pack))
    # the critic's first layer takes pack * 2 inputs; the generator is the base's, making 2-D points
    first = next(m for m in d.critic.modules() if isinstance(m, torch.nn.Linear))
    assert first.in_features == 2 * pack
    assert models.generator(torch.randn(7, models.latent_dim)).shape == (7, 2)


def test_a_loss_mean_over_the_batch_is_its_mean_over_the_packs() -> None:
    torch.manual_seed(0)
    d = PackedDiscriminator(torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.LeakyReLU(0.2),
                                                torch.nn.Linear(16, 1), torch.nn.Flatten(0)), pack=4)
    x = torch.randn(32, 2)
    assert torch.allclose(d(x).mean(), d.critic(x.reshape(8, 8)).mean())


def test_a_batch_that_does_not_divide_into_packs_fills_its_last_pack_from_its_own_samples() -> None:
    torch.manual_seed(0)
    d = PackedDiscriminator(torch.nn.Sequential(torch.nn.Linear(8, 1), torch.nn.Flatten(0)), pack=4)
    x = torch.randn(6, 2)
    out = d(x)
    assert out.shape == (6,)
    cycled = x[torch.tensor([0, 1, 2, 3, 4, 5, 0, 1])].reshape(2, 8)
    torch.testing.assert_close(out, d.critic(cycled).repeat_interleave(4)[:6])


def test_bad_settings_are_one_line_config_errors() -> None:
    hp = plugin.PAC_WGAN_GP.hyperparameters
    for bad in (0, -1, 2.5, True, "4"):
        with pytest.raises(ConfigError, match="must be a positive integer"):
            build_pac_wgan_gp(RING, {**hp, "pack": bad})
    with pytest.raises(ConfigError, match="packs 2-D points"):
        build_pac_wgan_gp(ganzoo.DataInfo(kind="images", shape=(1, 8, 8)), hp)
    with pytest.raises(ConfigError, match="unconditional"):
        build_pac_wgan_gp(RING, hp, 8)
    with pytest.raises(ValueError, match="unconditional"):
        build_pac_wgan_gp(RING, hp).discriminator(torch.randn(4, 2), torch.zeros(4, dtype=torch.long))


def test_registers_a_packed_version_of_each_builtin_point_architecture_in_memory() -> None:
    registry = build_registry(load_plugins([(plugin, "ganzoo-pacgan", "test")], entry_points=False))
    assert not registry.failures
    assert not lazy_problems(registry.entries())
    ours = [e.name for e in registry.entries() if e.package == "ganzoo-pacgan"]
    assert ours == ["pac_vanilla", "pac_wgan_gp"]
    from ganzoo.zoo.architectures import VANILLA, WGAN_GP
    for name, original in (("pac_wgan_gp", WGAN_GP), ("pac_vanilla", VANILLA)):
        packed = registry.get("arch", name)
        assert packed.default_loss == original.default_loss and packed.training == original.training
        assert packed.hyperparameters == {**original.hyperparameters, "pack": 4}


def test_installed_package_is_listed_with_its_name_and_version() -> None:
    proc = ganzoo_cli("list", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = {(row["kind"], row["name"]): row for row in json.loads(proc.stdout)}
    from ganzoo_pacgan import __version__
    assert rows[("arch", "pac_wgan_gp")]["package"] == "ganzoo-pacgan"
    assert rows[("arch", "pac_vanilla")]["version"] == __version__


def test_conditional_and_bad_pack_are_refused_on_the_command_line(tmp_path: Path) -> None:
    for args, words in ((["--conditional"], "--conditional is not supported"), (["--set", "pack=0"], "pack=0")):
        proc = ganzoo_cli("train", "--arch", "pac_wgan_gp", "--steps", "1", "--out", str(tmp_path / "r"), *args)
        assert proc.returncode != 0
        assert words in proc.stderr and "Traceback" not in proc.stderr
        assert not (tmp_path / "r").exists()


def test_trains_on_the_ring_resumes_and_is_scored(tmp_path: Path) -> None:
    run = tmp_path / "pac-ring"
    proc = ganzoo_cli("train", "--arch", "pac_wgan_gp", "--steps", "20", "--out", str(run), "--quiet",
                      "--sample-every", "0", "--val-every", "0", "--log-every", "10")
    assert proc.returncode == 0, proc.stderr
    proc = ganzoo_cli("train", "--resume", str(run), "--steps", "30", "--quiet")
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if '"d_loss"' in line]
    assert records[-1]["step"] == 30 and all(r["gp"] >= 0 for r in records)
    proc = ganzoo_cli("eval", str(run), "--metric", "modes", "--n", "500", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["metrics"]["modes"]["score"]["modes"] >= 0
