"""The hook implementations: loss ``lsgan``, dataset ``spiral``, metric ``energy``. Torch is imported only on use."""

from __future__ import annotations

import ganzoo

GANZOO_API_VERSION = 2

LSGAN = ganzoo.Loss(
    name="lsgan",
    description="least squares (Mao et al. 2017): D pulls real to 1 and fake to 0, G pulls fake to 1",
    discriminator=ganzoo.lazy("ganzoo_lsgan.losses:discriminator_loss"),
    generator=ganzoo.lazy("ganzoo_lsgan.losses:generator_loss"),
    # Real targets 1 - s are meaningful here, as for BCE.
    label_smoothing=True,
)

SPIRAL = ganzoo.Dataset(
    name="spiral",
    description="2-D spiral with 3 arms (labels: the arm), generated from the seed; --set data.arms=K",
    kind="points",
    load=ganzoo.lazy("ganzoo_lsgan.data:load_spiral"),
    has_labels=True,
)

ENERGY = ganzoo.Metric(
    name="energy",
    description="energy distance to held-out real data (Szekely & Rizzo), unbiased, any data; 0 for equal laws",
    compute=ganzoo.lazy("ganzoo_lsgan.metrics:compute_energy"),
    primary="energy",
    higher_is_better=False,
)


@ganzoo.hookimpl
def register_losses(register):
    register(LSGAN)


@ganzoo.hookimpl
def register_datasets(register):
    register(SPIRAL)


@ganzoo.hookimpl
def register_metrics(register):
    register(ENERGY)
