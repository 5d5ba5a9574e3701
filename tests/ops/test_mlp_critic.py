"""``mlp_critic_grads`` (the MLP critic's loss gradients by hand-derived formulas) against its reference, autograd's
double backward: losses, statistics and every parameter gradient on fresh random critics and batches of many shapes,
every loss and penalty kind, with and without the penalty; its gradients against finite differences of its own loss
in float64; bad input; and the trainer's use of it.

CUDA variants run when a GPU is present and skip otherwise.
"""

from __future__ import annotations

import re
import zlib

import pytest
import torch
from torch import nn

from ganzoo.nets import MLPDiscriminator
from ganzoo.ops import LOSS_KINDS, PENALTY_KINDS, mlp_critic_grads, mlp_critic_grads_ref, mlp_critic_ref

DEVICES = ["cpu", pytest.param("cuda", marks=[pytest.mark.cuda, pytest.mark.skipif(not torch.cuda.is_available(),
                                                                                     reason="no CUDA device")])]
# (sample shape, hidden widths, batches of real / fake / points)
CASES = [((2,), [], (3, 4, 5)), ((2,), [8], (1, 1, 1)), ((3,), [16, 9], (7, 5, 6)), ((2,), [128, 128, 128], (64, 64, 64)),
         ((1, 4, 4), [12, 12], (9, 9, 9)), ((5,), [7, 3, 6, 4], (2, 6, 3))]
TOL = {torch.float32: dict(rtol=2e-4, atol=2e-6), torch.float64: dict(rtol=1e-10, atol=1e-12)}


def _critic(shape, widths, slope, dtype, device, seed):
    gen = torch.Generator().manual_seed(seed)
    sizes = [int(torch.tensor(shape).prod())] + widths + [1]
    weights = [torch.randn(o, i, generator=gen, dtype=dtype) / i ** 0.5 for i, o in zip(sizes, sizes[1:])]
    biases = [torch.randn(o, generator=gen, dtype=dtype) * 0.1 for o in sizes[1:]]
    return [w.to(device) for w in weights], [b.to(device) for b in biases]


def _batches(shape, counts, dtype, device, seed):
    gen = torch.Generator().manual_seed(seed + 1)
    return [torch.randn((n, *shape), generator=gen, dtype=dtype).to(device) for n in counts]


def _compare(got, want, dtype) -> None:
    loss, stats, weight_grads, bias_grads = got
    loss_ref, stats_ref, weight_grads_ref, bias_grads_ref = want
    torch.testing.assert_close(loss, loss_ref, **TOL[dtype])
    torch.testing.assert_close(stats, stats_ref, **TOL[dtype])
    for a, b in zip(weight_grads + bias_grads, weight_grads_ref + bias_grads_ref, strict=True):
        torch.testing.assert_close(a, b, **TOL[dtype])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("case", CASES, ids=str)
@pytest.mark.parametrize("loss_kind", LOSS_KINDS)
@pytest.mark.parametrize("penalty_kind", [*PENALTY_KINDS, None])
def test_matches_the_double_backward(device, dtype, case, loss_kind, penalty_kind) -> None:
    shape, widths, counts = case
    seed = zlib.crc32(repr((case, loss_kind, penalty_kind)).encode())
    weights, biases = _critic(shape, widths, 0.2, dtype, device, seed)
    real, fake, point = _batches(shape, counts, dtype, device, seed)
    kind = penalty_kind or "two_sided"
    smoothing = 0.1 if loss_kind == "bce" else 0.0
    args = (real, fake, point if penalty_kind else None, weights, biases, 0.2, loss_kind, kind, 3.5, 0.8, smoothing)
    got = mlp_critic_grads(*args, impl="ext")
    want = mlp_critic_grads_ref(real, fake, args[2], weights, biases, 0.2, loss_kind, smoothing, kind, 3.5, 0.8)
    _compare(got, want, dtype)
    if penalty_kind is None:
        assert got[1][3] == 0


@pytest.mark.parametrize("slope", [0.0, 0.01, 0.2, 1.0])
def test_every_slope_from_relu_to_linear(slope: float) -> None:
    weights, biases = _critic((3,), [10, 10], slope, torch.float64, "cpu", 7)
    real, fake, point = _batches((3,), (6, 6, 6), torch.float64, "cpu", 7)
    got = mlp_critic_grads(real, fake, point, weights, biases, slope, impl="ext")
    want = mlp_critic_grads_ref(real, fake, point, weights, biases, slope, "wasserstein", 0.0, "two_sided", 10.0, 1.0)
    _compare(got, want, torch.float64)


@pytest.mark.parametrize("penalty_kind", PENALTY_KINDS)
def test_gradients_match_finite_differences_of_its_own_loss(penalty_kind: str) -> None:
    """Independent of autograd: each parameter moved by +-h, the op's loss (penalty included) re-evaluated."""
    weights, biases = _critic((2,), [5, 4], 0.2, torch.float64, "cpu", 3)
    real, fake, point = _batches((2,), (4, 3, 5), torch.float64, "cpu", 3)

    def loss_at(ws, bs) -> float:
        return float(mlp_critic_grads(real, fake, point, ws, bs, 0.2, "bce", penalty_kind, 2.0, 1.0, impl="ext")[0])

    _, _, weight_grads, bias_grads = mlp_critic_grads(real, fake, point, weights, biases, 0.2, "bce", penalty_kind, 2.0,
                                                      1.0, impl="ext")
    h = 1e-6
    for group, grads in ((weights, weight_grads), (biases, bias_grads)):
        for tensor, grad in zip(group, grads):
            numeric = torch.empty_like(tensor)
            for i in range(tensor.numel()):
                flat = tensor.view(-1)
                keep = float(flat[i])
                flat[i] = keep + h
                up = loss_at(weights, biases)
                flat[i] = keep - h
                down = loss_at(weights, biases)
                flat[i] = keep
                numeric.view(-1)[i] = (up - down) / (2 * h)
            torch.testing.assert_close(grad, numeric, rtol=1e-6, atol=1e-8)


def test_the_reference_critic_is_the_built_in_module() -> None:
    torch.manual_seed(0)
    D = MLPDiscriminator((1, 3, 3), 16, 2)
    layers, slope = D.linear_chain()
    x = torch.randn(5, 1, 3, 3)
    torch.testing.assert_close(mlp_critic_ref(x, [m.weight for m in layers], [m.bias for m in layers], slope), D(x))


def test_linear_chain_is_offered_only_for_plain_mlp_critics() -> None:
    assert MLPDiscriminator((2,), 8, 3).linear_chain()[1] == 0.2
    assert MLPDiscriminator((2,), 8, 3, layernorm=True).linear_chain() is None
    assert MLPDiscriminator((2,), 8, 3, num_classes=4).linear_chain() is None
    D = MLPDiscriminator((2,), 8, 2)
    D.features[1] = nn.Tanh()
    assert D.linear_chain() is None


def test_no_autograd_graph_and_parameters_untouched() -> None:
    D = MLPDiscriminator((2,), 8, 2)
    layers, slope = D.linear_chain()
    before = [p.detach().clone() for p in D.parameters()]
    loss, stats, weight_grads, bias_grads = mlp_critic_grads(torch.randn(4, 2), torch.randn(4, 2), torch.randn(4, 2),
                                                             [m.weight for m in layers], [m.bias for m in layers], slope,
                                                             impl="ext")
    assert not loss.requires_grad and not any(g.requires_grad for g in weight_grads + bias_grads)
    assert all(p.grad is None for p in D.parameters())
    for b, p in zip(before, D.parameters()):
        assert torch.equal(b, p)


def test_fake_kernel_gives_the_shapes() -> None:
    from torch._subclasses.fake_tensor import FakeTensorMode

    with FakeTensorMode():
        ws = [torch.empty(6, 2), torch.empty(1, 6)]
        bs = [torch.empty(6), torch.empty(1)]
        loss, stats, gw, gb = torch.ops.ganzoo.mlp_critic_grads(torch.empty(3, 2), torch.empty(3, 2), torch.empty(3, 2),
                                                                ws, bs, 0.2, 2, 0.0, 0, 10.0, 1.0)
        assert loss.shape == () and stats.shape == (4,)
        assert [tuple(g.shape) for g in gw] == [(6, 2), (1, 6)] and [tuple(g.shape) for g in gb] == [(6,), (1,)]


def _layers(*sizes, dtype=torch.float32):
    return [torch.randn(o, i, dtype=dtype) for i, o in zip(sizes, sizes[1:])], [torch.randn(o, dtype=dtype) for o in sizes[1:]]


@pytest.mark.parametrize("call, message", [
    (lambda: torch.ops.ganzoo.mlp_critic_grads(torch.randn(3, 2), torch.randn(3, 2), None, *_layers(3, 4, 1), 0.2, 2,
                                               0.0, 0, 1.0, 1.0), "real has 2 features per sample"),
    (lambda: torch.ops.ganzoo.mlp_critic_grads(torch.randn(3, 2), torch.randn(3, 2), None, *_layers(2, 4, 2), 0.2, 2,
                                               0.0, 0, 1.0, 1.0), "head must give one logit"),
    (lambda: torch.ops.ganzoo.mlp_critic_grads(torch.randn(3, 2), torch.randn(3, 2), None, *_layers(2, 4, 1), -0.1, 2,
                                               0.0, 0, 1.0, 1.0), "slope must be >= 0"),
    (lambda: torch.ops.ganzoo.mlp_critic_grads(torch.randn(3, 2), torch.randn(3, 2), None,
                                               *_layers(2, 4, 1, dtype=torch.float16), 0.2, 2, 0.0, 0, 1.0, 1.0),
     "float32 or float64"),
    (lambda: torch.ops.ganzoo.mlp_critic_grads(torch.randn(3, 2, dtype=torch.float64), torch.randn(3, 2), None,
                                               *_layers(2, 4, 1), 0.2, 2, 0.0, 0, 1.0, 1.0), "real must have the critic's"),
    (lambda: torch.ops.ganzoo.mlp_critic_grads(torch.randn(3, 2), torch.randn(0, 2), None, *_layers(2, 4, 1), 0.2, 2,
                                               0.0, 0, 1.0, 1.0), "fake must be a non-empty batch"),
    (lambda: torch.ops.ganzoo.mlp_critic_grads(torch.randn(3, 2), torch.randn(3, 2), torch.randn(2, 3),
                                               *_layers(2, 4, 1), 0.2, 2, 0.0, 0, 1.0, 1.0), "point has 3 features"),
    (lambda: torch.ops.ganzoo.mlp_critic_grads(torch.randn(3, 2), torch.randn(3, 2), None,
                                               [torch.randn(4, 2), torch.randn(1, 5)], [torch.randn(4), torch.randn(1)],
                                               0.2, 2, 0.0, 0, 1.0, 1.0), "layer 1 takes 5 inputs but layer 0 gives 4"),
    (lambda: torch.ops.ganzoo.mlp_critic_grads(torch.randn(3, 2), torch.randn(3, 2), None, [torch.randn(1, 2)], [],
                                               0.2, 2, 0.0, 0, 1.0, 1.0), "one bias per weight"),
    (lambda: mlp_critic_grads(torch.randn(3, 2), torch.randn(3, 2), None, *_layers(2, 4, 1), loss_kind="hinge",
                              label_smoothing=0.1, impl="ext"), "applies to the bce loss"),
])
def test_bad_input_names_the_problem(call, message: str) -> None:
    with pytest.raises((ValueError, RuntimeError), match=re.escape(message)):
        call()
