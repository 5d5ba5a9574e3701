"""Built-in architectures plugin: vanilla, dcgan, wgan_gp and progan, with their papers' defaults."""

from __future__ import annotations

from ganzoo.hookspecs import hookimpl
from ganzoo.specs import Architecture, lazy

VANILLA = Architecture(
    name="vanilla",
    description="Goodfellow et al. 2014: MLP generator and discriminator, non-saturating BCE loss",
    build=lazy("ganzoo.zoo.builders:build_vanilla"),
    hyperparameters={"latent_dim": 0, "hidden": 256, "depth": 3, "g_batchnorm": "auto"},
    training={"lr_g": 2e-4, "lr_d": 2e-4, "betas": (0.5, 0.999), "n_critic": 1, "batch_size": 64},
    default_loss="bce",
    default_dataset="ring",
    capabilities=frozenset({"penalty"}),
    paper="Goodfellow et al., Generative Adversarial Nets, NeurIPS 2014",
)

DCGAN = Architecture(
    name="dcgan",
    description="Radford et al. 2016: transposed-conv G and strided-conv D with BatchNorm, images of any 2^k >= 8",
    build=lazy("ganzoo.zoo.builders:build_dcgan"),
    # mbstd_group: ProGAN's minibatch standard deviation before D's head, off (0) as in the paper; g_conditioning: how
    # a conditional G reads its class: a one-hot input (the paper's era), class-conditional BatchNorm, or both
    hyperparameters={"latent_dim": 100, "base_channels": 64, "norm": "batch", "mbstd_group": 0,
                     "g_conditioning": "input"},
    # Batch 64 (pytorch/examples' and the large-scale study's; the paper's is 128) for 4,000 steps: the images of 2,000
    # steps at 128 in twice the updates, for ~1.1x the time. At equal wall time batch 128 lost to the textbook script
    # on MNIST, batch 64 beat it, also on Fashion-MNIST; at the published protocol FID 56.0 -> 49.0 (RESULTS.md).
    # DiffAugment (translation, cutout): at the published protocol 49.0 -> 37.3 at equal steps and seed, and 38.6 / 36.4
    # / 38.5 over three seeds in bf16 (RESULTS.md). precision auto: bf16 on a CPU with native bf16, 1.4-2.1x the
    # float32 step, FID within the seeds' spread of float32 over 3 seeds; float32 on other CPUs and on CUDA.
    training={"lr_g": 2e-4, "lr_d": 2e-4, "betas": (0.5, 0.999), "n_critic": 1, "batch_size": 64, "steps": 4000,
              "augment": "translation,cutout", "precision": "auto"},
    # Fashion-MNIST: 7,000 steps, what bf16 fits in the default command's 15 minutes (12.5-13.0 on a 2-core Zen 4): at the
    # published protocol 37.8 -> 27.1 (three seeds each: 26.1 / 27.7 / 27.5; RESULTS.md)
    dataset_defaults={"fashion_mnist": {"steps": 7000}},
    default_loss="bce",
    default_dataset="digits",
    data_kinds=("images",),
    paper="Radford, Metz & Chintala, Unsupervised Representation Learning with DCGANs, ICLR 2016",
)

WGAN_GP = Architecture(
    name="wgan_gp",
    description="Gulrajani et al. 2017: critic without BatchNorm, Wasserstein loss + gradient penalty, n_critic 5",
    build=lazy("ganzoo.zoo.builders:build_wgan_gp"),
    # hidden 128: the paper's toy code uses 512; 128 is ~3x cheaper on a CPU and covers the ring as well (README)
    hyperparameters={"latent_dim": 0, "hidden": 128, "depth": 3, "base_channels": 64, "norm": "layer",
                     "g_conditioning": "input"},
    # Images: the paper's settings. 2-D points: its toy-experiment code's (batch 256, beta1 0.5, lambda 0.1); with the
    # image settings the ring is covered in 1 of 3 seeds after 2,000 steps, with these in every seed tried by step 500.
    # Points also take lr 1e-3, 8,000 steps and a linear decay to 0: at 1e-4 the ring needed 20,000 steps for 94% of
    # samples within 3 sigma; at 1e-3 it gets 94-96% in 4,000, and 97% in 8,000 with the decay, which stops the late
    # swings of a constant lr (96-97.5% between validations), in about 70 s on 2 cores (benchmarks/RESULTS.md).
    training={"lr_g": 1e-4, "lr_d": 1e-4, "betas": (0.0, 0.9), "n_critic": 5, "batch_size": 64,
              "points": {"batch_size": 256, "betas": (0.5, 0.9), "penalty_weight": 0.1, "lr_g": 1e-3, "lr_d": 1e-3,
                         "steps": 8000, "lr_decay": "linear"}},
    # The grid's 25 modes need a wider critic and generator than the ring's 8: at width 128 a 4,000-step run reached
    # 27-53% of samples within 3 sigma, at 256 70% (benchmarks/RESULTS.md); 512 costs about 10x a step on a CPU.
    dataset_defaults={"grid": {"hidden": 256}},
    default_loss="wgan_gp",
    default_dataset="ring",
    capabilities=frozenset({"penalty"}),
    paper="Gulrajani et al., Improved Training of Wasserstein GANs, NeurIPS 2017",
)


PROGAN = Architecture(
    name="progan",
    description="Karras et al. 2018: progressive growing from 4x4, fade-ins, equalised lr, pixel norm, minibatch stddev",
    build=lazy("ganzoo.zoo.progan:build_progan"),
    schedule=lazy("ganzoo.zoo.progan:progan_schedule"),
    # The paper's parts are on by default; the sizes are scaled down for a CPU run of digits 4 -> 8 -> 16 (paper:
    # latent_dim 512, fmap_base 16384, fmap_max 512 (512 channels up to 32x32), 800k images per fade-in and per stable phase).
    hyperparameters={"latent_dim": 128, "fmap_base": 256, "fmap_max": 64, "pixelnorm": True, "equalized_lr": True,
                     "mbstd_group": 4, "fade_images": 12800, "stable_images": 12800, "reset_optimizers": True,
                     "batch_sizes": {}},
    training={"lr_g": 1e-3, "lr_d": 1e-3, "betas": (0.0, 0.99), "n_critic": 1, "batch_size": 32, "ema": 0.999,
              "steps": 2400},
    default_loss="wgan_gp_drift",
    default_dataset="digits",
    data_kinds=("images",),
    # The minibatch-stddev layer couples the samples of a batch; the paper trains it with WGAN-GP all the same.
    capabilities=frozenset({"penalty"}),
    conditional=False,
    paper="Karras et al., Progressive Growing of GANs for Improved Quality, Stability, and Variation, ICLR 2018",
)


@hookimpl
def register_architectures(register):
    for arch in (VANILLA, DCGAN, WGAN_GP, PROGAN):
        register(arch)
