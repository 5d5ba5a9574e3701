"""The fused LeakyReLU + pixel norm (``ganzoo.ops.leaky_pixel_norm``) against its PyTorch reference: outputs and
gradients on fresh random inputs of many shapes, layouts, slopes and dtypes, gradcheck and gradgradcheck in float64,
opcheck, torch.compile tracing, bad input, and progressive growing's generator with the kernel against the reference.

CUDA variants run when a GPU is present and skip otherwise.
"""

from __future__ import annotations

import re
import zlib

import pytest
import torch
import torch.nn.functional as F

from ganzoo.ops import default_impl, leaky_pixel_norm, leaky_pixel_norm_ref

DEVICES = ["cpu", pytest.param("cuda", marks=[pytest.mark.cuda, pytest.mark.skipif(not torch.cuda.is_available(),
                                                                                     reason="no CUDA device")])]
# pixels innermost and channels innermost, 1 to 130 channels, pixel counts on and off the CPU kernel's 64-pixel blocks,
# no pixel dims, 1x1 pixels, 3-d and 5-d inputs
SHAPES = [(1, 1), (2, 3), (7, 130), (3, 16, 1, 1), (4, 8, 5, 5), (2, 3, 9, 15), (5, 32, 8, 8), (2, 64, 16, 16),
          (3, 5, 11), (2, 4, 3, 5, 2)]
SLOPES = [0.2, 1.0, 0.0, -0.5]
TOL = {torch.float32: dict(rtol=1e-5, atol=1e-6), torch.float64: dict(rtol=1e-12, atol=1e-13)}


def _layouts(x: torch.Tensor) -> list[torch.Tensor]:
    out = [x]
    if x.dim() == 4:
        out.append(x.contiguous(memory_format=torch.channels_last))
        out.append(x.transpose(2, 3).contiguous().transpose(2, 3))  # neither layout: copied to a dense one
    return out


def _compare(x: torch.Tensor, slope: float, tol: dict, grad_seed: int = 0) -> None:
    a = x.detach().clone().requires_grad_(True)
    b = x.detach().to(torch.float64).requires_grad_(True)
    y = leaky_pixel_norm(a, slope, impl="ext")
    expected = leaky_pixel_norm_ref(b, slope)
    channels_last = a.dim() == 4 and not a.is_contiguous() and a.is_contiguous(memory_format=torch.channels_last)
    assert y.dtype == x.dtype and y.shape == x.shape
    assert y.is_contiguous(memory_format=torch.channels_last if channels_last else torch.contiguous_format)
    _close(y.double(), expected, tol)
    gen = torch.Generator().manual_seed(grad_seed)
    g = torch.randn(x.shape, generator=gen, dtype=torch.float64).to(x.device)
    y.backward(g.to(x.dtype))
    expected.backward(g.to(x.dtype).double())
    _close(a.grad.double(), b.grad, tol)


def _close(actual: torch.Tensor, expected: torch.Tensor, tol: dict) -> None:
    """Absolute error measured against the tensor's scale: where one channel dominates a pixel, the gradient
    r * dy - a * r^3 * mean(dy * a) cancels to ~eps / mean(a^2) of its terms, in any finite precision."""
    scale = expected.abs().max().item() if expected.numel() else 1.0
    torch.testing.assert_close(actual, expected, rtol=tol["rtol"], atol=tol["atol"] * max(scale, 1.0))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("slope", SLOPES)
def test_matches_the_reference(device: str, dtype: torch.dtype, shape: tuple, slope: float) -> None:
    gen = torch.Generator().manual_seed(zlib.crc32(repr((shape, slope)).encode()))
    x = (torch.randn(shape, generator=gen, dtype=dtype) * 3.0).to(device)
    for layout in _layouts(x):
        _compare(layout, slope, TOL[dtype])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_half_precision_computes_in_float_and_rounds_once(device: str, dtype: torch.dtype) -> None:
    """Within one rounding of the float64 reference on the same (rounded) input: nothing is accumulated in half."""
    gen = torch.Generator().manual_seed(7)
    x = torch.randn(6, 48, 7, 9, generator=gen).to(device=device, dtype=dtype)
    g = torch.randn(x.shape, generator=gen).to(device=device, dtype=dtype)
    unit = 2.0 ** -8 if dtype == torch.bfloat16 else 2.0 ** -11
    for layout in _layouts(x):
        a = layout.clone().requires_grad_(True)
        b = layout.double().requires_grad_(True)
        y = leaky_pixel_norm(a, 0.2, impl="ext")
        expected = leaky_pixel_norm_ref(b, 0.2)
        torch.testing.assert_close(y.double(), expected, rtol=unit, atol=1e-6)
        y.backward(g)
        expected.backward(g.double())
        # the gradient cancels (r dy - a r^3 mean(dy a)): within one rounding of its scale, not of each entry
        torch.testing.assert_close(a.grad.double(), b.grad, rtol=unit, atol=unit * b.grad.abs().max().item())


def test_bfloat16_rounds_once_to_nearest_even_as_torch_casts() -> None:
    """The bf16 kernel computes in float and rounds once, as torch's cast does (ties to even, NaN stays NaN): its output
    equals the float kernel's on the same values, cast. Two channels, so each pixel's sum is the same float in any
    order and the two instantiations agree exactly; a million values include exact ties, which the test checks it met."""
    gen = torch.Generator().manual_seed(5)
    x = (torch.randn(1 << 19, 2, generator=gen) * 2).to(torch.bfloat16)
    x[::4099] = float("nan")
    dy = torch.randn(1 << 19, 2, generator=gen).to(torch.bfloat16)
    ops = torch.ops.ganzoo
    for bf16, in_float in ((ops.leaky_pixel_norm(x, 0.3, 0.5), ops.leaky_pixel_norm(x.float(), 0.3, 0.5)),
                           (ops.leaky_pixel_norm_backward(dy, x, 0.3, 0.5),
                            ops.leaky_pixel_norm_backward(dy.float(), x.float(), 0.3, 0.5))):
        ties = ((in_float.view(torch.int32) & 0xFFFF) == 0x8000).sum().item()
        assert ties > 0
        torch.testing.assert_close(bf16, in_float.to(torch.bfloat16), rtol=0, atol=0, equal_nan=True)


@pytest.mark.parametrize("device", DEVICES)
def test_zero_pixels_and_zero_entries_give_the_references_values(device: str) -> None:
    x = torch.randn(3, 6, 4, 4, dtype=torch.float64, device=device)
    x[1, :, 2, 3] = 0.0   # a pixel of zeros: eps keeps it finite
    x[2, 4] = 0.0         # zeros where leaky_relu's derivative is the slope's
    for layout in _layouts(x):
        _compare(layout, 0.2, TOL[torch.float64])
    y = leaky_pixel_norm(x, 0.2, impl="ext")
    assert torch.equal(y[1, :, 2, 3], torch.zeros(6, dtype=torch.float64, device=device))


@pytest.mark.parametrize("device", DEVICES)
def test_gradcheck_and_gradgradcheck(device: str) -> None:
    """First derivatives from the kernel, second from the reference (create_graph), both against finite differences."""
    gen = torch.Generator().manual_seed(11)  # fixed values: none within finite-difference reach of the kink at 0
    for shape in ((3, 5, 4, 4), (4, 7)):
        x = torch.randn(shape, generator=gen, dtype=torch.float64).to(device)
        for layout in _layouts(x.detach()):
            t = layout.clone().requires_grad_(True)
            assert torch.autograd.gradcheck(lambda v: leaky_pixel_norm(v, 0.2, impl="ext"), (t,))
            assert torch.autograd.gradgradcheck(lambda v: leaky_pixel_norm(v, 0.2, impl="ext"), (t,))


def test_first_order_backward_runs_the_kernel_and_create_graph_takes_the_reference(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from ganzoo.ops import pixel_norm

    def refuse(*args, **kwargs):
        raise AssertionError("the reference ran")

    x = torch.randn(4, 8, 3, 3, requires_grad=True)
    expected = torch.autograd.grad(leaky_pixel_norm_ref(x, 0.2).square().sum(), x)[0]
    monkeypatch.setattr(pixel_norm, "leaky_pixel_norm_ref", refuse)
    leaky_pixel_norm(x, 0.2, impl="ext").square().sum().backward()
    torch.testing.assert_close(x.grad, expected)
    with pytest.raises(AssertionError, match="the reference ran"):
        torch.autograd.grad(leaky_pixel_norm(x, 0.2, impl="ext").square().sum(), x, create_graph=True)


def test_the_fake_kernels_give_the_kernels_strides() -> None:
    """torch.compile plans memory from the fake kernels: their outputs must be laid out as the real ones, for every
    layout the op takes (the real kernels return channels_last or contiguous)."""
    from torch._subclasses.fake_tensor import FakeTensorMode

    ops = torch.ops.ganzoo
    base = torch.randn(2, 3, 4, 5)
    inputs = [base, base.contiguous(memory_format=torch.channels_last), base.permute(0, 1, 3, 2),
              base.permute(0, 2, 1, 3).contiguous().permute(0, 2, 1, 3), torch.randn(2, 3, 2, 4, 5).contiguous(
                  memory_format=torch.channels_last_3d), torch.randn(3, 2, 5).transpose(0, 2), torch.randn(2, 3, 1, 1),
              torch.zeros(0, 3, 4, 5).contiguous(memory_format=torch.channels_last)]
    for x in inputs:
        dy = torch.randn_like(x)
        real = ops.leaky_pixel_norm(x, 0.2, 1e-8)
        real_grad = ops.leaky_pixel_norm_backward(dy, x, 0.2, 1e-8)
        with FakeTensorMode() as mode:
            fake_x = mode.from_tensor(x)
            fake = ops.leaky_pixel_norm(fake_x, 0.2, 1e-8)
            fake_grad = ops.leaky_pixel_norm_backward(mode.from_tensor(dy), fake_x, 0.2, 1e-8)
        assert fake.stride() == real.stride(), (tuple(x.shape), x.stride())
        assert fake_grad.stride() == real_grad.stride(), (tuple(x.shape), x.stride())


def test_opcheck_and_torch_compile() -> None:
    ops = torch.ops.ganzoo
    x = torch.randn(3, 6, 5, 5, generator=torch.Generator().manual_seed(3), requires_grad=True)
    torch.library.opcheck(ops.leaky_pixel_norm.default, (x, 0.2, 1e-8))
    torch.library.opcheck(ops.leaky_pixel_norm.default, (x.detach().contiguous(memory_format=torch.channels_last)
                                                         .requires_grad_(True), 0.2, 1e-8))
    torch.library.opcheck(ops.leaky_pixel_norm_backward.default, (torch.randn(3, 6, 5, 5), x.detach(), 0.2, 1e-8))

    def block(v: torch.Tensor) -> torch.Tensor:
        return leaky_pixel_norm(v * 2, 0.2, impl="ext").sum()

    compiled = torch.compile(block, backend="aot_eager", fullgraph=True)
    torch.testing.assert_close(compiled(x), block(x))
    compiled(x).backward()
    expected = torch.autograd.grad(leaky_pixel_norm_ref(x * 2, 0.2).sum(), x)[0]
    torch.testing.assert_close(x.grad, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("call, message", [
    (lambda: leaky_pixel_norm(torch.randn(5), impl="ext"), "must have a channel dimension"),
    (lambda: torch.ops.ganzoo.leaky_pixel_norm(torch.randn(5), 0.2, 1e-8), "must have a channel dimension"),
    (lambda: torch.ops.ganzoo.leaky_pixel_norm(torch.zeros(3, 2, dtype=torch.int64), 0.2, 1e-8),
     "x must be a floating"),
    (lambda: torch.ops.ganzoo.leaky_pixel_norm_backward(torch.zeros(3, 3), torch.zeros(3, 2), 0.2, 1e-8),
     "grad_out must match x"),
])
def test_bad_input_names_the_argument(call, message: str) -> None:
    with pytest.raises((ValueError, RuntimeError), match=re.escape(message)):
        call()


def test_empty_batches_pass_through() -> None:
    x = torch.zeros(0, 4, 3, 3, requires_grad=True)
    y = leaky_pixel_norm(x, 0.2, impl="ext")
    y.sum().backward()
    assert y.shape == x.shape and x.grad.shape == x.shape


def test_progans_generator_with_the_kernel_matches_the_reference() -> None:
    """The generator's forward and every parameter's gradient, kernel against reference, in float64 and channels_last."""
    from ganzoo.zoo.progan import ProGANGenerator

    torch.manual_seed(0)
    G = ProGANGenerator(16, 1, 16, 64, 16).double().to(memory_format=torch.channels_last)
    z = torch.randn(5, 16, dtype=torch.float64)
    results = []
    for impl in ("ext", "ref"):
        G.zero_grad(set_to_none=True)
        with default_impl(impl):
            out = G(z)
        out.square().mean().backward()
        results.append((out.detach(), [p.grad.clone() for p in G.parameters() if p.grad is not None]))
    (out_ext, grads_ext), (out_ref, grads_ref) = results
    torch.testing.assert_close(out_ext, out_ref, **TOL[torch.float64])
    assert len(grads_ext) == len(grads_ref) > 10
    for a, b in zip(grads_ext, grads_ref):
        torch.testing.assert_close(a, b, **TOL[torch.float64])
    # the unfused formula the paper writes, for the record: leaky_relu then x / sqrt(mean_c x^2 + 1e-8)
    h = torch.randn(2, 8, 4, 4, dtype=torch.float64)
    a = F.leaky_relu(h, 0.2)
    torch.testing.assert_close(leaky_pixel_norm(h, 0.2, impl="ext"), a / torch.sqrt(a.square().mean(1, keepdim=True) + 1e-8))
