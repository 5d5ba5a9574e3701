"""The packed critic and the builders (imported only when a run uses a pac_* architecture)."""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping, Optional

import torch
from torch import nn

from ganzoo.errors import ConfigError
from ganzoo.specs import DataInfo, GanModels
from ganzoo.zoo.architectures import VANILLA, WGAN_GP

__all__ = ["PackedDiscriminator", "build_pac_wgan_gp", "build_pac_vanilla"]


class PackedDiscriminator(nn.Module):
    """Scores packs of ``pack`` consecutive samples with one ``critic`` of ``pack * D`` inputs.

    ganzoo's contract is one logit per sample, so every sample of a pack gets its pack's logit: a loss's mean over the
    batch is then exactly its mean over the packs. A batch that does not divide into packs (only the contract's check
    of two samples) fills its last pack by cycling its own samples.
    """

    def __init__(self, critic: nn.Module, pack: int):
        super().__init__()
        self.critic, self.pack = critic, pack

    def forward(self, x: torch.Tensor, y: Optional[torch.Tensor] = None) -> torch.Tensor:
        if y is not None:
            raise ValueError("a packed critic is unconditional: train without --conditional")
        batch = x.shape[0]
        packs = -(-batch // self.pack)
        if batch % self.pack:
            x = x[torch.arange(packs * self.pack, device=x.device) % batch]
        logits = self.critic(x.reshape(packs, -1))
        return logits.repeat_interleave(self.pack)[:batch]


def _build_packed(base_build: Callable[..., GanModels], name: str, info: DataInfo, hp: Mapping[str, Any],
                  num_classes: int) -> GanModels:
    pack = hp["pack"]
    if isinstance(pack, bool) or not isinstance(pack, int) or pack < 1:
        raise ConfigError(f"pack={pack!r} must be a positive integer, the samples the critic judges at once: "
                          "e.g. --set pack=4")
    if info.kind != "points":
        raise ConfigError(f"{name} packs 2-D points: use --dataset ring or grid")
    if num_classes:
        raise ConfigError(f"{name} is unconditional: train without --conditional")
    base_hp = {key: value for key, value in hp.items() if key != "pack"}
    models = base_build(info, base_hp, 0)
    # the base's own critic, built for pack * D inputs: the paper's change is the critic's input layer and nothing else
    pack_info = dataclasses.replace(info, shape=(pack * info.shape[0],))
    critic = base_build(pack_info, base_hp, 0).discriminator
    return GanModels(generator=models.generator, discriminator=PackedDiscriminator(critic, pack),
                     latent_dim=models.latent_dim)


def build_pac_wgan_gp(info: DataInfo, hp: Mapping[str, Any], num_classes: int = 0) -> GanModels:
    """wgan_gp's MLPs with a critic of ``pack`` samples."""
    return _build_packed(WGAN_GP.build, "pac_wgan_gp", info, hp, num_classes)


def build_pac_vanilla(info: DataInfo, hp: Mapping[str, Any], num_classes: int = 0) -> GanModels:
    """vanilla's MLPs with a discriminator of ``pack`` samples."""
    return _build_packed(VANILLA.build, "pac_vanilla", info, hp, num_classes)
