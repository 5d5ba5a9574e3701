"""SNGAN's networks (Miyato et al. 2018, Table 3, "standard CNN"), sized by the image, and MLPs for 2-D points.

Every weight layer of the discriminator is spectrally normalised (``torch.nn.utils.parametrizations.spectral_norm``):
W / sigma(W), sigma estimated by power iteration, one step per forward pass as in the paper, so each layer is 1-Lipschitz
and so is the critic (LeakyReLU is 1-Lipschitz). Class labels enter G as a one-hot code and D by projection (Miyato &
Koyama 2018).
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Optional

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from ganzoo import DataInfo, GanModels
from ganzoo.errors import ConfigError

__all__ = ["SNConvDiscriminator", "SNMLPDiscriminator", "ConvGenerator", "MLPGenerator", "build_sngan"]


def _sn(layer: nn.Module, power_iterations: int) -> nn.Module:
    return spectral_norm(layer, n_power_iterations=power_iterations)


class ConvGenerator(nn.Module):
    """z -> dense 4x4 -> (4x4 stride-2 deconv, BatchNorm, ReLU) per doubling -> 3x3 conv -> tanh."""

    def __init__(self, latent_dim: int, channels: int, size: int, base: int, num_classes: int = 0):
        super().__init__()
        self.num_classes = num_classes
        doublings = int(math.log2(size)) - 2
        widths = [base * 2 ** (doublings - i) for i in range(doublings + 1)]  # 4x4 widest, `base` at full size
        self.dense = nn.Sequential(nn.Linear(latent_dim + num_classes, 16 * widths[0]), nn.BatchNorm1d(16 * widths[0]),
                                   nn.ReLU())
        blocks: list[nn.Module] = []
        for wide, narrow in zip(widths, widths[1:]):
            blocks += [nn.ConvTranspose2d(wide, narrow, 4, 2, 1), nn.BatchNorm2d(narrow), nn.ReLU()]
        self.blocks = nn.Sequential(*blocks, nn.Conv2d(widths[-1], channels, 3, 1, 1), nn.Tanh())
        self.start_width = widths[0]

    def forward(self, z: torch.Tensor, y: Optional[torch.Tensor] = None) -> torch.Tensor:
        if self.num_classes:
            z = torch.cat([z, nn.functional.one_hot(y, self.num_classes).to(z.dtype)], dim=1)
        return self.blocks(self.dense(z).view(len(z), self.start_width, 4, 4))


class SNConvDiscriminator(nn.Module):
    """Per halving: 3x3 conv then 4x4 stride-2 conv (LeakyReLU 0.1 after each); a last 3x3 conv at 4x4; dense -> logit."""

    def __init__(self, channels: int, size: int, base: int, num_classes: int = 0, power_iterations: int = 1,
                 leak: float = 0.1):
        super().__init__()
        halvings = int(math.log2(size)) - 2
        layers: list[nn.Module] = []
        width_in = channels
        for i in range(halvings):
            width = base * 2 ** i
            layers += [_sn(nn.Conv2d(width_in, width, 3, 1, 1), power_iterations), nn.LeakyReLU(leak),
                       _sn(nn.Conv2d(width, width, 4, 2, 1), power_iterations), nn.LeakyReLU(leak)]
            width_in = width
        last = base * 2 ** halvings
        layers += [_sn(nn.Conv2d(width_in, last, 3, 1, 1), power_iterations), nn.LeakyReLU(leak)]
        self.features = nn.Sequential(*layers)
        self.head = _sn(nn.Linear(16 * last, 1), power_iterations)
        self.embed = _sn(nn.Embedding(num_classes, 16 * last), power_iterations) if num_classes else None

    def forward(self, x: torch.Tensor, y: Optional[torch.Tensor] = None) -> torch.Tensor:
        h = self.features(x).flatten(1)
        out = self.head(h).squeeze(1)
        if self.embed is not None:
            out = out + (self.embed(y) * h).sum(dim=1)
        return out


class MLPGenerator(nn.Module):
    """z -> ``depth`` ReLU layers -> a sample of ``shape``."""

    def __init__(self, latent_dim: int, shape: tuple[int, ...], hidden: int, depth: int, num_classes: int = 0):
        super().__init__()
        self.num_classes, self.shape = num_classes, tuple(shape)
        layers: list[nn.Module] = []
        width = latent_dim + num_classes
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), nn.ReLU()]
            width = hidden
        self.net = nn.Sequential(*layers, nn.Linear(width, math.prod(shape)))

    def forward(self, z: torch.Tensor, y: Optional[torch.Tensor] = None) -> torch.Tensor:
        if self.num_classes:
            z = torch.cat([z, nn.functional.one_hot(y, self.num_classes).to(z.dtype)], dim=1)
        return self.net(z).view(len(z), *self.shape)


class SNMLPDiscriminator(nn.Module):
    """A sample -> ``depth`` spectrally normalised LeakyReLU layers -> one logit (projection for classes)."""

    def __init__(self, shape: tuple[int, ...], hidden: int, depth: int, num_classes: int = 0, power_iterations: int = 1,
                 leak: float = 0.1):
        super().__init__()
        layers: list[nn.Module] = []
        width = math.prod(shape)
        for _ in range(depth):
            layers += [_sn(nn.Linear(width, hidden), power_iterations), nn.LeakyReLU(leak)]
            width = hidden
        self.features = nn.Sequential(*layers)
        self.head = _sn(nn.Linear(width, 1), power_iterations)
        self.embed = _sn(nn.Embedding(num_classes, width), power_iterations) if num_classes else None

    def forward(self, x: torch.Tensor, y: Optional[torch.Tensor] = None) -> torch.Tensor:
        h = self.features(x.flatten(1))
        out = self.head(h).squeeze(1)
        if self.embed is not None:
            out = out + (self.embed(y) * h).sum(dim=1)
        return out


def _positive_int(hp: Mapping[str, Any], key: str) -> int:
    value = hp[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"sngan: {key}={value!r} must be a positive integer, e.g. --set {key}={int(SNGAN_DEFAULTS[key])}")
    return value


SNGAN_DEFAULTS = {"latent_dim": 128, "base_channels": 32, "hidden": 128, "depth": 3, "power_iterations": 1}


def build_sngan(info: DataInfo, hp: Mapping[str, Any], num_classes: int = 0) -> GanModels:
    """Conv networks for square power-of-two images of at least 8x8, MLPs for points."""
    latent = _positive_int(hp, "latent_dim")
    iterations = _positive_int(hp, "power_iterations")
    leak = float(hp["leak"])
    if not 0.0 <= leak < 1.0:
        raise ConfigError(f"sngan: leak={leak!r} must be in [0, 1), e.g. --set leak=0.1")
    if info.kind == "points":
        hidden, depth = _positive_int(hp, "hidden"), _positive_int(hp, "depth")
        return GanModels(generator=MLPGenerator(latent, info.shape, hidden, depth, num_classes),
                         discriminator=SNMLPDiscriminator(info.shape, hidden, depth, num_classes, iterations, leak),
                         latent_dim=latent)
    channels, height, width = info.shape
    if height != width or height < 8 or height & (height - 1):
        raise ConfigError(f"sngan needs square power-of-two images of at least 8x8, got {height}x{width}: "
                          "use --image-size 16 (or 32, 64)")
    base = _positive_int(hp, "base_channels")
    return GanModels(generator=ConvGenerator(latent, channels, height, base, num_classes),
                     discriminator=SNConvDiscriminator(channels, height, base, num_classes, iterations, leak),
                     latent_dim=latent)
