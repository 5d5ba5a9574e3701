"""Relativistic losses in training: the generator step scores real data with the current critic, only for a loss that
asks (``Loss.generator_takes_real``), and ragan trains with the vanilla and the WGAN-GP architectures."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from ganzoo.ops import losses as op_losses
from ganzoo.train.run import read_metrics
from tests.train.helpers import tiny_run


@pytest.mark.parametrize("arch", ["vanilla", "wgan_gp"])
def test_ragan_trains_and_its_generator_sees_the_critics_real_scores(tmp_path: Path, arch: str,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import types

    from ganzoo import Loss, hookimpl
    from tests.conftest import make_registry
    from tests.train import helpers

    seen = []

    def generator(fake, real):  # ragan's generator loss, recording what the trainer hands it
        seen.append((tuple(fake.shape), tuple(real.shape), fake.requires_grad, real.requires_grad))
        return op_losses.relativistic_generator_loss("bce", fake, real)

    def register_losses(register):
        register(Loss(name="spyragan", description="ragan, recording the generator's inputs",
                      discriminator=lambda r, f, **kw: op_losses.relativistic_discriminator_loss("bce", r, f),
                      generator=generator, generator_takes_real=True))

    plugin = types.SimpleNamespace(register_losses=hookimpl(register_losses), __name__="spy_plugin")
    registry = make_registry((plugin, "ganzoo-spy", "0.0"))
    monkeypatch.setattr(helpers, "default_registry", lambda: registry)
    tiny_run(tmp_path / "spy", arch, "ring", steps=4, loss="spyragan")
    assert seen == [((32,), (32,), True, False)] * 4  # once per generator step; real scores carry no gradient
    monkeypatch.undo()
    tiny_run(tmp_path / "run", arch, "ring", steps=4, loss="ragan")  # the built-in
    records = [r for r in read_metrics(tmp_path / "run") if "g_loss" in r]
    assert records and all(math.isfinite(r["g_loss"]) and math.isfinite(r["d_loss"]) for r in records)


def test_a_loss_that_takes_real_scores_without_a_real_batch_is_refused() -> None:
    from ganzoo.registry import default_registry
    from ganzoo.train.steps import generator_step

    loss = default_registry().get("loss", "rahinge")
    assert loss.generator_takes_real and not default_registry().get("loss", "hinge").generator_takes_real
    with pytest.raises(ValueError, match="scores real data in the generator step"):
        generator_step(_FakeNets(), loss, torch.Generator(), _world(), 4, 0, 1)


def _world():
    from ganzoo.train.distributed import World

    return World()


class _FakeNets:
    """Just enough of Networks for generator_step to reach the loss."""

    latent_dim, device = 2, torch.device("cpu")

    def __init__(self) -> None:
        self.G = self.G_ddp = torch.nn.Linear(2, 2)
        self.D = torch.nn.Sequential(torch.nn.Linear(2, 1), torch.nn.Flatten(0))
        self.D.forward = lambda x, y=None: torch.nn.Sequential.forward(self.D, x)  # type: ignore[method-assign]
        self.G_ddp = lambda z, y=None: self.G(z)

    @staticmethod
    def autocast():
        import contextlib

        return contextlib.nullcontext()
