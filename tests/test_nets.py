"""The built-in networks' layers computed as matrix products (ganzoo/nets.py) against the torch.nn modules they stand for:
values and gradients, in float64 (gradcheck) and in both memory layouts."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from ganzoo.nets import (
    ClassBatchNorm2d,
    ConvDiscriminator,
    ConvGenerator,
    MLPDiscriminator,
    dcgan_init,
    project_to_4x4,
    upsample_to_one_channel,
)


@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
def test_the_first_layer_is_the_transposed_convolution_of_a_1x1_input(layout) -> None:
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(5, 7, generator=gen, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(7, 6, 4, 4, generator=gen, dtype=torch.float64).contiguous(memory_format=layout)
    weight.requires_grad_(True)
    torch.testing.assert_close(project_to_4x4(z, weight), F.conv_transpose2d(z[:, :, None, None], weight))
    assert torch.autograd.gradcheck(project_to_4x4, (z, weight))
    if layout == torch.channels_last:  # a channels_last weight gives a channels_last output, with no copy
        assert project_to_4x4(z, weight).is_contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize("size", [4, 8])
def test_the_one_channel_last_layer_is_the_transposed_convolution(size: int) -> None:
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(3, 5, size, size, generator=gen, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(5, 1, 4, 4, generator=gen, dtype=torch.float64, requires_grad=True)
    torch.testing.assert_close(upsample_to_one_channel(x, weight), F.conv_transpose2d(x, weight, stride=2, padding=1))
    assert torch.autograd.gradcheck(upsample_to_one_channel, (x, weight))
    assert torch.autograd.gradgradcheck(upsample_to_one_channel, (x, weight))


@pytest.mark.parametrize("channels", [1, 3])
def test_the_generator_computes_what_its_layers_compute(channels: int) -> None:
    torch.manual_seed(0)
    G = ConvGenerator(8, channels, 16, 4, num_classes=2).double().eval()
    z, y = torch.randn(4, 8, dtype=torch.float64), torch.tensor([0, 1, 1, 0])
    plain = G.net(torch.cat([z, F.one_hot(y, 2).double()], dim=1)[:, :, None, None])
    torch.testing.assert_close(G(z, y), plain)
    G.to(memory_format=torch.channels_last)
    torch.testing.assert_close(G(z, y), plain)
    assert "net.0.weight" in G.state_dict()


@pytest.mark.parametrize("make, shape", [
    (lambda classes: ConvDiscriminator(1, 32, 64, "batch", classes), (1, 32, 32)),
    (lambda classes: ConvDiscriminator(3, 16, 32, "layer", classes), (3, 16, 16)),
    (lambda classes: MLPDiscriminator((2,), 256, 3, classes), (2,)),
], ids=["dcgan-32", "wgan_gp-16", "mlp"])
def test_the_class_projection_starts_at_the_heads_scale(make, shape) -> None:
    """The projection term y^T V phi(x) is added to the head's logit: at nn.Embedding's N(0, 1) it was about 100x the
    head on the conv critics, and the critic judged little but the class (the within-class collapse of the README)."""
    torch.manual_seed(0)
    d = make(10)
    if isinstance(d, ConvDiscriminator):
        dcgan_init(d)  # what the dcgan builder does: it must leave the projection's scale alone
    d.eval()
    x, y = torch.rand(256, *shape) * 2 - 1, torch.arange(256) % 10
    with torch.no_grad():
        with_classes = d(x, y)
        d.embed = None
        head_only = d(x, None)
    # root-mean-square size of the two terms of the logit (N(0, 1) gave 83x, 106x and 7.5x for these three)
    ratio = float((with_classes - head_only).pow(2).mean().sqrt() / head_only.pow(2).mean().sqrt())
    assert 0.1 < ratio < 3.0, ratio


@pytest.mark.parametrize("conditional", [False, True])
def test_the_wgan_gp_image_generator_starts_far_from_tanhs_flat_tail(conditional: bool) -> None:
    """With torch's default init, the last transposed conv's weights reach 1/4, and on real MNIST at 32x32 a fixed
    lattice of pixels was driven into tanh's saturated tail within ten steps, where G has no gradient to undo it (the
    run never learnt: benchmarks/RESULTS.md). The builder starts G like DCGAN's, with room to move."""
    from ganzoo.specs import DataInfo
    from ganzoo.zoo.architectures import WGAN_GP
    from ganzoo.zoo.builders import build_wgan_gp

    torch.manual_seed(0)
    models = build_wgan_gp(DataInfo(kind="images", shape=(1, 32, 32), num_classes=10), WGAN_GP.hyperparameters,
                           10 if conditional else 0)
    g = models.generator
    convs = [m for m in g.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    assert all(abs(float(m.weight.std()) - 0.02) < 0.002 for m in convs)
    pre_tanh = {}
    g.net[-1].register_forward_hook(lambda module, inputs, output: pre_tanh.setdefault("x", inputs[0]))
    g.train()
    with torch.no_grad():
        g(torch.randn(64, models.latent_dim), torch.arange(64) % 10 if conditional else None)
    # torch's default init gave a standard deviation of 1.8 and a largest value of 8 here, where tanh' is 5e-7
    assert float(pre_tanh["x"].std()) < 0.5 and float(pre_tanh["x"].abs().max()) < 2.0


@pytest.mark.parametrize("arch", ["dcgan", "wgan_gp"])
def test_a_spectral_critic_divides_every_convolution_by_its_largest_singular_value(arch: str) -> None:
    """``--set norm=spectral`` (Miyato et al. 2018): no norm layer, and once the power iteration has run for some training
    forwards every convolution's weight, as the matrix (out, in * k * k), has largest singular value 1. The builders'
    initialisation must not try to write the computed weight (it would fill a copy and be lost)."""
    from ganzoo.specs import DataInfo
    from ganzoo.zoo.architectures import DCGAN, WGAN_GP
    from ganzoo.zoo.builders import build_dcgan, build_wgan_gp

    spec, build = {"dcgan": (DCGAN, build_dcgan), "wgan_gp": (WGAN_GP, build_wgan_gp)}[arch]
    torch.manual_seed(0)
    models = build(DataInfo(kind="images", shape=(1, 32, 32), num_classes=0), {**spec.hyperparameters,
                                                                               "base_channels": 16, "norm": "spectral"}, 0)
    d = models.discriminator.train()
    assert not any(isinstance(m, (torch.nn.BatchNorm2d, torch.nn.GroupNorm)) for m in d.modules())
    convs = [m for m in d.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 4 and all(torch.nn.utils.parametrize.is_parametrized(m, "weight") for m in convs)
    with torch.no_grad():
        for _ in range(60):
            d(torch.randn(8, 1, 32, 32))
    sigmas = [float(torch.linalg.matrix_norm(m.weight.flatten(1), ord=2)) for m in convs]
    assert sigmas == pytest.approx([1.0] * 4, rel=1e-3)
    originals = [float(torch.linalg.matrix_norm(m.parametrizations.weight.original.flatten(1), ord=2)) for m in convs]
    assert all(abs(s - 1.0) > 0.05 for s in originals)  # the division does the work, not the initial weights


def test_the_minibatch_stddev_head_reads_the_spread_of_a_samples_group_and_nothing_else() -> None:
    """``--set mbstd_group=4``: a sample's logit depends on the other samples of its group (every (B / 4)-th sample)
    and on no other; without it, on none. Evaluated in eval mode without norm layers, so that only the feature couples
    the samples."""
    torch.manual_seed(0)
    x = torch.randn(8, 1, 16, 16)
    for group, coupled in ((4, (2, 4, 6)), (0, ())):
        d = ConvDiscriminator(1, 16, 8, "none", mbstd_group=group).eval()
        assert d.head.in_channels == 16 + (1 if group else 0)
        with torch.no_grad():
            before = d(x)
            for other in range(1, 8):
                changed = x.clone()
                changed[other] += 1.0
                moved = not torch.equal(d(changed)[0], before[0])
                assert moved == (other in coupled), (group, other)


def test_dcgan_takes_the_minibatch_stddev_and_refuses_a_negative_group() -> None:
    from ganzoo.errors import ConfigError
    from ganzoo.specs import DataInfo
    from ganzoo.zoo.architectures import DCGAN
    from ganzoo.zoo.builders import build_dcgan

    info = DataInfo(kind="images", shape=(1, 16, 16), num_classes=10)
    d = build_dcgan(info, {**DCGAN.hyperparameters, "base_channels": 8, "mbstd_group": 4}, 10).discriminator
    assert d.mbstd.group_size == 4 and d.head.in_channels == 17
    assert d(torch.randn(6, 1, 16, 16), torch.arange(6) % 10).shape == (6,)  # 4 does not divide 6: groups of 3
    assert build_dcgan(info, DCGAN.hyperparameters, 0).discriminator.head.in_channels == 128  # off by default
    assert build_dcgan(info, {**DCGAN.hyperparameters, "mbstd_group": 1}, 0).discriminator.head.in_channels == 128
    with pytest.raises(ConfigError, match=r"mbstd_group=-4 must be a group size \(0 or 1: off\)"):
        build_dcgan(info, {**DCGAN.hyperparameters, "mbstd_group": -4}, 0)


def test_class_batchnorm_normalises_over_the_batch_then_scales_and_shifts_each_sample_by_its_class() -> None:
    torch.manual_seed(0)
    norm = ClassBatchNorm2d(5, 3, embed_dim=4).double()
    fresh = copy.deepcopy(norm).eval()  # starts as plain BatchNorm, whatever the class
    x, y = torch.randn(6, 5, 4, 4, dtype=torch.float64), torch.tensor([0, 2, 2, 1, 0, 2])
    torch.testing.assert_close(fresh(x, y), F.batch_norm(x, torch.zeros(5).double(), torch.ones(5).double()))
    with torch.no_grad():
        norm.gain.normal_()
        norm.bias.normal_()
    e = norm.embed.weight[y]
    expected = F.batch_norm(x, None, None, training=True) * (1 + e @ norm.gain.t())[:, :, None, None] \
        + (e @ norm.bias.t())[:, :, None, None]
    torch.testing.assert_close(norm(x, y), expected)
    x.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda x, *params: ClassBatchNorm2d.forward(norm, x, y),
                                    (x, norm.gain, norm.bias, norm.embed.weight))
    with torch.autocast("cpu", dtype=torch.bfloat16):  # the class's scale must not promote bf16 activations to fp32
        assert norm.float()(x.float().to(torch.bfloat16), y).dtype == torch.bfloat16


def test_a_class_norm_generator_reads_its_class_in_every_block_and_not_as_an_input() -> None:
    torch.manual_seed(0)
    G = ConvGenerator(8, 1, 16, 4, num_classes=3, one_hot_input=False, class_norm=True)
    dcgan_init(G)  # the builder's start: it must leave the class gains at 1 and biases at 0
    norms = [m for m in G.modules() if isinstance(m, ClassBatchNorm2d)]
    assert len(norms) == 2 and G.net[0].weight.shape[0] == 8  # no one-hot channels in the first layer
    assert all(not m.gain.any() and not m.bias.any() for m in norms)  # plain BatchNorm at the start
    with torch.no_grad():
        for m in norms:
            m.bias.normal_()
    G.eval()
    z = torch.randn(1, 8).expand(3, 8)
    with torch.no_grad():
        out = G(z, torch.tensor([0, 1, 2]))
        assert not torch.equal(out[0], out[1]) and not torch.equal(out[1], out[2])
        plain = G(z, torch.tensor([1, 1, 1]))
        G.to(memory_format=torch.channels_last)
        torch.testing.assert_close(G(z, torch.tensor([1, 1, 1])), plain)


def test_dcgan_and_wgan_gp_take_class_batchnorm_and_refuse_it_where_it_means_nothing() -> None:
    from ganzoo.errors import ConfigError
    from ganzoo.specs import DataInfo
    from ganzoo.zoo.architectures import DCGAN, WGAN_GP
    from ganzoo.zoo.builders import build_dcgan, build_wgan_gp

    info = DataInfo(kind="images", shape=(1, 16, 16), num_classes=10)
    for build, hp in ((build_dcgan, DCGAN.hyperparameters), (build_wgan_gp, WGAN_GP.hyperparameters)):
        g = build(info, {**hp, "base_channels": 8, "g_conditioning": "batchnorm"}, 10).generator
        assert any(isinstance(m, ClassBatchNorm2d) for m in g.modules()) and not g.one_hot_input
        g = build(info, {**hp, "base_channels": 8}, 10).generator  # the default: the one-hot input
        assert g.one_hot_input and not any(isinstance(m, ClassBatchNorm2d) for m in g.modules())
        both = build(info, {**hp, "base_channels": 8, "g_conditioning": "both"}, 10).generator
        assert both.one_hot_input and any(isinstance(m, ClassBatchNorm2d) for m in both.modules())
        assert both.net[0].weight.shape == g.net[0].weight.shape  # the one-hot channels are there
        for how in ("batchnorm", "both"):
            with pytest.raises(ConfigError, match=f"g_conditioning={how} conditions the generator on classes: add "
                                                  "--conditional"):
                build(info, {**hp, "g_conditioning": how}, 0)
        with pytest.raises(ConfigError, match="g_conditioning='cbn' must be one of: input .*; batchnorm .*; both"):
            build(info, {**hp, "g_conditioning": "cbn"}, 10)
    with pytest.raises(ConfigError, match="is for wgan_gp's conv generator on images"):
        build_wgan_gp(DataInfo(kind="points", shape=(2,), num_classes=3),
                      {**WGAN_GP.hyperparameters, "g_conditioning": "batchnorm"}, 3)

