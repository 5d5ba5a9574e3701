"""Network builders of the built-in architectures (imported only when an architecture is used)."""

from __future__ import annotations

from typing import Any, Mapping

from ganzoo.errors import ConfigError
from ganzoo.nets import NORMS, ConvDiscriminator, ConvGenerator, MLPDiscriminator, MLPGenerator, dcgan_init
from ganzoo.specs import DataInfo, GanModels

__all__ = ["build_vanilla", "build_dcgan", "build_wgan_gp"]


def _positive(hp: Mapping[str, Any], *keys: str) -> None:
    for key in keys:
        if not isinstance(hp[key], int) or hp[key] < 1:
            raise ConfigError(f"{key}={hp[key]!r} must be a positive integer: e.g. --set {key}=64")


def _latent(hp: Mapping[str, Any], info: DataInfo, points_default: int, images_default: int) -> int:
    latent = hp["latent_dim"] or (points_default if info.kind == "points" else images_default)
    if not isinstance(latent, int) or latent < 1:
        raise ConfigError(f"latent_dim={latent!r} must be a positive integer (0 picks the default)")
    return latent


def _square_image(info: DataInfo, arch: str, min_size: int) -> tuple[int, int]:
    channels, height, width = info.shape
    if height != width or height < min_size or height & (height - 1):
        raise ConfigError(f"{arch} needs square power-of-two images of at least {min_size}x{min_size}, got {height}x{width}: "
                          f"use --image-size {max(min_size, 16)}")
    return channels, height


def build_vanilla(info: DataInfo, hp: Mapping[str, Any], num_classes: int = 0) -> GanModels:
    """Goodfellow et al. 2014: MLP generator (ReLU) and discriminator (LeakyReLU), on points or flattened images."""
    _positive(hp, "hidden", "depth")
    latent = _latent(hp, info, 8, 100)
    images = info.kind == "images"
    g_norm = hp.get("g_batchnorm", "auto")
    if isinstance(g_norm, bool):
        g_norm = "on" if g_norm else "off"
    if g_norm not in ("auto", "on", "off"):
        raise ConfigError(f"g_batchnorm={g_norm!r} must be auto, on or off")
    # auto: BatchNorm in G on images, where without it G collapsed to one digit on `digits` (benchmarks/RESULTS.md)
    g = MLPGenerator(latent, info.shape, hp["hidden"], hp["depth"], num_classes, tanh=images,
                     batchnorm=g_norm == "on" or (g_norm == "auto" and images))
    d = MLPDiscriminator(info.shape, hp["hidden"], hp["depth"], num_classes)
    return GanModels(generator=g, discriminator=d, latent_dim=latent)


def minibatch_group(hp: Mapping[str, Any]) -> int:
    """A critic's ``mbstd_group`` (dcgan's and progan's), absent in configs written before dcgan had it."""
    group = hp.get("mbstd_group", 0)
    if not isinstance(group, int) or isinstance(group, bool) or group < 0:
        raise ConfigError(f"mbstd_group={group!r} must be a group size (0 or 1: off), e.g. --set mbstd_group=4")
    return group


G_CONDITIONINGS = {"input": "a one-hot class joined to the noise",
                   "batchnorm": "class-conditional BatchNorm gains and biases in every block",
                   "both": "the one-hot input and the class-conditional BatchNorm"}


def g_conditioning(hp: Mapping[str, Any], num_classes: int) -> dict[str, bool]:
    """How a conv generator reads its class, as ``ConvGenerator``'s keyword arguments, from ``g_conditioning``:
    ``input`` (the default, and what configs written before the option meant), ``batchnorm`` or ``both``."""
    how = hp.get("g_conditioning", "input")
    if how not in G_CONDITIONINGS:
        raise ConfigError(f"g_conditioning={how!r} must be one of: "
                          + "; ".join(f"{name} ({meaning})" for name, meaning in G_CONDITIONINGS.items()))
    if how != "input" and not num_classes:
        raise ConfigError(f"g_conditioning={how} conditions the generator on classes: add --conditional, "
                          "or drop the setting")
    return {"one_hot_input": how in ("input", "both"), "class_norm": how in ("batchnorm", "both")}


def build_dcgan(info: DataInfo, hp: Mapping[str, Any], num_classes: int = 0) -> GanModels:
    """Radford et al. 2016: transposed-conv G (BatchNorm, ReLU, tanh), strided-conv D (BatchNorm, LeakyReLU 0.2)."""
    _positive(hp, "base_channels")
    if hp["norm"] not in NORMS:
        raise ConfigError(f"norm={hp['norm']!r} is not one of {', '.join(NORMS)}")
    channels, size = _square_image(info, "dcgan", 8)
    latent = _latent(hp, info, 100, 100)
    mbstd = minibatch_group(hp)
    g = ConvGenerator(latent, channels, size, hp["base_channels"], num_classes, **g_conditioning(hp, num_classes))
    d = ConvDiscriminator(channels, size, hp["base_channels"], hp["norm"], num_classes, mbstd_group=mbstd)
    dcgan_init(g)
    dcgan_init(d)
    return GanModels(generator=g, discriminator=d, latent_dim=latent)


def build_wgan_gp(info: DataInfo, hp: Mapping[str, Any], num_classes: int = 0) -> GanModels:
    """Gulrajani et al. 2017: MLPs for points (as in the paper's toy experiments, no normalisation), DCGAN-like conv nets for
    images with a critic normalised per sample (``norm="layer"``), spectrally (``norm="spectral"``) or not at all, since
    BatchNorm would invalidate the per-sample penalty."""
    if hp["norm"] not in ("layer", "none", "spectral"):
        raise ConfigError(f"norm={hp['norm']!r}: the critic of wgan_gp must be 'layer', 'spectral' or 'none' "
                          "(BatchNorm couples the samples of a batch and breaks the per-sample gradient penalty)")
    if info.kind == "points":
        _positive(hp, "hidden", "depth")
        if g_conditioning(hp, num_classes)["class_norm"]:
            raise ConfigError(f"g_conditioning={hp['g_conditioning']} is for wgan_gp's conv generator on images: drop "
                              "it on points")
        latent = _latent(hp, info, 2, 128)
        g = MLPGenerator(latent, info.shape, hp["hidden"], hp["depth"], num_classes)
        d = MLPDiscriminator(info.shape, hp["hidden"], hp["depth"], num_classes)
        return GanModels(generator=g, discriminator=d, latent_dim=latent)
    _positive(hp, "base_channels")
    channels, size = _square_image(info, "wgan_gp", 8)
    latent = _latent(hp, info, 2, 128)
    g = ConvGenerator(latent, channels, size, hp["base_channels"], num_classes, **g_conditioning(hp, num_classes))
    # DCGAN's N(0, 0.02) start for G. torch's default gives the last transposed conv weights up to 1/sqrt(16): with
    # BatchNorm free to gather a channel's energy at a few positions, real MNIST at 32x32 drove a fixed lattice of
    # pixels into tanh's flat tail within 10 steps, where G gets no gradient to remove it (benchmarks/RESULTS.md).
    dcgan_init(g)
    d = ConvDiscriminator(channels, size, hp["base_channels"], hp["norm"], num_classes)
    return GanModels(generator=g, discriminator=d, latent_dim=latent)
