"""The pinned Inception network (``ganzoo.metrics.inception``) rebuilt from its own weights as plain PyTorch modules, for
speed: the same function, computed in a cheaper order.

The TorchScript file computes each layer as a convolution, then batch norm with fixed statistics, then ReLU: three
passes over the activations, and a weight cast per call. Here, on the CPU:

- batch norm is folded into the convolution (``w / sqrt(var + eps)`` and a bias), in float64, once;
- the ReLU runs inside oneDNN's convolution as a post-op (``mkldnn._convolution_pointwise``, what inductor emits), where
  this torch has it;
- activations and weights are channels_last, oneDNN's native layout (no reorder per call);
- a 3x3 average pool before a 1x1 convolution is done after it instead: both are linear and act on different axes
  (pixels, channels), so they commute, and the pool then runs over 32 to 192 channels instead of 192 to 2048.

Only the order of floating-point operations changes: the features agree with the TorchScript network's to about 3e-6
of their largest value (``tests/metrics/test_inception.py`` holds them within 1e-4, and FID within 0.1%). On a 2-core
Xeon, 0.055-0.057 s an image against the file's 0.10, 1.75-1.87x (``python -m benchmarks.inception_speed``,
benchmarks/RESULTS.md).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["InceptionFeatures"]

_EPS = 1e-3  # the TensorFlow graph's batch-norm epsilon, as the TorchScript file applies it


def _fused_relu_available() -> bool:
    return torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_convolution_pointwise")


class _ConvReLU(nn.Module):
    """One of the network's convolution + batch norm + ReLU layers, with the batch norm folded into the convolution."""

    def __init__(self, layer: Any, fused: bool):
        super().__init__()
        scale = torch.rsqrt(layer.var.detach().double() + _EPS)
        weight = layer.weight.detach().double() * scale[:, None, None, None]
        self.register_buffer("weight", weight.float().contiguous(memory_format=torch.channels_last))
        self.register_buffer("bias", (layer.beta.detach().double() - layer.mean.detach().double() * scale).float())
        self.stride = [int(layer.stride)] * 2
        padding = layer.padding
        self.padding = [int(padding)] * 2 if isinstance(padding, int) else [int(p) for p in padding]
        self.fused = fused

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.fused:
            return torch.ops.mkldnn._convolution_pointwise(x, self.weight, self.bias, self.padding, self.stride, [1, 1],
                                                            1, "relu", [None], "")
        return F.relu(F.conv2d(x, self.weight, self.bias, self.stride, self.padding))


class _PoolThenConv(nn.Module):
    """``conv1x1(avg_pool3x3(x))`` (TensorFlow's pool: padding not counted) computed as ``avg_pool3x3(conv1x1(x))``."""

    def __init__(self, layer: Any, fused: bool):
        super().__init__()
        self.conv = _ConvReLU(layer, fused)
        if tuple(self.conv.weight.shape[-2:]) != (1, 1):
            raise ValueError("only a 1x1 convolution commutes with the pool before it")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.avg_pool2d(F.conv2d(x, self.conv.weight), 3, stride=1, padding=1, count_include_pad=False)
        return F.relu_(y + self.conv.bias[:, None, None])


class _Branches(nn.Module):
    """An Inception block: its branches side by side on one input, concatenated along the channels."""

    def __init__(self, *branches: nn.Module):
        super().__init__()
        self.branches = nn.ModuleList(branches)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([branch(x) for branch in self.branches], 1)


class _BlockE(nn.Module):
    """The last two blocks: two branches that fork again (1x3 and 3x1 on the same input) and a pooled branch, which
    the TensorFlow graph gives an average pool in the first block and a max pool in the second."""

    def __init__(self, block: Any, fused: bool, max_pool: bool):
        super().__init__()
        self.conv = _ConvReLU(block.conv, fused)
        self.a = _ConvReLU(block.tower_conv, fused)
        self.a_1x3, self.a_3x1 = _ConvReLU(block.tower_mixed_conv, fused), _ConvReLU(block.tower_mixed_conv_1, fused)
        self.b = nn.Sequential(_ConvReLU(block.tower_1_conv, fused), _ConvReLU(block.tower_1_conv_1, fused))
        self.b_1x3, self.b_3x1 = _ConvReLU(block.tower_1_mixed_conv, fused), _ConvReLU(block.tower_1_mixed_conv_1, fused)
        self.pooled: nn.Module = (nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1), _ConvReLU(block.tower_2_conv, fused))
                                  if max_pool else _PoolThenConv(block.tower_2_conv, fused))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = self.a(x), self.b(x)
        return torch.cat([self.conv(x), self.a_1x3(a), self.a_3x1(a), self.b_1x3(b), self.b_3x1(b), self.pooled(x)], 1)


class InceptionFeatures(nn.Module):
    """Pool3 features ``(N, 2048)`` of inputs ``(N, 3, 299, 299)`` prepared as for the TorchScript network, which
    ``script`` is (checked against its pinned hash by the caller); its weights are copied, its code is not run."""

    def __init__(self, script: torch.jit.ScriptModule, fused: bool | None = None):
        super().__init__()
        fused = _fused_relu_available() if fused is None else fused
        net = script.net.layers

        def conv(layer: Any) -> _ConvReLU:
            return _ConvReLU(layer, fused)

        def chain(tower: Any) -> nn.Sequential:
            return nn.Sequential(*(conv(layer) for layer in tower.children()))

        def block_a_or_c(block: Any) -> _Branches:
            return _Branches(conv(block.conv), chain(block.tower), chain(block.tower_1),
                             _PoolThenConv(block.tower_2.conv, fused))

        layers: list[nn.Module] = [conv(net.conv), conv(net.conv_1), conv(net.conv_2), nn.MaxPool2d(3, stride=2),
                                   conv(net.conv_3), conv(net.conv_4), nn.MaxPool2d(3, stride=2)]
        layers += [block_a_or_c(net.mixed), block_a_or_c(net.mixed_1), block_a_or_c(net.mixed_2)]
        layers.append(_Branches(conv(net.mixed_3.conv), chain(net.mixed_3.tower), nn.MaxPool2d(3, stride=2)))
        layers += [block_a_or_c(getattr(net, f"mixed_{i}")) for i in (4, 5, 6, 7)]
        layers.append(_Branches(chain(net.mixed_8.tower), chain(net.mixed_8.tower_1), nn.MaxPool2d(3, stride=2)))
        layers += [_BlockE(net.mixed_9, fused, max_pool=False), _BlockE(net.mixed_10, fused, max_pool=True)]
        self.layers = nn.Sequential(*layers)
        self.eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.layers(x.contiguous(memory_format=torch.channels_last))
        return features.mean((2, 3))  # the 8x8 average pool over what is left of the image
