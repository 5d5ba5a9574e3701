"""Built-in losses plugin: bce, hinge, wasserstein, wgan_gp (Wasserstein + two-sided gradient penalty), wgan_gp_drift
(wgan_gp plus ProGAN's drift term), and the relativistic average losses ragan and rahinge."""

from __future__ import annotations

import functools

from ganzoo.hookspecs import hookimpl
from ganzoo.specs import Loss, Penalty, lazy

_d = lazy("ganzoo.ops:discriminator_loss")
_g = lazy("ganzoo.ops:generator_loss")
_rd = lazy("ganzoo.ops:relativistic_discriminator_loss")
_rg = lazy("ganzoo.ops:relativistic_generator_loss")


def _kind(kind: str) -> tuple:
    return functools.partial(_d, kind), functools.partial(_g, kind)


@hookimpl
def register_losses(register):
    register(Loss("bce", "non-saturating binary cross-entropy (Goodfellow et al. 2014), softplus form",
                  *_kind("bce"), label_smoothing=True, kind="bce"))
    register(Loss("hinge", "hinge loss (Lim & Ye 2017; Miyato et al. 2018)", *_kind("hinge"), kind="hinge"))
    register(Loss("wasserstein", "Wasserstein critic loss without a penalty: needs a critic Lipschitz by construction",
                  *_kind("wasserstein"), requires=frozenset({"lipschitz"}), kind="wasserstein"))
    register(Loss("wgan_gp", "Wasserstein loss + two-sided gradient penalty, lambda 10 (Gulrajani et al. 2017)",
                  *_kind("wasserstein"), penalty=Penalty("two_sided", 10.0, 1.0), requires=frozenset({"penalty"}),
                  kind="wasserstein"))
    for kind, name, what in (("bce", "ragan", "relativistic average GAN, BCE form"),
                             ("hinge", "rahinge", "relativistic average hinge loss")):
        register(Loss(name, f"{what} (Jolicoeur-Martineau 2019): each side scored relative to the other's mean",
                      functools.partial(_rd, kind), functools.partial(_rg, kind), label_smoothing=kind == "bce",
                      generator_takes_real=True))
    register(Loss("wgan_gp_drift", "wgan_gp plus the drift term 0.001 * E[D(x)^2] on real data (Karras et al. 2018)",
                  lazy("ganzoo.ops:wasserstein_drift_loss"), functools.partial(_g, "wasserstein"),
                  penalty=Penalty("two_sided", 10.0, 1.0), requires=frozenset({"penalty"})))
