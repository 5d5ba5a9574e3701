"""Built-in losses plugin: bce, hinge, wasserstein, wgan_gp (Wasserstein + two-sided gradient penalty), wgan_gp_drift
(wgan_gp plus ProGAN's drift term), bce_r1 (bce + R1), and the relativistic average losses ragan and rahinge."""

from __future__ import annotations

import functools

from ganzoo.hookspecs import hookimpl
from ganzoo.specs import Loss, Penalty, lazy

_g = lazy("ganzoo.ops:generator_loss")
_rd = lazy("ganzoo.ops:relativistic_discriminator_loss")
_rg = lazy("ganzoo.ops:relativistic_generator_loss")


@hookimpl
def register_losses(register):
    # a standard loss is its kind: ganzoo runs that kind's critic and generator losses, on the fused kernels
    register(Loss(name="bce", description="non-saturating binary cross-entropy (Goodfellow et al. 2014), softplus form",
                  kind="bce", label_smoothing=True))
    register(Loss(name="hinge", description="hinge loss (Lim & Ye 2017; Miyato et al. 2018)", kind="hinge"))
    register(Loss(name="wasserstein",
                  description="Wasserstein critic loss without a penalty: needs a critic Lipschitz by construction",
                  kind="wasserstein", requires=frozenset({"lipschitz"})))
    register(Loss(name="wgan_gp",
                  description="Wasserstein loss + two-sided gradient penalty, lambda 10 (Gulrajani et al. 2017)",
                  kind="wasserstein", penalty=Penalty(kind="two_sided", weight=10.0, center=1.0),
                  requires=frozenset({"penalty"})))
    # gamma 1: between StyleGAN2-ADA's heuristic for 32x32 (0.0002 * 32^2 / 64 = 0.003) and the 10 Mescheder et al. used
    # from 64x64 up; --penalty-weight sets it. Not tuned: on Fashion-MNIST with dcgan's nets and a BN-free critic, 0.1
    # beat 1 at 4,000 steps but both trailed dcgan's BatchNorm critic (benchmarks/RESULTS.md, session 23)
    register(Loss(name="bce_r1",
                  description="bce + R1: gamma / 2 * E||grad D(x)||^2 on real data, gamma 1 (Mescheder et al. 2018)",
                  kind="bce", penalty=Penalty(kind="r1", weight=1.0), requires=frozenset({"penalty"}),
                  label_smoothing=True))
    for kind, name, what in (("bce", "ragan", "relativistic average GAN, BCE form"),
                             ("hinge", "rahinge", "relativistic average hinge loss")):
        register(Loss(name=name,
                      description=f"{what} (Jolicoeur-Martineau 2019): each side scored relative to the other's mean",
                      discriminator=functools.partial(_rd, kind), generator=functools.partial(_rg, kind),
                      label_smoothing=kind == "bce", generator_takes_real=True))
    register(Loss(name="wgan_gp_drift",
                  description="wgan_gp plus the drift term 0.001 * E[D(x)^2] on real data (Karras et al. 2018)",
                  discriminator=lazy("ganzoo.ops:wasserstein_drift_loss"), generator=functools.partial(_g, "wasserstein"),
                  penalty=Penalty(kind="two_sided", weight=10.0, center=1.0), requires=frozenset({"penalty"})))
