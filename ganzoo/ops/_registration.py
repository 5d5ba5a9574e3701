"""Fake (meta) kernels of the compiled ops, so torch.compile can trace code that calls them, and the reference
gradients their C++ autograd kernels (csrc/autograd.cpp) use when a backward is itself differentiated
(``create_graph=True``), so higher derivatives are exactly the reference's. Registered once, on import, which
``ganzoo.ops.extension`` does right after ``ganzoo._C`` has defined the ops.
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


# ------------------------------------------------------------------------- reference gradients (create_graph backward)
# The autograd kernels are C++ (csrc/autograd.cpp): their first-order backward runs the fused backward kernels. When a
# backward is itself differentiated, they call these ops instead: the reference's gradients, traced by autograd.
def _reference_grads(outputs: torch.Tensor, inputs: list[torch.Tensor], grad_out: torch.Tensor) -> list[torch.Tensor]:
    """d outputs / d inputs by the reference formula, kept differentiable; zeros for an input that needs none."""
    wanted = [t for t in inputs if t.requires_grad]
    got = iter(torch.autograd.grad(outputs, wanted, grad_out, create_graph=True, allow_unused=True)) if wanted else iter(())
    grads = [next(got) if t.requires_grad else None for t in inputs]
    return [torch.zeros_like(t) if g is None else g for g, t in zip(grads, inputs)]


@torch.library.impl("ganzoo::gradient_penalty_ref_grad", "CompositeImplicitAutograd")
def _gradient_penalty_ref_grad(grad_out, grad, kind, weight, center):
    with torch.enable_grad():
        (d_grad,) = _reference_grads(gradient_penalty_ref(grad, penalty_name(kind), weight, center), [grad], grad_out)
    return d_grad


@torch.library.impl("ganzoo::critic_loss_ref_grads", "CompositeImplicitAutograd")
def _critic_loss_ref_grads(grad_out, real, fake, kind, label_smoothing):
    with torch.enable_grad():
        ref = discriminator_loss_ref(loss_name(kind), real, fake, label_smoothing)
        d_real, d_fake = _reference_grads(ref, [real, fake], grad_out)
    return d_real, d_fake


@torch.library.impl("ganzoo::critic_tail_ref_grads", "CompositeImplicitAutograd")
def _critic_tail_ref_grads(grad_out, real, fake, grad, loss_kind, label_smoothing, penalty_kind, weight, center):
    with torch.enable_grad():
        ref, _ = critic_tail_ref(real, fake, grad, loss_name(loss_kind), label_smoothing, penalty_name(penalty_kind),
                                 weight, center)
        d_real, d_fake, d_grad = _reference_grads(ref, [real, fake, grad], grad_out)
    return d_real, d_fake, d_grad
