"""Progressive growing of GANs (Karras et al. 2018): the networks, the paper's layers and the growth schedule.

Both networks hold every block up to the target resolution from the start; ``set_phase(level, alpha)`` chooses how many
are in use and how far the newest one is faded in. Level 0 is 4x4, level k is 4 * 2^k. The schedule maps the number of
real images shown to the discriminator to a phase: 4x4 stable, then for each doubling a fade-in (alpha 0 -> 1) and a
stable phase, as in the paper. The trainer knows nothing of this beyond the ``Schedule`` contract (``ganzoo.specs``).
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Optional

import torch
import torch.nn.functional as F
from torch import nn

from ganzoo.errors import ConfigError
from ganzoo.nets import MinibatchStddev
from ganzoo.ops import leaky_pixel_norm
from ganzoo.specs import DataInfo, GanModels, Plan
from ganzoo.zoo.builders import minibatch_group

__all__ = [
    "EqualizedConv2d",
    "EqualizedLinear",
    "PixelNorm",
    "ProGANGenerator",
    "ProGANDiscriminator",
    "GrowthSchedule",
    "build_progan",
    "progan_schedule",
]

_LEAK = 0.2
_RELU_GAIN = math.sqrt(2.0)


class EqualizedConv2d(nn.Module):
    """A conv whose weights are N(0, 1) and scaled at run time by gain / sqrt(fan_in) (the paper's equalised learning
    rate: Adam's per-weight step sizes then move every layer at the same relative speed). With ``equalized=False`` the
    scale is folded into the initial weights instead (He init), which is the usual parameterisation."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, gain: float = _RELU_GAIN, equalized: bool = True):
        super().__init__()
        he_std = gain / math.sqrt(in_channels * kernel * kernel)
        self.scale = he_std if equalized else 1.0
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel, kernel) * (1.0 if equalized else he_std))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.padding = kernel // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.padding)


class EqualizedLinear(nn.Module):
    """The dense counterpart of ``EqualizedConv2d``."""

    def __init__(self, in_features: int, out_features: int, gain: float = _RELU_GAIN, equalized: bool = True):
        super().__init__()
        he_std = gain / math.sqrt(in_features)
        self.scale = he_std if equalized else 1.0
        self.weight = nn.Parameter(torch.randn(out_features, in_features) * (1.0 if equalized else he_std))
        self.bias = nn.Parameter(torch.zeros(out_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.scale, self.bias)


class PixelNorm(nn.Module):
    """Each pixel's feature vector scaled to unit root-mean-square: x / sqrt(mean_c x^2 + 1e-8), after a LeakyReLU of
    negative slope ``slope`` (1: none). One fused op (``ganzoo.ops.leaky_pixel_norm``): unfused, the pair is most of the
    generator's elementwise work on a CPU."""

    def __init__(self, slope: float = 1.0):
        super().__init__()
        self.slope = slope

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return leaky_pixel_norm(x, self.slope, 1e-8)


def _channels(resolution: int, fmap_base: int, fmap_max: int) -> int:
    return max(1, min(fmap_max, fmap_base // resolution))


def _act(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, _LEAK)


def _check_phase(level: int, alpha: float, max_level: int) -> None:
    if not 0 <= level <= max_level:
        raise ValueError(f"level {level} is outside 0..{max_level}")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha {alpha} is outside [0, 1]")


class ProGANGenerator(nn.Module):
    """z -> 4x4 (dense layer, then a 3x3 conv) -> per doubling: nearest x2, two 3x3 convs; LeakyReLU(0.2) and pixelwise
    normalisation after every conv. Each resolution has its own 1x1 toRGB; during a fade-in the output is
    lerp(upsample(toRGB_old(h_old)), toRGB_new(h_new), alpha)."""

    def __init__(self, latent_dim: int, channels: int, size: int, fmap_base: int, fmap_max: int,
                 pixelnorm: bool = True, equalized: bool = True):
        super().__init__()
        self.max_level = int(math.log2(size)) - 2
        self.level, self.alpha = self.max_level, 1.0
        self.norm = PixelNorm() if pixelnorm else nn.Identity()
        self.act_norm = PixelNorm(_LEAK) if pixelnorm else nn.LeakyReLU(_LEAK)  # after every conv
        nf = [_channels(4 * 2 ** k, fmap_base, fmap_max) for k in range(self.max_level + 1)]
        # the paper's TF code: a dense layer to 4x4 with gain sqrt(2)/4, i.e. the gain of a 4x4 transposed conv
        self.dense = EqualizedLinear(latent_dim, nf[0] * 16, gain=_RELU_GAIN / 4, equalized=equalized)
        self.conv4 = EqualizedConv2d(nf[0], nf[0], 3, equalized=equalized)
        self.blocks = nn.ModuleList([nn.Identity()])  # level 0 is the dense + conv4 head above
        for k in range(1, self.max_level + 1):
            self.blocks.append(nn.ModuleList([EqualizedConv2d(nf[k - 1], nf[k], 3, equalized=equalized),
                                              EqualizedConv2d(nf[k], nf[k], 3, equalized=equalized)]))
        self.to_rgb = nn.ModuleList([EqualizedConv2d(n, channels, 1, gain=1.0, equalized=equalized) for n in nf])

    def set_phase(self, level: int, alpha: float) -> None:
        _check_phase(level, alpha, self.max_level)
        self.level, self.alpha = level, float(alpha)

    def _block(self, k: int, h: torch.Tensor) -> torch.Tensor:
        conv_a, conv_b = self.blocks[k]
        h = F.interpolate(h, scale_factor=2, mode="nearest")
        h = self.act_norm(conv_a(h))
        return self.act_norm(conv_b(h))

    def forward(self, z: torch.Tensor, y: Optional[torch.Tensor] = None) -> torch.Tensor:
        h = self.act_norm(self.dense(self.norm(z)).view(len(z), -1, 4, 4))
        h = self.act_norm(self.conv4(h))
        previous = h
        for k in range(1, self.level + 1):
            previous, h = h, self._block(k, h)
        out = self.to_rgb[self.level](h)
        if self.level > 0 and self.alpha < 1.0:
            old = F.interpolate(self.to_rgb[self.level - 1](previous), scale_factor=2, mode="nearest")
            out = torch.lerp(old, out, self.alpha)
        return out


class ProGANDiscriminator(nn.Module):
    """The mirror of the generator: 1x1 fromRGB per resolution; per halving two 3x3 convs and a 2x2 average pool;
    at 4x4 the minibatch standard deviation, a 3x3 conv, a 4x4 dense layer and a linear output. During a fade-in the
    new block's output is lerped with fromRGB_old of the average-pooled input."""

    def __init__(self, channels: int, size: int, fmap_base: int, fmap_max: int, mbstd_group: int = 4,
                 equalized: bool = True):
        super().__init__()
        self.max_level = int(math.log2(size)) - 2
        self.level, self.alpha = self.max_level, 1.0
        self.mbstd = MinibatchStddev(mbstd_group)
        nf = [_channels(4 * 2 ** k, fmap_base, fmap_max) for k in range(self.max_level + 1)]
        self.from_rgb = nn.ModuleList([EqualizedConv2d(channels, n, 1, equalized=equalized) for n in nf])
        self.blocks = nn.ModuleList([nn.Identity()])
        for k in range(1, self.max_level + 1):
            self.blocks.append(nn.ModuleList([EqualizedConv2d(nf[k], nf[k], 3, equalized=equalized),
                                              EqualizedConv2d(nf[k], nf[k - 1], 3, equalized=equalized)]))
        self.conv4 = EqualizedConv2d(nf[0] + self.mbstd.extra_channels, nf[0], 3, equalized=equalized)
        self.dense = EqualizedLinear(nf[0] * 16, nf[0], equalized=equalized)
        self.out = EqualizedLinear(nf[0], 1, gain=1.0, equalized=equalized)

    def set_phase(self, level: int, alpha: float) -> None:
        _check_phase(level, alpha, self.max_level)
        self.level, self.alpha = level, float(alpha)

    def _block(self, k: int, h: torch.Tensor) -> torch.Tensor:
        conv_a, conv_b = self.blocks[k]
        return F.avg_pool2d(_act(conv_b(_act(conv_a(h)))), 2)

    def forward(self, x: torch.Tensor, y: Optional[torch.Tensor] = None) -> torch.Tensor:
        h = _act(self.from_rgb[self.level](x))
        if self.level > 0:
            h = self._block(self.level, h)
            if self.alpha < 1.0:
                old = _act(self.from_rgb[self.level - 1](F.avg_pool2d(x, 2)))
                h = torch.lerp(old, h, self.alpha)
            for k in range(self.level - 1, 0, -1):
                h = self._block(k, h)
        h = _act(self.conv4(self.mbstd(h)))
        h = _act(self.dense(h.flatten(1)))
        return self.out(h).squeeze(1)


class GrowthSchedule:
    """4x4 stable for ``stable_images``; then per doubling a fade-in over ``fade_images`` and a stable phase over
    ``stable_images``; then the target resolution until the run ends. Images are real samples shown to the critic.

    Plan stages number the phases (0: 4x4 stable, 1: 8x8 fade-in, 2: 8x8 stable, ...), so with ``reset_optimizers``
    the optimizers start afresh when a fade-in begins and when it ends, as the paper's code does."""

    def __init__(self, channels: int, size: int, fade_images: int, stable_images: int,
                 batch_sizes: Mapping[int, int], default_batch: int, reset_optimizers: bool):
        self.channels, self.size = channels, size
        self.max_level = int(math.log2(size)) - 2
        self.fade_images, self.stable_images = fade_images, stable_images
        self.batch_sizes, self.default_batch = dict(batch_sizes), default_batch
        self.reset_optimizers = reset_optimizers

    def phase(self, images: int) -> tuple[int, int, float]:
        """(stage, level, alpha) after ``images`` real samples. With both phases 0 images long nothing grows: the
        networks train at the target resolution from the first step."""
        period = self.fade_images + self.stable_images
        if period == 0:
            return 2 * self.max_level, self.max_level, 1.0
        if images < self.stable_images or self.max_level == 0:
            return 0, 0, 1.0
        level, within = divmod(images - self.stable_images, period)
        level += 1
        if level > self.max_level:
            return 2 * self.max_level, self.max_level, 1.0
        if within < self.fade_images:
            return 2 * level - 1, level, within / self.fade_images
        return 2 * level, level, 1.0

    def plan(self, images: int) -> Plan:
        stage, level, alpha = self.phase(images)
        res = 4 * 2 ** level
        return Plan(stage=stage, shape=(self.channels, res, res), batch_size=self.batch_sizes.get(res, self.default_batch),
                    values={"alpha": alpha, "resolution": res},
                    label=f"{res}x{res} " + ("fade-in" if stage % 2 else "stable"),
                    complete=level == self.max_level and alpha == 1.0, reset_optimizers=self.reset_optimizers)

    def apply(self, network: nn.Module, plan: Plan) -> None:
        level = int(math.log2(plan.values["resolution"])) - 2
        network.set_phase(level, plan.values["alpha"])

    def real(self, x: torch.Tensor, plan: Plan) -> torch.Tensor:
        """Real images at the phase's resolution (average pooling), faded like the generator's output during a fade-in:
        lerp(upsample(pool(x)), x, alpha)."""
        res, alpha = int(plan.values["resolution"]), plan.values["alpha"]
        if x.shape[-1] != res:
            x = F.avg_pool2d(x, x.shape[-1] // res)
        if alpha < 1.0:
            x = torch.lerp(F.interpolate(F.avg_pool2d(x, 2), scale_factor=2, mode="nearest"), x, alpha)
        return x


def _check_hparams(info: DataInfo, hp: Mapping[str, Any]) -> tuple[int, int]:
    if info.kind != "images":
        raise ConfigError("progan grows images: pick an image dataset such as --dataset digits")
    channels, height, width = info.shape
    if height != width or height < 4 or height & (height - 1):
        raise ConfigError(f"progan needs square power-of-two images of at least 4x4, got {height}x{width}: "
                          "use --image-size 16")
    for key in ("latent_dim", "fmap_base", "fmap_max"):
        if not isinstance(hp[key], int) or hp[key] < 1:
            raise ConfigError(f"{key}={hp[key]!r} must be a positive integer: e.g. --set {key}=128")
    minibatch_group(hp)
    for key in ("fade_images", "stable_images"):
        if not isinstance(hp[key], int) or hp[key] < 0:
            raise ConfigError(f"{key}={hp[key]!r} must be a non-negative integer")
    return channels, height


def _batch_sizes(hp: Mapping[str, Any], size: int) -> dict[int, int]:
    raw = hp.get("batch_sizes") or {}
    if not isinstance(raw, Mapping):
        raise ConfigError("batch_sizes must map resolutions to batch sizes, e.g. --set 'batch_sizes={\"16\": 32}'")
    out = {}
    for key, value in raw.items():
        try:
            res = int(key)
        except (TypeError, ValueError):
            res = -1
        if res < 4 or res > size or res & (res - 1) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"batch_sizes entry {key!r}: {value!r} must map a resolution 4..{size} (a power of two) "
                              "to a positive batch size")
        out[res] = value
    return out


def build_progan(info: DataInfo, hp: Mapping[str, Any], num_classes: int = 0) -> GanModels:
    channels, size = _check_hparams(info, hp)
    g = ProGANGenerator(hp["latent_dim"], channels, size, hp["fmap_base"], hp["fmap_max"], hp["pixelnorm"],
                        hp["equalized_lr"])
    d = ProGANDiscriminator(channels, size, hp["fmap_base"], hp["fmap_max"], hp["mbstd_group"], hp["equalized_lr"])
    return GanModels(generator=g, discriminator=d, latent_dim=hp["latent_dim"])


def progan_schedule(info: DataInfo, hp: Mapping[str, Any], batch_size: int) -> GrowthSchedule:
    channels, size = _check_hparams(info, hp)
    return GrowthSchedule(channels, size, hp["fade_images"], hp["stable_images"], _batch_sizes(hp, size), batch_size,
                          hp["reset_optimizers"])
