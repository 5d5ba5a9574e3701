"""Adversarial losses over raw discriminator logits.

``discriminator_loss`` runs the fused kernel of ``ganzoo._C`` when it is built (loss and both gradients in one pass);
``discriminator_loss_ref`` (``ganzoo.ops.reference``) is the plain-PyTorch specification. ``bce`` uses softplus, so it
is exact and finite for any logit (log(sigmoid(x)) = -softplus(-x)).
"""

from __future__ import annotations

from typing import Optional

import torch

from ganzoo.kinds import check_label_smoothing, loss_kind, loss_name
from ganzoo.ops._impl import use_extension
from ganzoo.ops._library import acc_dtype, reference_grads
from ganzoo.ops.extension import when_loaded
from ganzoo.ops.reference import discriminator_loss_ref, generator_loss_ref, logit_stats_ref

__all__ = ["DRIFT", "wasserstein_drift_loss", "relativistic_discriminator_loss", "relativistic_generator_loss", "discriminator_loss", "discriminator_loss_with_stats", "generator_loss"]


def discriminator_loss_with_stats(kind: str, real: torch.Tensor, fake: torch.Tensor, label_smoothing: float = 0.0, *,
                                  impl: Optional[str] = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The loss and ``[mean D(real), mean D(fake), accuracy]`` (accuracy: real logits > 0 and fake logits < 0), the
    statistics computed in the same pass and left on the device, so logging them costs no extra sync."""
    code = loss_kind(kind).code
    check_label_smoothing(kind, label_smoothing)
    if use_extension(impl, real, fake):
        loss, _, _, stats = torch.ops.ganzoo.critic_loss(real, fake, code, float(label_smoothing))
        return loss, stats
    return discriminator_loss_ref(kind, real, fake, label_smoothing), logit_stats_ref(real, fake)


def discriminator_loss(kind: str, real: torch.Tensor, fake: torch.Tensor, label_smoothing: float = 0.0, *,
                       impl: Optional[str] = None) -> torch.Tensor:
    """The discriminator's loss (see ``discriminator_loss_ref``), fused when the kernels are available."""
    return discriminator_loss_with_stats(kind, real, fake, label_smoothing, impl=impl)[0]


def _critic_loss_fake(real, fake, kind, label_smoothing):
    """The shapes and dtypes ``ganzoo::critic_loss`` returns, for torch.compile's tracing."""
    return (real.new_empty(()), torch.empty_like(real, memory_format=torch.contiguous_format),
            torch.empty_like(fake, memory_format=torch.contiguous_format), real.new_empty((3,), dtype=acc_dtype(real)))


def _critic_loss_ref_grads(grad_out, real, fake, kind, label_smoothing):
    """The loss's gradients by the reference, for a create_graph backward through the fused kernel."""
    with torch.enable_grad():
        ref = discriminator_loss_ref(loss_name(kind), real, fake, label_smoothing)
        d_real, d_fake = reference_grads(ref, [real, fake], grad_out)
    return d_real, d_fake


@when_loaded
def _register() -> None:
    torch.library.register_fake("ganzoo::critic_loss", _critic_loss_fake)
    torch.library.impl("ganzoo::critic_loss_ref_grads", "CompositeImplicitAutograd", func=_critic_loss_ref_grads)


def relativistic_discriminator_loss(kind: str, real: torch.Tensor, fake: torch.Tensor,
                                    label_smoothing: float = 0.0) -> torch.Tensor:
    """Relativistic average loss of the critic (Jolicoeur-Martineau 2019): ``kind``'s loss on each side's logits taken
    relative to the other side's mean, ``real - mean(fake)`` and ``fake - mean(real)``. RaGAN is ``"bce"``
    (``-E log sigmoid(r - mean f) - E log(1 - sigmoid(f - mean r))``), the relativistic hinge ``"hinge"``."""
    real, fake = real.float(), fake.float()
    return discriminator_loss(kind, real - fake.mean(), fake - real.mean(), label_smoothing)


def relativistic_generator_loss(kind: str, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """The generator's side of ``relativistic_discriminator_loss``: the same loss with real and fake swapped, so the
    generator wants its samples to score above the real ones' mean and the real ones below its samples' mean."""
    real, fake = real.float().detach(), fake.float()
    return discriminator_loss(kind, fake - real.mean(), real - fake.mean())


DRIFT = 1e-3  # Karras et al. 2018, epsilon_drift: keeps the critic's outputs from drifting far from zero


def wasserstein_drift_loss(real: torch.Tensor, fake: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
    """ProGAN's critic loss: ``mean D(fake) - mean D(real) + 0.001 * mean D(real)^2`` (the penalty is added by the trainer)."""
    check_label_smoothing("wasserstein_drift", label_smoothing)
    return discriminator_loss("wasserstein", real, fake) + DRIFT * real.square().mean()


# One small reduction with nothing around it to fuse: the reference is already a single pass.
generator_loss = generator_loss_ref
