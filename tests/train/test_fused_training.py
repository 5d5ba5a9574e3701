"""The fused ops inside real training: through D's double backward, and a run with and without them."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ganzoo.nets import ConvDiscriminator
from ganzoo.ops import critic_tail, discriminator_loss_ref, gradient_penalty_ref, mlp_critic_grads
from ganzoo.train import steps
from ganzoo.train.run import read_metrics
from tests.train.helpers import tiny_run


def _critic_grads(fused: bool, dtype: torch.dtype) -> list[torch.Tensor]:
    torch.manual_seed(0)
    D = ConvDiscriminator(3, 16, 8, norm="layer").to(dtype)
    gen = torch.Generator().manual_seed(1)
    real = torch.randn(8, 3, 16, 16, generator=gen, dtype=dtype)
    fake = torch.randn(8, 3, 16, 16, generator=gen, dtype=dtype)
    eps = torch.rand(8, 1, 1, 1, generator=gen, dtype=dtype)
    x_hat = torch.lerp(fake, real, eps).requires_grad_(True)
    (g,) = torch.autograd.grad(D(x_hat).sum(), x_hat, create_graph=True)
    d_real, d_fake = D(real), D(fake)
    if fused:
        loss, _ = critic_tail(d_real, d_fake, g, "wasserstein", "two_sided", 10.0, 1.0, impl="ext")
    else:
        loss = discriminator_loss_ref("wasserstein", d_real, d_fake) + gradient_penalty_ref(g, "two_sided", 10.0, 1.0)
    loss.backward()
    return [p.grad.clone() for p in D.parameters()]


@pytest.mark.parametrize("dtype, rtol", [(torch.float32, 1e-5), (torch.float64, 1e-12)])
def test_conv_critic_parameter_gradients_match_eager_through_the_double_backward(dtype, rtol) -> None:
    fused, eager = _critic_grads(True, dtype), _critic_grads(False, dtype)
    for a, b in zip(fused, eager):
        scale = b.abs().max().item()
        torch.testing.assert_close(a, b, rtol=rtol, atol=rtol * scale)


@pytest.mark.parametrize("arch, options", [
    ("wgan_gp", {}),  # MLP critic: the hand-derived gradients (mlp_critic_grads) against the double backward
    ("wgan_gp", {"penalty_every": 2, "grad_clip": 0.5}),
    ("vanilla", {"label_smoothing": 0.1}),  # bce, no penalty
    ("wgan_gp", {"dataset": "digits"}),  # conv critic: the fused tail through the double backward, channels_last
], ids=["wgan_gp", "lazy+clip", "vanilla", "digits"])
def test_training_with_and_without_fused_ops_gives_the_same_losses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                   arch: str, options: dict) -> None:
    by_hand = []
    monkeypatch.setattr(steps, "mlp_critic_grads", lambda *a, **k: by_hand.append(1) or mlp_critic_grads(*a, **k))
    options = {"dataset": "ring", **options}
    tiny_run(tmp_path / "fused", arch, steps=4, fused=True, **options)
    updates = 0 if options["dataset"] == "digits" else 4 * {"wgan_gp": 5, "vanilla": 1}[arch]  # 4 steps of n_critic
    assert len(by_hand) == updates  # every critic update of an MLP critic
    tiny_run(tmp_path / "ref", arch, steps=4, fused=False, **options)
    assert len(by_hand) == updates  # --no-fused: the double backward
    fused = [r for r in read_metrics(tmp_path / "fused") if "d_loss" in r]
    ref = [r for r in read_metrics(tmp_path / "ref") if "d_loss" in r]
    assert len(fused) == len(ref) == 2
    for a, b in zip(fused, ref):
        assert a.keys() == b.keys()
        for key in ("d_loss", "g_loss", "gp", "d_real", "d_fake"):
            if key in b:
                assert a[key] == pytest.approx(b[key], rel=1e-4, abs=1e-5), key


def test_the_hand_derived_critic_step_is_used_only_where_it_computes_the_same() -> None:
    from ganzoo.nets import MLPDiscriminator
    from ganzoo.train.models import _critic_layers

    D = MLPDiscriminator((2,), 8, 2)
    assert _critic_layers(D, None, None) is not None
    assert _critic_layers(D, torch.bfloat16, None) is None
    assert _critic_layers(MLPDiscriminator((2,), 8, 2, layernorm=True), None, None) is None

    class Custom(MLPDiscriminator):  # a plugin's subclass may compute something else in forward
        pass

    assert _critic_layers(Custom((2,), 8, 2), None, None) is None
