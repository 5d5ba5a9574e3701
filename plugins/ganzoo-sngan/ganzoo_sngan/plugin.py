"""The hook implementations ganzoo calls: one architecture (``sngan``) and one loss (``sngan_hinge``).

This module imports only ``ganzoo`` (which does not import torch), so ``ganzoo list`` stays fast; the networks are built
by ``ganzoo_sngan.nets``, imported the first time a run needs them (``ganzoo.lazy``).
"""

from __future__ import annotations

import ganzoo

# The plugin API this package was written for; ganzoo reports a mismatch in `ganzoo list` and `ganzoo doctor`.
GANZOO_API_VERSION = 2

SNGAN = ganzoo.Architecture(
    name="sngan",
    description="Miyato et al. 2018: spectral-norm CNN (or MLP) discriminator, hinge loss, projection for classes",
    build=ganzoo.lazy("ganzoo_sngan.nets:build_sngan"),
    # base_channels 32: the paper's standard CNN has 64 (512 channels at 4x4 for 32x32 images); 32 is 4x cheaper on a CPU.
    hyperparameters={"latent_dim": 128, "base_channels": 32, "hidden": 128, "depth": 3, "power_iterations": 1,
                     "leak": 0.1},
    # The paper's setting C (Table 1), its best for the standard CNN: Adam 2e-4, betas (0.5, 0.999), one D step per G step.
    training={"lr_g": 2e-4, "lr_d": 2e-4, "betas": (0.5, 0.999), "n_critic": 1, "batch_size": 64},
    default_loss="sngan_hinge",
    default_dataset="digits",
    # Spectral norm bounds the critic by construction ("lipschitz"); it has no batch-coupling layer, so gradient
    # penalties stay valid too ("penalty").
    capabilities=frozenset({"lipschitz", "penalty"}),
    conditional=True,
    paper="Miyato, Kataoka, Koyama & Yoshida, Spectral Normalization for Generative Adversarial Networks, ICLR 2018",
)


SNGAN_HINGE = ganzoo.Loss(
    name="sngan_hinge",
    description="SNGAN's hinge loss: ganzoo's hinge, refused for critics that are not Lipschitz by construction",
    # ganzoo's own hinge, for the critic and the generator: the fused C++/CUDA kernel when the extension is built
    kind="hinge",
    requires=frozenset({"lipschitz"}),
)


@ganzoo.hookimpl
def register_architectures(register):
    register(SNGAN)


@ganzoo.hookimpl
def register_losses(register):
    register(SNGAN_HINGE)
