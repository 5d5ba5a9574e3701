"""Autograd formulas and fake (meta) kernels of the compiled ops, so they work inside autograd graphs (also under
``create_graph=True``) and torch.compile can trace code that calls them. Registered once, on import, which
``ganzoo.ops.extension`` does right after ``ganzoo._C`` has defined the ops.

First-order backward runs the fused backward kernels. When a backward is itself differentiated (``create_graph=True``),
the gradient comes from the reference formula instead, so higher derivatives are exactly the reference's.
"""

from __future__ import annotations

import torch

from ganzoo.ops.kinds import loss_name, penalty_name
from ganzoo.ops.reference import critic_tail_ref, discriminator_loss_ref, gradient_penalty_ref

_ACC = {torch.float64: torch.float64}


def _acc_dtype(t: torch.Tensor) -> torch.dtype:
    return _ACC.get(t.dtype, torch.float32)


# ----------------------------------------------------------------------------------------------------- fake kernels
@torch.library.register_fake("ganzoo::gradient_penalty")
def _gradient_penalty_fake(grad, kind, weight, center):
    torch._check(grad.dim() >= 1 and grad.shape[0] > 0, lambda: "ganzoo: grad needs a non-empty batch dimension")
    return grad.new_empty(()), grad.new_empty((grad.shape[0],), dtype=_acc_dtype(grad))


@torch.library.register_fake("ganzoo::gradient_penalty_backward")
def _gradient_penalty_backward_fake(grad_out, grad, norms, kind, weight, center):
    return torch.empty_like(grad)


@torch.library.register_fake("ganzoo::critic_loss")
def _critic_loss_fake(real, fake, kind, label_smoothing):
    return (real.new_empty(()), torch.empty_like(real, memory_format=torch.contiguous_format),
            torch.empty_like(fake, memory_format=torch.contiguous_format), real.new_empty((3,), dtype=_acc_dtype(real)))


@torch.library.register_fake("ganzoo::critic_tail")
def _critic_tail_fake(real, fake, grad, loss_kind, label_smoothing, penalty_kind, weight, center):
    loss, grad_real, grad_fake, _ = _critic_loss_fake(real, fake, loss_kind, label_smoothing)
    _, norms = _gradient_penalty_fake(grad, penalty_kind, weight, center)
    return loss, grad_real, grad_fake, norms, real.new_empty((4,), dtype=_acc_dtype(real))


@torch.library.register_fake("ganzoo::mlp_critic_grads")
def _mlp_critic_grads_fake(real, fake, point, weights, biases, slope, loss_kind, label_smoothing, penalty_kind, weight,
                           center):
    return (real.new_empty(()), real.new_empty((4,), dtype=_acc_dtype(real)), [torch.empty_like(w) for w in weights],
            [torch.empty_like(b) for b in biases])


# --------------------------------------------------------------------------------------------------------- autograd
def _reference_grads(outputs: torch.Tensor, inputs: list[torch.Tensor], grad_out: torch.Tensor) -> list:
    """d outputs / d inputs by the reference formula, kept differentiable (the create_graph path)."""
    wanted = [t for t in inputs if t.requires_grad]
    got = iter(torch.autograd.grad(outputs, wanted, grad_out, create_graph=True, allow_unused=True)) if wanted else iter(())
    return [next(got) if t.requires_grad else None for t in inputs]


def _gp_setup(ctx, inputs, output):
    grad, kind, weight, center = inputs
    _, norms = output
    ctx.mark_non_differentiable(norms)
    ctx.save_for_backward(grad, norms)
    ctx.args = (kind, weight, center)


def _gp_backward(ctx, grad_loss, _grad_norms):
    grad, norms = ctx.saved_tensors
    kind, weight, center = ctx.args
    if torch.is_grad_enabled():
        with torch.enable_grad():
            ref = gradient_penalty_ref(grad, penalty_name(kind), weight, center)
            (d_grad,) = _reference_grads(ref, [grad], grad_loss)
        return d_grad, None, None, None
    return torch.ops.ganzoo.gradient_penalty_backward(grad_loss, grad, norms, kind, weight, center), None, None, None


torch.library.register_autograd("ganzoo::gradient_penalty", _gp_backward, setup_context=_gp_setup)


def _critic_setup(ctx, inputs, output):
    real, fake, kind, smoothing = inputs
    _, grad_real, grad_fake, stats = output
    ctx.mark_non_differentiable(grad_real, grad_fake, stats)
    ctx.save_for_backward(real, fake, grad_real, grad_fake)
    ctx.args = (kind, smoothing)


def _critic_backward(ctx, grad_loss, _g1, _g2, _g3):
    real, fake, grad_real, grad_fake = ctx.saved_tensors
    if torch.is_grad_enabled():
        kind, smoothing = ctx.args
        with torch.enable_grad():
            ref = discriminator_loss_ref(loss_name(kind), real, fake, smoothing)
            d_real, d_fake = _reference_grads(ref, [real, fake], grad_loss)
        return d_real, d_fake, None, None
    return grad_loss * grad_real, grad_loss * grad_fake, None, None


torch.library.register_autograd("ganzoo::critic_loss", _critic_backward, setup_context=_critic_setup)


def _tail_setup(ctx, inputs, output):
    real, fake, grad, loss_kind, smoothing, penalty_kind, weight, center = inputs
    _, grad_real, grad_fake, norms, stats = output
    ctx.mark_non_differentiable(grad_real, grad_fake, norms, stats)
    ctx.save_for_backward(real, fake, grad, grad_real, grad_fake, norms)
    ctx.args = (loss_kind, smoothing, penalty_kind, weight, center)


def _tail_backward(ctx, grad_loss, _g1, _g2, _g3, _g4):
    real, fake, grad, grad_real, grad_fake, norms = ctx.saved_tensors
    loss_kind, smoothing, penalty_kind, weight, center = ctx.args
    nones = (None,) * 5
    if torch.is_grad_enabled():
        with torch.enable_grad():
            ref, _ = critic_tail_ref(real, fake, grad, loss_name(loss_kind), smoothing, penalty_name(penalty_kind), weight,
                                     center)
            return (*_reference_grads(ref, [real, fake, grad], grad_loss), *nones)
    d_grad = torch.ops.ganzoo.gradient_penalty_backward(grad_loss, grad, norms, penalty_kind, weight, center)
    return (grad_loss * grad_real, grad_loss * grad_fake, d_grad, *nones)


torch.library.register_autograd("ganzoo::critic_tail", _tail_backward, setup_context=_tail_setup)
