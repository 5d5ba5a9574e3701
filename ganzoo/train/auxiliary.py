"""Auxiliary classifiers on the discriminator's features (``--class-loss``): the terms they add to D's and G's losses."""

from __future__ import annotations

import dataclasses
from typing import Optional

import torch
import torch.nn.functional as F

__all__ = ["ClassLoss"]


@dataclasses.dataclass(frozen=True)
class ClassLoss:
    """The auxiliary classifiers on D's features (``--class-loss``), weighted by ``weight``.

    AC-GAN (Odena et al. 2017): D's class head learns the classes of real images, and G lowers its cross-entropy on
    its samples. That also lowers the entropy of the head's prediction on the samples, which pushes them away from
    the class boundaries and narrows each class (Gong et al. 2019). With ``twin`` (TAC-GAN, Gong et al.) a second
    head learns the classes of the generated images, and G raises its cross-entropy, which cancels that pull: D's
    head then has twice the classes' outputs, the first half the classifier of real images, the second the twin.
    """

    weight: float
    twin: bool = False

    def head_outputs(self, num_classes: int) -> int:
        return 2 * num_classes if self.twin else num_classes

    def critic_terms(self, real_classes: torch.Tensor, fake_classes: Optional[torch.Tensor],
                     y: Optional[torch.Tensor]) -> dict[str, torch.Tensor]:
        """The head's cross-entropy on real images and, with the twin, the twin's on the generated ones."""
        terms = {"d_class": _cross_entropy(self._halves(real_classes)[0], y)}
        twin = self._halves(fake_classes)[1] if fake_classes is not None else None
        if twin is not None:
            terms["d_twin"] = _cross_entropy(twin, y)
        return terms

    def critic_total(self, terms: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.weight * sum(terms.values())  # type: ignore[return-value]  # never empty: d_class is always there

    def generator_terms(self, fake_classes: torch.Tensor, y: Optional[torch.Tensor]) -> dict[str, torch.Tensor]:
        classifier, twin = self._halves(fake_classes)
        terms = {"g_class": _cross_entropy(classifier, y)}
        if twin is not None:
            terms["g_twin"] = _cross_entropy(twin, y)
        return terms

    def generator_total(self, terms: dict[str, torch.Tensor]) -> torch.Tensor:
        twin = terms.get("g_twin")
        return self.weight * (terms["g_class"] - twin if twin is not None else terms["g_class"])

    def _halves(self, class_logits: torch.Tensor) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
        if not self.twin:
            return class_logits, None
        k = class_logits.shape[1] // 2
        return class_logits[:, :k], class_logits[:, k:]


def _cross_entropy(class_logits: torch.Tensor, y: Optional[torch.Tensor]) -> torch.Tensor:
    """In float32, whatever the autocast gave the head."""
    if y is None:
        raise ValueError("the class loss needs the batch's classes: train with --conditional")
    return F.cross_entropy(class_logits.float(), y)
