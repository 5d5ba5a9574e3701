"""Network building blocks shared by the built-in architectures: MLPs for points (or flattened images) and DCGAN-style
conv nets for square power-of-two images. Conditional variants take class labels: the generator sees a one-hot code next
to z; the discriminator adds a projection term <embed(y), features> (Miyato & Koyama 2018)."""

from __future__ import annotations

import math
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm

__all__ = ["MLPGenerator", "MLPDiscriminator", "ConvGenerator", "ConvDiscriminator", "dcgan_init", "minibatch_stddev",
           "NORMS"]

NORMS = ("batch", "layer", "none", "spectral")


def _numel(shape: Sequence[int]) -> int:
    return int(math.prod(shape))


class MLPGenerator(nn.Module):
    """z (and a one-hot label) -> ``depth`` hidden ReLU layers of ``hidden`` units -> a sample of ``shape``."""

    def __init__(self, latent_dim: int, shape: Sequence[int], hidden: int, depth: int, num_classes: int = 0,
                 tanh: bool = False, batchnorm: bool = False):
        super().__init__()
        self.shape, self.num_classes = tuple(shape), num_classes
        layers: list[nn.Module] = []
        width = latent_dim + num_classes
        for _ in range(depth):
            layers += [nn.Linear(width, hidden)] + ([nn.BatchNorm1d(hidden)] if batchnorm else []) + [nn.ReLU()]
            width = hidden
        layers.append(nn.Linear(width, _numel(shape)))
        if tanh:
            layers.append(nn.Tanh())
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, y: Optional[torch.Tensor] = None) -> torch.Tensor:
        if self.num_classes:
            z = torch.cat([z, F.one_hot(y, self.num_classes).to(z.dtype)], dim=1)
        return self.net(z).view(-1, *self.shape)


class MLPDiscriminator(nn.Module):
    """A sample -> ``depth`` hidden LeakyReLU(0.2) layers -> one logit; per-sample (no batch-coupling layers)."""

    def __init__(self, shape: Sequence[int], hidden: int, depth: int, num_classes: int = 0, layernorm: bool = False):
        super().__init__()
        layers: list[nn.Module] = []
        width = _numel(shape)
        for _ in range(depth):
            layers += [nn.Linear(width, hidden)] + ([nn.LayerNorm(hidden)] if layernorm else []) + [nn.LeakyReLU(0.2)]
            width = hidden
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(width, 1)
        self.embed = nn.Embedding(num_classes, width) if num_classes else None
        if self.embed is not None:
            init_projection(self.embed, fan_in=width)

    def linear_chain(self) -> Optional[tuple[list[nn.Linear], float]]:
        """The Linear layers, head last, and the LeakyReLU slope between them, when the critic is nothing else (no
        LayerNorm, no label projection): the form ``ganzoo.ops.mlp_critic_grads`` differentiates by hand (the
        ``ganzoo.specs.LinearChainCritic`` capability). Else None, and always None for a subclass, whose ``forward`` may
        compute something else: it offers its own ``linear_chain`` if it is still the chain."""
        if type(self) is not MLPDiscriminator or self.embed is not None:
            return None
        layers = list(self.features)
        linears, activations = layers[0::2], layers[1::2]
        if (len(linears) != len(activations) or not all(type(m) is nn.Linear for m in linears)
                or not all(type(m) is nn.LeakyReLU for m in activations)):
            return None
        slopes = {m.negative_slope for m in activations}
        if len(slopes) > 1 or min(slopes, default=0.0) < 0:
            return None
        return [*linears, self.head], slopes.pop() if slopes else 0.0

    def forward(self, x: torch.Tensor, y: Optional[torch.Tensor] = None) -> torch.Tensor:
        h = self.features(x.flatten(1))
        out = self.head(h).squeeze(1)
        if self.embed is not None:
            out = out + (self.embed(y) * h).sum(dim=1)
        return out


def minibatch_stddev(x: torch.Tensor, group_size: int) -> torch.Tensor:
    """Append one feature map: the standard deviation of each feature over a group of samples, averaged over features
    and pixels. Groups take every (B / G)-th sample, as in the paper's code. G is the largest divisor of the batch that is
    at most ``group_size`` (the paper requires the batch to be a multiple of it; here any batch works)."""
    batch, channels, height, width = x.shape
    group = max(d for d in range(1, min(group_size, batch) + 1) if batch % d == 0)
    y = x.reshape(group, -1, channels, height, width)
    y = (y - y.mean(dim=0)).square().mean(dim=0).add(1e-8).sqrt()  # (B / G, C, H, W): stddev over each group
    y = y.mean(dim=(1, 2, 3)).view(1, -1, 1, 1, 1).expand(group, -1, 1, height, width)
    return torch.cat([x, y.reshape(batch, 1, height, width)], dim=1)


class MinibatchStddev(nn.Module):
    """``minibatch_stddev`` as a layer that a critic's config can switch off: a group of 0 or 1 passes the features
    through and adds no channel (a group of one sample has no spread to read)."""

    def __init__(self, group_size: int):
        super().__init__()
        self.group_size = group_size
        self.extra_channels = 1 if group_size > 1 else 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return minibatch_stddev(x, self.group_size) if self.extra_channels else x

    def extra_repr(self) -> str:
        return f"group_size={self.group_size}"


def _norm2d(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":  # LayerNorm over (C, H, W) with a per-channel affine: per-sample, so gradient penalties stay valid
        return nn.GroupNorm(1, channels)
    return nn.Identity()


class ClassBatchNorm2d(nn.Module):
    """BatchNorm whose gain and bias follow the class (Miyato & Koyama 2018, BigGAN's generator): the class sets each
    channel's scale and offset at every resolution, where a one-hot input reaches only the first layer. Each class has
    an embedding of ``embed_dim`` features, mapped linearly to gain offsets and biases (BigGAN's form), zero at the start:
    it starts as plain BatchNorm. Not a per-class table of gains: under Adam a table entry moves about one learning rate
    a step, ~100x slower than a linear map summing 128 embedding features, and a first pilot with the table (session
    25) trained a generator that all but ignored its class (class match 22% after 4,000 steps)."""

    def __init__(self, channels: int, num_classes: int, embed_dim: int = 128):
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, affine=False)
        self.embed = nn.Embedding(num_classes, embed_dim)  # N(0, 1), as nn.Embedding starts
        self.gain = nn.Parameter(torch.zeros(channels, embed_dim))
        self.bias = nn.Parameter(torch.zeros(channels, embed_dim))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = self.norm(x)
        e = self.embed(y)
        # in h's dtype: under bf16 autocast an fp32 gain would promote the activations back to fp32
        gain, bias = (1 + e @ self.gain.t()).to(h.dtype), (e @ self.bias.t()).to(h.dtype)
        return torch.addcmul(bias[:, :, None, None], h, gain[:, :, None, None])


class ConvGenerator(nn.Module):
    """DCGAN generator: z -> 4x4 by a transposed conv, then x2 transposed convs (BatchNorm + ReLU) up to ``size``, tanh.

    Depth follows the size: log2(size) - 2 upsamplings; channels halve on the way up from ``base * 2^(n - 1)`` (capped).
    A conditional generator reads its class as a one-hot vector joined to the noise (``one_hot_input``, Mirza &
    Osindero 2014), through class-conditional BatchNorm in every block (``class_norm``), or both.
    """

    def __init__(self, latent_dim: int, channels: int, size: int, base: int, num_classes: int = 0, max_channels: int = 512,
                 one_hot_input: bool = True, class_norm: bool = False):
        super().__init__()
        self.num_classes = num_classes
        self.one_hot_input = bool(num_classes) and one_hot_input
        n_up = int(math.log2(size)) - 2
        widths = [min(base * 2 ** (n_up - 1 - i), max_channels) for i in range(n_up)]

        def norm(width: int) -> nn.Module:
            return ClassBatchNorm2d(width, num_classes) if num_classes and class_norm else nn.BatchNorm2d(width)

        layers: list[nn.Module] = [
            nn.ConvTranspose2d(latent_dim + (num_classes if self.one_hot_input else 0), widths[0], 4, 1, 0, bias=False),
            norm(widths[0]), nn.ReLU(True)]
        for w_in, w_out in zip(widths, widths[1:]):
            layers += [nn.ConvTranspose2d(w_in, w_out, 4, 2, 1, bias=False), norm(w_out), nn.ReLU(True)]
        layers += [nn.ConvTranspose2d(widths[-1], channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, y: Optional[torch.Tensor] = None) -> torch.Tensor:
        if self.one_hot_input:
            z = torch.cat([z, F.one_hot(y, self.num_classes).to(z.dtype)], dim=1)
        layers = list(self.net)
        h = project_to_4x4(z, layers[0].weight) if self.matrix_layers else layers[0](z[:, :, None, None])
        for layer in layers[1:-2]:
            h = layer(h, y) if isinstance(layer, ClassBatchNorm2d) else layer(h)
        last = layers[-2]
        h = upsample_to_one_channel(h, last.weight) if last.out_channels == 1 and self.matrix_layers else last(h)
        return layers[-1](h)

    # The first and (for one channel) the last layer as matrix products: the same maths as the ConvTranspose2d modules
    # they read their weights from (the state dict is unchanged), which oneDNN runs slowly on a CPU (benchmarks/RESULTS.md).
    matrix_layers = True


def project_to_4x4(z: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """ConvTranspose2d(kernel 4, stride 1, no padding, no bias) of a 1x1 input: (B, C_in) -> (B, C_out, 4, 4), which is
    one matrix product z @ W. In the weight's memory layout, so that a channels_last weight gives a channels_last output
    with no copy. About 3x faster forward and backward than oneDNN's deconvolution at (64, 128) -> (64, 128, 4, 4)."""
    c_in, c_out = weight.shape[0], weight.shape[1]
    if weight.is_contiguous(memory_format=torch.channels_last):  # memory order (C_in, 4, 4, C_out)
        return (z @ weight.permute(0, 2, 3, 1).reshape(c_in, -1)).view(-1, 4, 4, c_out).permute(0, 3, 1, 2)
    return (z @ weight.reshape(c_in, -1)).view(-1, c_out, 4, 4)


def upsample_to_one_channel(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """ConvTranspose2d(C_in -> 1, kernel 4, stride 2, padding 1, no bias) as a matrix product and a fold (col2im):
    oneDNN's deconvolution to one channel is slow on a CPU (3.5x in the forward, 1.6x forward + backward at
    (64, 64, 8, 8) -> (64, 1, 16, 16)); with three channels it is the faster one, so only one channel goes this way."""
    height, width = x.shape[2], x.shape[3]
    columns = torch.matmul(weight.reshape(weight.shape[0], 16).t(), x.flatten(2))  # (B, 16, H * W)
    return F.fold(columns, (2 * height, 2 * width), 4, stride=2, padding=1)


class ConvDiscriminator(nn.Module):
    """DCGAN discriminator: stride-2 convs with LeakyReLU(0.2) down to 4x4 (no norm on the first), then a 4x4 conv -> logit.

    ``norm`` is ``"batch"`` (DCGAN), ``"layer"`` (WGAN-GP's recommendation), ``"none"`` or ``"spectral"`` (Miyato et al.
    2018: every convolution's weight divided by its largest singular value, estimated by one power iteration a training
    forward, and no norm layer; the class projection, if any, keeps its own scale).

    ``mbstd_group`` > 1 appends ProGAN's minibatch standard deviation (Karras et al. 2018) to the 4x4 features before
    the head: a feature of how varied the batch is, which a generator covering less of the data than it should cannot
    match. It reads only the head's input; the class projection reads the features without it.

    ``add_class_head`` adds AC-GAN's classifier (``ganzoo.specs.ClassifyingCritic``): a linear map from the 4x4
    features (without the minibatch feature, which describes the batch and not the sample) to class logits.
    """

    def __init__(self, channels: int, size: int, base: int, norm: str = "batch", num_classes: int = 0,
                 max_channels: int = 512, mbstd_group: int = 0):
        super().__init__()
        n_down = int(math.log2(size)) - 2
        widths = [min(base * 2 ** i, max_channels) for i in range(n_down)]
        layers: list[nn.Module] = [nn.Conv2d(channels, widths[0], 4, 2, 1), nn.LeakyReLU(0.2, True)]
        for w_in, w_out in zip(widths, widths[1:]):
            layers += [nn.Conv2d(w_in, w_out, 4, 2, 1, bias=norm in ("none", "spectral")), _norm2d(norm, w_out),
                       nn.LeakyReLU(0.2, True)]
        self.features = nn.Sequential(*layers)
        self.mbstd = MinibatchStddev(mbstd_group)
        self.head = nn.Conv2d(widths[-1] + self.mbstd.extra_channels, 1, 4, 1, 0)
        if norm == "spectral":
            for conv in [m for m in self.modules() if isinstance(m, nn.Conv2d)]:
                spectral_norm(conv)
        self.embed = nn.Embedding(num_classes, widths[-1]) if num_classes else None
        if self.embed is not None:
            # the projection reads features summed over the 4x4 positions: up to 16x the head's per-position inputs
            init_projection(self.embed, fan_in=widths[-1] * 16 * 16)
        self.class_head: Optional[nn.Linear] = None

    def add_class_head(self, outputs: int) -> None:
        if type(self) is not ConvDiscriminator:  # a subclass may change forward: it offers the capability itself
            raise NotImplementedError(f"{type(self).__name__} does not offer a class head")
        width = self.head.in_channels - self.mbstd.extra_channels
        self.class_head = nn.Linear(width * 16, outputs).to(self.head.weight.device)

    def forward(self, x: torch.Tensor, y: Optional[torch.Tensor] = None,
                classes: bool = False) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        h = self.features(x)
        out = self.head(self.mbstd(h)).flatten()
        if self.embed is not None:
            out = out + (self.embed(y) * h.sum(dim=(2, 3))).sum(dim=1)
        if not classes:
            return out
        if self.class_head is None:
            raise ValueError("this discriminator has no class head: call add_class_head(outputs) first")
        return out, self.class_head(h.flatten(1))



def init_projection(embed: nn.Embedding, fan_in: int) -> None:
    """A projection discriminator's class embedding (Miyato & Koyama 2018), at the scale of the head it is added to:
    uniform in +-1/sqrt(fan_in), as torch initialises a Linear head. nn.Embedding's own N(0, 1) made the projection
    term about 100x the head at the start (root-mean-square, on the dcgan and wgan_gp critics; a conditional dcgan's
    first critic loss was 35 where an unconditional one's is 1.6), so the critic judged mostly the class, and the
    generator collapsed within each class (benchmarks/RESULTS.md)."""
    bound = 1.0 / math.sqrt(fan_in)
    nn.init.uniform_(embed.weight, -bound, bound)


def dcgan_init(module: nn.Module) -> None:
    """Radford et al.: conv weights ~ N(0, 0.02), BatchNorm weights ~ N(1, 0.02), biases 0. Spectrally normalised layers
    keep torch's initialisation: their scale is divided away, and writing to ``weight`` would only fill a computed copy."""
    for m in module.modules():
        if parametrize.is_parametrized(m, "weight"):
            continue
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d) and m.affine:
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
