"""The fused ops' Python face. The trainer and the built-in networks call only these functions.

Each op is one module: ``losses`` (the discriminator losses, ``critic_loss`` in the kernels), ``penalty`` (the gradient
penalty), ``tail`` (loss and penalty in one kernel), ``mlp_critic`` (an MLP critic's hand-derived gradient) and
``pixel_norm`` (LeakyReLU and progressive growing's pixel norm in one pass, for progan's generator). A module holds its
op's wrapper, which picks kernel or reference per call (``impl="auto" | "ext" | "ref"``; None: the current default,
which ``default_impl`` sets for a block of code), its fake kernel for torch.compile and its create-graph gradient,
registered when the extension loads, on import (``extension.when_loaded``).

The pure-PyTorch references are all in ``reference.py``, on purpose: they are the specification the kernels are tested
against, the fallback where the kernels are not built and what gives higher derivatives, and read as one page they
show every formula ganzoo computes. ``csrc/`` implements the same formulas for CPU and CUDA.
"""

from ganzoo.kinds import LOSS_KINDS, PENALTY_KINDS
from ganzoo.ops._impl import IMPLS, default_impl, use_extension
from ganzoo.ops.extension import extension_status
from ganzoo.ops.losses import (
    DRIFT,
    discriminator_loss,
    discriminator_loss_with_stats,
    generator_loss,
    relativistic_discriminator_loss,
    relativistic_generator_loss,
    wasserstein_drift_loss,
)
from ganzoo.ops.mlp_critic import mlp_critic_grads
from ganzoo.ops.penalty import gradient_penalty, interpolate
from ganzoo.ops.pixel_norm import leaky_pixel_norm
from ganzoo.ops.reference import (
    critic_tail_ref,
    discriminator_loss_ref,
    generator_loss_ref,
    gradient_penalty_ref,
    interpolate_ref,
    leaky_pixel_norm_ref,
    logit_stats_ref,
    mlp_critic_grads_ref,
    mlp_critic_ref,
)
from ganzoo.ops.stats import CriticStats
from ganzoo.ops.tail import critic_tail

# Load ganzoo._C now, as extension-cpp's ops.py does, so that the op modules' registrations run here and never inside a
# function torch.compile is tracing (it refuses to trace torch.library's registration). Where the extension is not
# built this records why, and the ops fall back to the references.
extension_status()

__all__ = [
    "IMPLS", "default_impl", "use_extension", "LOSS_KINDS", "PENALTY_KINDS",
    "DRIFT", "discriminator_loss", "discriminator_loss_with_stats", "generator_loss", "wasserstein_drift_loss",
    "relativistic_discriminator_loss", "relativistic_generator_loss",
    "gradient_penalty", "interpolate", "critic_tail", "CriticStats", "mlp_critic_grads",
    "leaky_pixel_norm", "leaky_pixel_norm_ref",
    "critic_tail_ref", "discriminator_loss_ref", "logit_stats_ref", "generator_loss_ref", "gradient_penalty_ref",
    "interpolate_ref", "mlp_critic_ref", "mlp_critic_grads_ref",
]
