"""DiffAugment for the discriminator (``--augment``): each policy is the transformation it claims, differentiable, the
same in any number of processes, and a run with it is deterministic and refused where it has no meaning."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from ganzoo.train.augment import _offsets, augment, parse_policy
from ganzoo.train.distributed import World
from tests.train.helpers import assert_same_tensors, checkpoint_tensors, tiny_run


def _images(n: int = 6, c: int = 1, side: int = 16, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, c, side, side, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def test_policies_are_applied_in_one_order_and_unknown_ones_are_refused() -> None:
    assert parse_policy("cutout, translation,color") == ("color", "translation", "cutout")
    assert parse_policy("") == () == parse_policy("none")  # none: off, where an architecture's default augments
    with pytest.raises(ValueError, match="unknown augmentation rotate"):
        parse_policy("translation,rotate")


def test_translation_shifts_each_image_and_fills_with_zero() -> None:
    x = _images()
    out = augment(x, ("translation",), torch.Generator().manual_seed(4))
    shift = _offsets(torch.Generator().manual_seed(4), World(), len(x), 2, x.device)  # 16 * 1/8 = 2 pixels
    for image, moved, (dy, dx) in zip(x, out, shift.tolist()):
        expected = torch.zeros_like(image)
        h, w = image.shape[-2:]
        expected[:, max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
            image[:, max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
        assert torch.equal(moved, expected), (dy, dx)
    assert shift.abs().max() <= 2 and len({tuple(s) for s in shift.tolist()}) > 1


def test_cutout_zeroes_one_square_of_half_the_side_clipped_at_the_edges() -> None:
    out = augment(torch.ones(64, 1, 16, 16), ("cutout",), torch.Generator().manual_seed(1))
    for image in out[:, 0]:
        zero_rows, zero_cols = (image == 0).any(1).nonzero().flatten(), (image == 0).any(0).nonzero().flatten()
        assert 1 <= len(zero_rows) <= 8 and 1 <= len(zero_cols) <= 8
        box = image[zero_rows.min():zero_rows.max() + 1, zero_cols.min():zero_cols.max() + 1]
        assert torch.equal(box, torch.zeros_like(box))  # one rectangle, nothing else touched
        assert int((image == 0).sum()) == len(zero_rows) * len(zero_cols)
    assert int((out == 0).sum(dim=(1, 2, 3)).max()) == 64  # some square lies fully inside: 8 x 8


def test_color_shifts_brightness_and_scales_contrast_per_image() -> None:
    x = _images(n=32, c=3)
    out = augment(x, ("color",), torch.Generator().manual_seed(2))
    assert out.shape == x.shape and not torch.allclose(out, x)
    # a constant image keeps a constant value: saturation and contrast scale deviations from the mean only
    flat = augment(torch.full((4, 3, 8, 8), 0.2), ("color",), torch.Generator().manual_seed(2))
    assert torch.allclose(flat, flat[:, :1, :1, :1].expand_as(flat), atol=1e-6)
    shift = flat[:, 0, 0, 0] - 0.2
    assert float(shift.abs().max()) <= 0.5 and len(set(shift.tolist())) == 4


@pytest.mark.parametrize("policy", [("color",), ("translation",), ("cutout",), ("color", "translation", "cutout")])
def test_every_policy_is_differentiable(policy) -> None:
    x = _images(n=3, c=3, side=8).double().requires_grad_(True)
    # the same draws on every call: gradcheck compares the analytic gradient with finite differences
    assert torch.autograd.gradcheck(lambda t: augment(t, policy, torch.Generator().manual_seed(5)), (x,))


def test_two_processes_augment_their_halves_as_one_does_the_whole() -> None:
    x = _images(n=8, c=3)
    policies = ("color", "translation", "cutout")
    whole = augment(x, policies, torch.Generator().manual_seed(9))
    halves = [augment(x[r * 4:(r + 1) * 4], policies, torch.Generator().manual_seed(9), World(rank=r, size=2))
              for r in range(2)]
    assert torch.equal(torch.cat(halves), whole)


def test_a_run_with_augmentation_is_deterministic_and_recorded(tmp_path: Path) -> None:
    kw = {"augment": "translation,cutout,color"}
    tiny_run(tmp_path / "a", "dcgan", "digits", steps=3, **kw)
    tiny_run(tmp_path / "b", "dcgan", "digits", steps=3, **kw)
    tiny_run(tmp_path / "plain", "dcgan", "digits", steps=3, augment="none")
    assert_same_tensors(checkpoint_tensors(tmp_path / "a"), checkpoint_tensors(tmp_path / "b"))
    plain, augmented = checkpoint_tensors(tmp_path / "plain"), checkpoint_tensors(tmp_path / "a")
    assert any(not torch.equal(plain[k], augmented[k]) for k in plain if k.startswith("D/"))
    assert json.loads((tmp_path / "a" / "config.json").read_text())["config"]["augment"] == "translation,cutout,color"


def test_a_run_with_augmentation_resumes_bit_for_bit(tmp_path: Path) -> None:
    kw = {"augment": "translation,cutout"}
    tiny_run(tmp_path / "straight", "dcgan", "digits", steps=4, **kw)
    tiny_run(tmp_path / "resumed", "dcgan", "digits", steps=2, **kw)
    tiny_run(tmp_path / "resumed", "dcgan", "digits", steps=4, resume=True)
    assert_same_tensors(checkpoint_tensors(tmp_path / "straight"), checkpoint_tensors(tmp_path / "resumed"))


def test_augmentation_is_refused_where_it_has_no_meaning(tmp_path: Path, run_cli) -> None:
    points = run_cli("train", "--dataset", "ring", "--augment", "translation", "--out", str(tmp_path / "r"))
    assert points.exit_code == 1 and "--augment transforms images, and dataset 'ring' holds points" in points.stderr
    unknown = run_cli("train", "--arch", "dcgan", "--augment", "rotate", "--out", str(tmp_path / "r"))
    assert unknown.exit_code == 1 and "--augment 'rotate': give a comma-separated list of color, translation, cutout" \
        in unknown.stderr
    off = run_cli("train", "--dataset", "ring", "--augment", "none", "--steps", "2", "--quiet", "--out", str(tmp_path / "n"))
    assert off.exit_code == 0, off.stderr  # "none" is no augmentation, which points can have
