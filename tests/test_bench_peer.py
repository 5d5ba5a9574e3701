"""The benchmark's peer (benchmarks/peer.py) trains what ganzoo trains: the same networks and initial weights, and on
the same batch the same critic loss as ganzoo's own critic step, so the iteration benchmark compares equal work."""

from __future__ import annotations

import pytest
import torch

from benchmarks.peer import PeerSettings, peer_networks, train_peer
from ganzoo.data import load_dataset
from ganzoo.registry import default_registry
from ganzoo.train.config import data_request, resolve_config


def _built(options: dict):
    resolved = resolve_config(default_registry(), options)
    data = load_dataset(resolved.dataset, data_request(resolved.config))
    torch.manual_seed(0)
    models = resolved.arch.build(data.info, dict(resolved.config.hparams), 0)
    return resolved, data, models


@pytest.mark.parametrize("options", [{"arch": "wgan_gp", "dataset": "ring"},
                                     {"arch": "wgan_gp", "dataset": "digits", "image_size": 8}],
                         ids=["ring-mlp", "digits-conv"])
def test_peer_networks_compute_what_ganzoos_compute(options: dict) -> None:
    _, data, models = _built(options)
    G, D = peer_networks(models.generator, models.discriminator)
    for network in (models.generator, models.discriminator, G, D):
        network.eval()
    z = torch.randn(16, models.latent_dim)
    x = data.x[:16]
    # exactly, but for the DCGAN generator: ganzoo computes its first and one-channel last layer as matrix products
    # (the same maths as the peer's ConvTranspose2d, summed in another order)
    exact = dict(rtol=0, atol=0) if options["dataset"] == "ring" else dict(rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(G(z), models.generator(z), **exact)
    torch.testing.assert_close(D(x), models.discriminator(x), rtol=0, atol=0)


def test_the_peers_critic_loss_is_ganzoos_on_the_same_batch() -> None:
    from ganzoo.ops import critic_tail

    resolved, data, models = _built({"arch": "wgan_gp", "dataset": "ring"})
    _, D = peer_networks(models.generator, models.discriminator)
    real, fake, eps = data.x[:64], torch.randn(64, 2), torch.rand(64)
    weight = resolved.config.penalty_weight
    # the peer's formula, written as in benchmarks/peer.py
    x_hat = (eps.view(-1, 1) * real + (1 - eps.view(-1, 1)) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(D(x_hat).sum(), x_hat, create_graph=True)
    peer = D(fake).mean() - D(real).mean() + weight * ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()
    # ganzoo's: interpolate with lerp, the fused critic tail
    point = torch.lerp(fake, real, eps.view(-1, 1)).requires_grad_(True)
    (g2,) = torch.autograd.grad(models.discriminator(point).sum(), point, create_graph=True)
    ours, _ = critic_tail(models.discriminator(real), models.discriminator(fake), g2, "wasserstein", "two_sided",
                          weight, 1.0)
    torch.testing.assert_close(ours, peer, rtol=1e-5, atol=1e-6)


def test_the_peer_trains() -> None:
    resolved, data, models = _built({"arch": "wgan_gp", "dataset": "ring"})
    G, D = peer_networks(models.generator, models.discriminator)
    before = [p.detach().clone() for p in D.parameters()]
    d_loss, g_loss = train_peer(G, D, data.x, PeerSettings(steps=2, batch_size=32, n_critic=2, penalty_weight=0.1,
                                                           lr=1e-4, betas=(0.5, 0.9), latent_dim=models.latent_dim))
    # every weight matrix moves (the head's bias cannot: the Wasserstein loss is blind to a constant shift)
    assert all(not torch.equal(a, b) for a, b in zip(before, D.parameters()) if a.ndim == 2)
    assert torch.isfinite(torch.tensor([d_loss, g_loss])).all()


@pytest.mark.parametrize("variant", ["ganzoo_double_backward", "ganzoo_nchw", "ganzoo_deconv"])
def test_each_switched_off_choice_is_really_off(variant: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The iteration benchmark's A/B variants patch ganzoo's choices by name: a renamed function would leave the patch
    pointing nowhere (mock.patch raises) or leave the choice on. Each variant runs a two-step loop with its choice off."""
    from benchmarks import iteration
    from ganzoo.nets import ConvGenerator
    from ganzoo.train import models as train_models

    seen = {}
    real_build = train_models.build_networks

    def spy(*args, **kwargs):
        nets = real_build(*args, **kwargs)
        head = getattr(nets.D, "head", None)
        seen.update(layers=nets.critic_layers, matrix=ConvGenerator.matrix_layers,
                    nhwc=head is not None and head.weight.is_contiguous(memory_format=torch.channels_last))
        return nets

    monkeypatch.setattr("ganzoo.train.loop.build_networks", spy)
    options = ({"arch": "wgan_gp", "dataset": "ring"} if variant == "ganzoo_double_backward"
               else {"arch": "wgan_gp", "dataset": "digits", "image_size": 8})
    workload = iteration.Workload("t", options, 2)
    assert iteration.VARIANTS[variant](workload) > 0
    if variant == "ganzoo_double_backward":
        assert seen["layers"] is None
    elif variant == "ganzoo_nchw":
        assert seen["nhwc"] is False
    else:
        assert seen["matrix"] is False
    assert ConvGenerator.matrix_layers is True  # restored after the run


def test_a_variant_runs_in_a_process_of_its_own() -> None:
    """The iteration table times each run in a fresh process (a variant's malloc settings must not reach another)."""
    from benchmarks import iteration

    workload = iteration.Workload("ring", iteration.WORKLOADS["ring"]["options"], 1)
    assert iteration._variant_env("ganzoo_system_malloc") == {"GANZOO_ALLOCATOR": "system"}
    assert 0 < iteration.run_in_own_process(workload, "ganzoo_system_malloc") < 60


def test_the_dcgan_peer_trains_ganzoos_dcgan_networks_with_ganzoos_losses() -> None:
    """pytorch/examples' loop on ganzoo's dcgan networks: its BCE-with-logits losses are ganzoo's bce losses on the same
    logits, and one step moves both networks."""
    from benchmarks.peer import train_dcgan_peer
    from ganzoo.ops import discriminator_loss, generator_loss

    resolved, data, models = _built({"arch": "dcgan", "dataset": "digits", "image_size": 16})
    G, D = peer_networks(models.generator, models.discriminator)
    real, fake = D(data.x[:8]), D(G(torch.randn(8, models.latent_dim)))
    bce = torch.nn.BCEWithLogitsLoss()
    torch.testing.assert_close(bce(real, torch.ones(8)) + bce(fake, torch.zeros(8)),
                               discriminator_loss("bce", real, fake), rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(bce(fake, torch.ones(8)), generator_loss("bce", fake), rtol=1e-6, atol=1e-6)
    before_g, before_d = [p.detach().clone() for p in G.parameters()], [p.detach().clone() for p in D.parameters()]
    d_loss, g_loss = train_dcgan_peer(G, D, data.x, PeerSettings(steps=1, batch_size=16, n_critic=1, penalty_weight=0.0,
                                                                 lr=2e-4, betas=(0.5, 0.999),
                                                                 latent_dim=models.latent_dim))
    assert all(not torch.equal(a, b) for a, b in zip(before_g, G.parameters()) if a.ndim > 1)
    assert all(not torch.equal(a, b) for a, b in zip(before_d, D.parameters()) if a.ndim > 1)
    assert torch.isfinite(torch.tensor([d_loss, g_loss])).all()


def test_the_flop_count_counts_each_layer_kind() -> None:
    from torch import nn

    from benchmarks.flops import forward_gflop, iteration_gflop

    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ConvTranspose2d(8, 4, 4, stride=2, padding=1), nn.Flatten(),
                        nn.Linear(4 * 16 * 16, 10))
    gflop, out = forward_gflop(net, torch.zeros(2, 3, 8, 8))
    conv = 2 * 8 * 3 * 9 * 2 * 8 * 8         # every output pixel: 3x3x3 multiply-adds per output channel
    deconv = 2 * 8 * 4 * 16 * 2 * 8 * 8      # every input pixel scatters a 4x4 kernel per channel pair
    linear = 2 * 1024 * 10 * 2
    assert out.shape == (2, 10) and round(gflop * 1e9) == conv + deconv + linear
    assert iteration_gflop(1.0, 1.0, n_critic=1, penalty=False) == 1 + 6 + 3 + 3
    assert iteration_gflop(1.0, 1.0, n_critic=1, penalty=True, penalty_every=4) == 1 + 6 + 7 / 4 + 3 + 3


def test_the_flop_count_sees_convolutions_called_as_functions() -> None:
    # progan's equalised-lr layers call F.conv2d on a scaled weight: no nn.Conv2d for a module hook to see
    from benchmarks.flops import forward_gflop
    from ganzoo.zoo.progan import EqualizedConv2d, EqualizedLinear

    conv, linear = EqualizedConv2d(3, 8, 3), EqualizedLinear(8 * 8 * 8, 5)
    gflop, out = forward_gflop(lambda x: linear(conv(x).flatten(1)), torch.zeros(2, 3, 8, 8))
    assert out.shape == (2, 5) and round(gflop * 1e9) == 2 * 8 * 3 * 9 * 2 * 8 * 8 + 2 * 512 * 5 * 2
