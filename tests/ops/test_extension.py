"""The compiled extension is built ahead of time by the install and loads with the ganzoo op namespace."""

from __future__ import annotations

import torch

from ganzoo.ops.extension import extension_status, require_extension


def test_extension_is_built_and_loads() -> None:
    status = extension_status()
    assert status.available, status.reason
    module = require_extension()
    assert module.WITH_CUDA in (0, 1)
    assert status.with_cuda == bool(module.WITH_CUDA)
    assert hasattr(torch.ops, "ganzoo")


def test_cuda_kernels_only_when_torch_has_cuda() -> None:
    if torch.version.cuda is None:
        assert not extension_status().with_cuda
