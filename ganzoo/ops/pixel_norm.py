"""LeakyReLU and pixelwise normalisation in one pass: progressive growing's generator after every convolution.

On a CPU the unfused pair is elementwise work over every activation of the generator (a LeakyReLU, a square, a mean, a
root, a product, and their backwards), each pass reading and writing the whole tensor, and in bf16 each with its own
casts; the profile of progan's 32x32 step put it near a fifth of the step (benchmarks/RESULTS.md). The kernel reads x
once and writes y once; its backward recomputes from x, so nothing else is saved. Higher derivatives come from the
reference (``leaky_pixel_norm_ref``), which the generator never needs.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch._prims_common import suggest_memory_format

from ganzoo.ops._impl import use_extension
from ganzoo.ops._library import reference_grads
from ganzoo.ops.extension import when_loaded
from ganzoo.ops.reference import leaky_pixel_norm_ref

__all__ = ["leaky_pixel_norm"]


def leaky_pixel_norm(x: torch.Tensor, slope: float = 0.2, eps: float = 1e-8, *,
                     impl: Optional[str] = None) -> torch.Tensor:
    """``leaky_pixel_norm_ref(x, slope, eps)``, differentiable with respect to ``x``.

    Args:
        x: (N, C, ...), any float dtype; contiguous or channels_last (other layouts are copied to one of them).
        slope: LeakyReLU's negative slope (1: no activation, the pixel norm alone).
        eps: added to the mean square under the root.
        impl: ``"auto"``, ``"ext"`` or ``"ref"``; None means the current default (``ganzoo.ops.default_impl``).

    Returns:
        A tensor of x's shape and dtype, channels_last where x is, contiguous otherwise.
    """
    if x.ndim < 2:
        raise ValueError(f"x must have a channel dimension (N, C, ...), got shape {tuple(x.shape)}")
    if use_extension(impl, x):
        return torch.ops.ganzoo.leaky_pixel_norm(x, float(slope), float(eps))
    return leaky_pixel_norm_ref(x, slope, eps)


def _kernel_output(x: torch.Tensor) -> torch.Tensor:
    """An empty tensor laid out as the kernels lay out their result: channels_last where a 4-d x is (ATen's
    suggest_memory_format), contiguous otherwise (csrc/ops_common.h, pixel_layout)."""
    channels_last = x.dim() == 4 and suggest_memory_format(x) == torch.channels_last
    return torch.empty_like(x, memory_format=torch.channels_last if channels_last else torch.contiguous_format)


def _leaky_pixel_norm_fake(x, slope, eps):
    torch._check(x.dim() >= 2, lambda: "ganzoo: x needs a channel dimension")
    return _kernel_output(x)


def _leaky_pixel_norm_backward_fake(grad_out, x, slope, eps):
    return _kernel_output(x)


def _leaky_pixel_norm_ref_grad(grad_out, x, slope, eps):
    """The op's gradient by the reference, for a create_graph backward through the fused kernel."""
    with torch.enable_grad():
        (d_x,) = reference_grads(leaky_pixel_norm_ref(x, slope, eps), [x], grad_out)
    return d_x


@when_loaded
def _register() -> None:
    torch.library.register_fake("ganzoo::leaky_pixel_norm", _leaky_pixel_norm_fake)
    torch.library.register_fake("ganzoo::leaky_pixel_norm_backward", _leaky_pixel_norm_backward_fake)
    torch.library.impl("ganzoo::leaky_pixel_norm_ref_grad", "CompositeImplicitAutograd", func=_leaky_pixel_norm_ref_grad)
