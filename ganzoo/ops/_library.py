"""What the op modules share to register their fake kernels and create-graph gradients with ``torch.library``.

Each op's module registers its own, beside its wrapper, through ``ganzoo.ops.extension.when_loaded``: the registrations
need the ops that ``ganzoo._C`` defines, so they run once it has loaded, and never where it is not built.
"""

from __future__ import annotations

import torch

_ACC = {torch.float64: torch.float64}


def acc_dtype(t: torch.Tensor) -> torch.dtype:
    """The dtype the kernels accumulate (and return statistics) in for inputs like ``t``: float64 stays, the rest float32."""
    return _ACC.get(t.dtype, torch.float32)


def reference_grads(outputs: torch.Tensor, inputs: list[torch.Tensor], grad_out: torch.Tensor) -> list[torch.Tensor]:
    """d outputs / d inputs by the reference formula, kept differentiable; zeros for an input that needs none.

    The autograd kernels are C++ (csrc/autograd.cpp): their first-order backward runs the fused backward kernels. When a
    backward is itself differentiated (``create_graph=True``), they call the ``*_ref_grad(s)`` ops instead, which the op
    modules implement with this: the reference's gradients, traced by autograd, so higher derivatives are exactly the
    reference's."""
    wanted = [t for t in inputs if t.requires_grad]
    got = iter(torch.autograd.grad(outputs, wanted, grad_out, create_graph=True, allow_unused=True)) if wanted else iter(())
    grads = [next(got) if t.requires_grad else None for t in inputs]
    return [torch.zeros_like(t) if g is None else g for g, t in zip(grads, inputs)]
