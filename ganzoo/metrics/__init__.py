"""Quality metrics that work offline and are exactly defined."""

from ganzoo.metrics.modes import mode_coverage
from ganzoo.metrics.swd import sliced_wasserstein

__all__ = ["mode_coverage", "sliced_wasserstein"]
