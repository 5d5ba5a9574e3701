"""The hook implementations ganzoo calls: a packed version of each of ganzoo's built-in point architectures.

``pac_wgan_gp`` and ``pac_vanilla`` are ``wgan_gp`` and ``vanilla`` with the same generator, loss and training defaults,
and a critic that takes ``pack`` samples at once (PacGAN). This module imports only ``ganzoo`` (not torch), so
``ganzoo list`` stays fast; the networks are built by ``ganzoo_pacgan.nets`` when a run needs them.
"""

from __future__ import annotations

import dataclasses

import ganzoo
from ganzoo.zoo.architectures import VANILLA, WGAN_GP

# The plugin API this package was written for; ganzoo reports a mismatch in `ganzoo list` and `ganzoo doctor`.
GANZOO_API_VERSION = 2

PAPER = "Lin, Khetan, Fanti & Oh, PacGAN: The Power of Two Samples in Generative Adversarial Networks, NeurIPS 2018"
DEFAULT_PACK = 4  # the paper's PacGAN4, its best row on the ring and the grid (Table 1)


def packed(base: ganzoo.Architecture) -> ganzoo.Architecture:
    """``base`` with a critic that judges ``pack`` samples concatenated; everything else is the base's."""
    return dataclasses.replace(
        base,
        name=f"pac_{base.name}",
        description=f"PacGAN: {base.name} whose critic judges packs of `pack` samples (default {DEFAULT_PACK}); 2-D points",
        build=ganzoo.lazy(f"ganzoo_pacgan.nets:build_pac_{base.name}"),
        hyperparameters={**base.hyperparameters, "pack": DEFAULT_PACK},
        data_kinds=("points",),
        # a pack mixes samples, and one label per pack would be a different method (the paper is unconditional)
        conditional=False,
        paper=PAPER,
    )


PAC_WGAN_GP = packed(WGAN_GP)
PAC_VANILLA = packed(VANILLA)


@ganzoo.hookimpl
def register_architectures(register):
    register(PAC_WGAN_GP)
    register(PAC_VANILLA)
