"""The table of loss and penalty kinds (ganzoo/kinds.py) against the kernels' enums (csrc/ops_common.h), the
references and the plugin specs: one table, and nothing that disagrees with it."""

from __future__ import annotations

import re

import pytest
import torch

from ganzoo import kinds
from ganzoo.errors import PluginError
from ganzoo.ops.reference import discriminator_loss_ref, generator_loss_ref, gradient_penalty_ref
from ganzoo.specs import Loss, Penalty, validate_spec
from tests.conftest import REPO


def _enum(name: str) -> dict[str, int]:
    header = (REPO / "csrc" / "ops_common.h").read_text()
    body = re.search(rf"enum {name} : int64_t \{{([^}}]*)\}}", header)
    assert body, f"enum {name} not found in csrc/ops_common.h"
    return {m[0]: int(m[1]) for m in re.findall(r"(k\w+) = (\d+)", body.group(1))}


@pytest.mark.parametrize("enum, table", [("LossKind", kinds.LOSSES), ("PenaltyKind", kinds.PENALTIES)])
def test_every_kind_has_the_code_of_its_kernel_enum_and_every_enum_value_is_used(enum: str, table) -> None:
    codes = _enum(enum)
    for kind in table:
        assert codes.get(kind.enum) == kind.code, f"{kind.name}: {kind.enum} is {codes.get(kind.enum)} in the header"
    assert {k.enum for k in table} == set(codes)


def test_names_and_codes_go_both_ways() -> None:
    for kind in kinds.LOSSES:
        assert kinds.loss_kind(kind.name) is kind and kinds.loss_name(kind.code) == kind.name
    for kind in kinds.PENALTIES:
        assert kinds.penalty_kind(kind.name) is kind
        assert kinds.penalty_kind(kinds.penalty_name(kind.code)).code == kind.code
    with pytest.raises(ValueError, match="unknown loss kind"):
        kinds.loss_kind("softhinge")


def test_the_reference_implements_every_kind_of_the_table() -> None:
    real, fake, grad = torch.randn(5), torch.randn(4), torch.randn(3, 2)
    for name in kinds.LOSS_KINDS:
        assert torch.isfinite(discriminator_loss_ref(name, real, fake)) and torch.isfinite(generator_loss_ref(name, fake))
    for name in kinds.PENALTY_KINDS:
        assert torch.isfinite(gradient_penalty_ref(grad, name))


def test_plugin_specs_accept_exactly_the_tables_kinds() -> None:
    d = g = lambda *a, **k: None  # noqa: E731
    for name in kinds.LOSS_KINDS:
        validate_spec(Loss(name="x", description="a loss", kind=name))
    for name in kinds.PENALTY_KINDS:
        validate_spec(Loss(name="x", description="a loss", discriminator=d, generator=g, penalty=Penalty(kind=name)))
    with pytest.raises(PluginError, match="kind must be None or one of"):
        validate_spec(Loss(name="x", description="a loss", kind="softhinge"))
    with pytest.raises(PluginError, match="penalty must be a Penalty with kind"):
        validate_spec(Loss(name="x", description="a loss", discriminator=d, generator=g, penalty=Penalty(kind="r3")))
