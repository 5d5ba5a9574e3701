"""Published evaluation protocols that ``ganzoo eval --protocol NAME`` reproduces (torch-free: the CLI lists them)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PROTOCOLS", "Protocol"]


@dataclass(frozen=True)
class Protocol:
    """A published evaluation: its metrics at ``n`` generated images against as many of the held-out (test) split."""

    name: str
    n: int
    metrics: tuple[str, ...]
    citation: str


PROTOCOLS = {
    "lucic2018": Protocol("lucic2018", 10_000, ("inception",),
                          "Lucic et al. 2018, 'Are GANs Created Equal?': FID of 10,000 generated images against the "
                          "10,000 test images, Inception-v3 pool3 (inception-2015-12-05)"),
}
