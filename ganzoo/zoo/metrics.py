"""Built-in metrics plugin (the quick ones the trainer validates with)."""

from __future__ import annotations

from ganzoo.hookspecs import hookimpl
from ganzoo.specs import Metric, lazy


@hookimpl
def register_metrics(register):
    register(Metric(name="modes",
                    description="2-D mixtures: modes recovered, share within 3 sigma, reverse KL (VEEGAN/PacGAN)",
                    compute=lazy("ganzoo.metrics.modes:compute_modes"), primary="hq_share", higher_is_better=True,
                    data_kinds=("points",), needs_meta=("centres", "sigma")))
    register(Metric(name="swd",
                    description="sliced Wasserstein distance to held-out real data, x100 (any data, no network)",
                    compute=lazy("ganzoo.metrics.swd:compute_swd"), primary="swd", higher_is_better=False))
    register(Metric(name="domain",
                    description="labelled images: Frechet distance, KID, precision/recall, class coverage in a domain "
                                "classifier's features (not Inception)",
                    compute=lazy("ganzoo.metrics.domain:compute_domain"), primary="fd", higher_is_better=False,
                    data_kinds=("images",), needs_labels=True))
    register(Metric(name="inception",
                    description="standard FID and KID in Inception-v3 pool3 features (TF inception-2015-12-05); "
                                "fetch once: ganzoo fetch inception",
                    compute=lazy("ganzoo.metrics.inception:compute_inception"), primary="fid",
                    higher_is_better=False, data_kinds=("images",),
                    fetch=lazy("ganzoo.metrics.inception:fetch_inception")))
