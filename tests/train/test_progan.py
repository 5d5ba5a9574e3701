"""progan: the paper's layers, the growing networks, the schedule, and training through the ordinary trainer."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from ganzoo.errors import ConfigError, DataError, GanzooWarning
from ganzoo.nets import minibatch_stddev
from ganzoo.registry import default_registry
from ganzoo.specs import DataInfo
from ganzoo.train.run import read_metrics
from ganzoo.train.sample import load_generator, sample_to_file
from ganzoo.zoo.progan import (
    EqualizedConv2d,
    EqualizedLinear,
    GrowthSchedule,
    PixelNorm,
    ProGANDiscriminator,
    ProGANGenerator,
)
from tests.train.helpers import assert_same_tensors, checkpoint_tensors, tiny_run


def _nets(size: int = 16, mbstd: int = 4) -> tuple[ProGANGenerator, ProGANDiscriminator]:
    torch.manual_seed(0)
    return ProGANGenerator(8, 3, size, 64, 16), ProGANDiscriminator(3, size, 64, 16, mbstd)


@pytest.mark.parametrize("level", [0, 1, 2])
@pytest.mark.parametrize("alpha", [0.0, 0.3, 1.0])
def test_each_stage_makes_and_takes_its_resolution(level: int, alpha: float) -> None:
    G, D = _nets()
    if level == 0 and alpha < 1:
        pytest.skip("4x4 has no fade-in")
    G.set_phase(level, alpha)
    D.set_phase(level, alpha)
    x = G(torch.randn(6, 8))
    res = 4 * 2 ** level
    assert x.shape == (6, 3, res, res)
    assert D(x).shape == (6,)
    with pytest.raises(RuntimeError):  # D at this stage refuses another resolution
        D(torch.randn(6, 3, 2 * res, 2 * res)).sum()


def test_fade_in_starts_from_the_old_network_and_ends_at_the_new_block() -> None:
    G, D = _nets()
    z, x = torch.randn(5, 8), torch.randn(8, 3, 16, 16)
    G.set_phase(1, 1.0)
    old_image = G(z)
    D.set_phase(1, 1.0)
    old_score = D(F.avg_pool2d(x, 2))
    # alpha = 0: exactly the previous stage, upsampled (G) or fed the pooled input (D)
    G.set_phase(2, 0.0)
    D.set_phase(2, 0.0)
    torch.testing.assert_close(G(z), F.interpolate(old_image, scale_factor=2, mode="nearest"), rtol=0, atol=0)
    torch.testing.assert_close(D(x), old_score, rtol=1e-6, atol=1e-6)
    # alpha = 1: the new block alone, written out by hand from the modules
    G.set_phase(2, 1.0)
    h = G.norm(F.leaky_relu(G.dense(G.norm(z)).view(5, -1, 4, 4), 0.2))
    h = G.norm(F.leaky_relu(G.conv4(h), 0.2))
    for k in (1, 2):
        h = F.interpolate(h, scale_factor=2, mode="nearest")
        for conv in G.blocks[k]:
            h = G.norm(F.leaky_relu(conv(h), 0.2))
    torch.testing.assert_close(G(z), G.to_rgb[2](h), rtol=0, atol=0)
    # halfway: the straight mix of the two
    G.set_phase(2, 0.5)
    new = G.to_rgb[2](h)
    torch.testing.assert_close(G(z), 0.5 * (new + F.interpolate(old_image, scale_factor=2, mode="nearest")))


def test_set_phase_rejects_impossible_stages() -> None:
    G, _ = _nets()
    with pytest.raises(ValueError, match="outside 0..2"):
        G.set_phase(3, 1.0)
    with pytest.raises(ValueError, match="alpha"):
        G.set_phase(1, 1.5)


def test_equalized_layers_store_unit_variance_weights_and_scale_at_run_time() -> None:
    torch.manual_seed(0)
    conv = EqualizedConv2d(64, 128, 3)
    assert abs(conv.weight.std().item() - 1.0) < 0.02 and abs(conv.weight.mean().item()) < 0.02
    assert conv.scale == pytest.approx(math.sqrt(2) / math.sqrt(64 * 9))
    x = torch.randn(2, 64, 5, 5)
    torch.testing.assert_close(conv(x), F.conv2d(x, conv.weight * conv.scale, conv.bias, padding=1))
    lin = EqualizedLinear(256, 512, gain=1.0)
    assert abs(lin.weight.std().item() - 1.0) < 0.02 and lin.scale == pytest.approx(1 / 16)
    plain = EqualizedConv2d(64, 128, 3, equalized=False)  # the ablation: He init in the weights, no run-time scale
    assert plain.scale == 1.0 and abs(plain.weight.std().item() - math.sqrt(2 / 576)) < 0.002


def test_pixel_norm_gives_unit_rms_per_pixel() -> None:
    y = PixelNorm()(torch.randn(3, 16, 4, 4) * 7)
    torch.testing.assert_close(y.square().mean(dim=1), torch.ones(3, 4, 4), rtol=1e-4, atol=1e-4)


def test_minibatch_stddev_on_a_known_batch() -> None:
    x = torch.tensor([0.0, 0.0, 2.0, 4.0]).view(4, 1, 1, 1).expand(4, 1, 2, 2)
    out = minibatch_stddev(x, 2)  # groups take every 2nd sample: {0, 2} (std 1) and {1, 3} (std 2)
    assert out.shape == (4, 2, 2, 2)
    assert torch.equal(out[:, :1], x)
    torch.testing.assert_close(out[:, 1, 0, 0], torch.tensor([1.0, 2.0, 1.0, 2.0]))
    whole = minibatch_stddev(x, 4)  # one group of four: population std of (0, 0, 2, 4) = sqrt(2.75)
    torch.testing.assert_close(whole[:, 1], torch.full((4, 2, 2), math.sqrt(2.75)))
    odd = minibatch_stddev(torch.randn(6, 3, 4, 4), 4)  # 4 does not divide 6: groups of 3
    assert odd.shape == (6, 4, 4, 4)


def test_schedule_phases_alpha_and_batch_sizes() -> None:
    s = GrowthSchedule(1, 16, fade_images=100, stable_images=50, batch_sizes={16: 8}, default_batch=32,
                       reset_optimizers=True)
    assert s.phase(0) == (0, 0, 1.0) and s.phase(49) == (0, 0, 1.0)
    assert s.phase(50) == (1, 1, 0.0) and s.phase(75) == (1, 1, 0.25) and s.phase(149) == (1, 1, 0.99)
    assert s.phase(150) == (2, 1, 1.0) and s.phase(199) == (2, 1, 1.0)
    assert s.phase(200) == (3, 2, 0.0) and s.phase(300) == (4, 2, 1.0) and s.phase(10 ** 9) == (4, 2, 1.0)
    plan = s.plan(75)
    assert plan.shape == (1, 8, 8) and plan.batch_size == 32 and plan.label == "8x8 fade-in" and not plan.complete
    assert s.plan(300).batch_size == 8 and s.plan(300).complete
    x = torch.randn(4, 1, 16, 16)
    faded = s.real(x, plan)
    pooled = F.avg_pool2d(x, 2)
    torch.testing.assert_close(faded, torch.lerp(F.interpolate(F.avg_pool2d(pooled, 2), scale_factor=2), pooled, 0.25))
    torch.testing.assert_close(s.real(x, s.plan(300)), x)


def test_phases_of_no_images_train_at_the_target_resolution_from_the_start(tmp_path: Path) -> None:
    s = GrowthSchedule(1, 16, fade_images=0, stable_images=0, batch_sizes={}, default_batch=32, reset_optimizers=True)
    assert s.phase(0) == (4, 2, 1.0) and s.phase(10 ** 6) == (4, 2, 1.0) and s.plan(0).complete
    tiny_run(tmp_path, "progan", "digits", steps=2, image_size=16, extra_sets=("fade_images=0", "stable_images=0"))
    assert {r["resolution"] for r in read_metrics(tmp_path) if "resolution" in r} == {16}


def test_resume_in_the_middle_of_a_fade_in_continues_bit_for_bit(tmp_path: Path) -> None:
    longer_fade = ("fade_images=128",)  # the 8x8 fade-in runs over steps 3-6 with alpha 0, 0.25, 0.5, 0.75
    tiny_run(tmp_path / "straight", "progan", "digits", steps=8, extra_sets=longer_fade)
    tiny_run(tmp_path / "split", "progan", "digits", steps=4, extra_sets=longer_fade)
    tiny_run(tmp_path / "split", "progan", "digits", steps=8, resume=True)
    assert_same_tensors(checkpoint_tensors(tmp_path / "straight"), checkpoint_tensors(tmp_path / "split"))
    def logged(run: str) -> list[dict]:
        return [{k: v for k, v in r.items() if k != "samples_per_s"} for r in read_metrics(tmp_path / run) if "d_loss" in r]

    straight, split = logged("straight"), logged("split")
    assert straight == split
    alphas = [(r["step"], r["resolution"], r["alpha"]) for r in straight]  # each record: the plan of its last step
    assert alphas == [(2, 4, 1.0), (4, 8, 0.25), (6, 8, 0.75), (8, 8, 1.0)]


def test_checkpoint_carries_the_stage_and_optimizers_restart_with_each_stage(tmp_path: Path) -> None:
    from ganzoo.train.checkpoint import load_checkpoint
    from ganzoo.train.run import checkpoint_path

    tiny_run(tmp_path, "progan", "digits", steps=3, checkpoint_every=1)
    _, state = load_checkpoint(checkpoint_path(tmp_path, "last"))
    assert state["images"] == 96 and state["stage"] == 1
    assert state["schedule"] == {"stage": 1, "label": "8x8 fade-in", "alpha": 0.0, "resolution": 8}
    tensors = checkpoint_tensors(tmp_path)
    steps = {k: v for k, v in tensors.items() if k.startswith("opt_d/state/") and k.endswith("/step")}
    assert steps and {float(v) for v in steps.values()} == {1.0}  # one update since the fade-in began, not three


def test_short_run_grows_4_8_16_and_samples_at_the_resolution_reached(tmp_path: Path) -> None:
    tiny_run(tmp_path, "progan", "digits", steps=9, image_size=16, sample_every=2, checkpoint_every=4)
    resolutions = [r["resolution"] for r in read_metrics(tmp_path) if "resolution" in r]
    assert resolutions[0] == 4 and resolutions[-1] == 16 and sorted(resolutions) == resolutions
    assert (tmp_path / "samples" / "step_000009.png").is_file()
    loaded = load_generator(default_registry(), tmp_path)
    fake = sample_to_file(loaded, 4, tmp_path / "s.npy")
    assert fake.shape == (4, 1, 16, 16) and torch.isfinite(fake).all()
    early = load_generator(default_registry(), tmp_path, which="best")  # validated at steps 3, 6, 9: some stage
    assert early.generator(torch.randn(2, 16)).shape[-1] in (8, 16)


def test_too_few_steps_for_the_schedule_warns_with_the_steps_needed(tmp_path: Path) -> None:
    with pytest.warns(GanzooWarning, match=r"3 steps end in phase '8x8 fade-in'.*--steps 5"):
        tiny_run(tmp_path, "progan", "digits", steps=3)


@pytest.mark.parametrize("options, sets, message", [
    ({"dataset": "ring"}, [], "models images"),
    ({"dataset": "digits", "image_size": 12}, [], "image size 12 is not a power of two"),
    ({"dataset": "digits"}, ["batch_sizes={\"12\": 8}"], "batch_sizes entry '12'"),
    ({"dataset": "digits"}, ["fade_images=-1"], "fade_images=-1 must be a non-negative integer"),
    ({"dataset": "digits"}, ["mbstd_group=-4"], r"mbstd_group=-4 must be a group size \(0 or 1: off\)"),  # as dcgan's
])
def test_bad_progan_settings_are_refused(tmp_path: Path, options: dict, sets: list, message: str) -> None:
    options = dict(options)
    with pytest.raises((ConfigError, DataError), match=message):
        tiny_run(tmp_path, "progan", options.pop("dataset"), steps=2, extra_sets=tuple(sets), **options)


def test_sampling_from_a_progan_run_at_4x4(tmp_path: Path) -> None:
    tiny_run(tmp_path, "progan", "digits", steps=1)
    fake = sample_to_file(load_generator(default_registry(), tmp_path), 3, tmp_path / "s.npy")
    assert fake.shape == (3, 1, 4, 4)


def test_progan_info_check() -> None:
    from ganzoo.zoo.progan import build_progan

    with pytest.raises(ConfigError, match="square power-of-two"):
        build_progan(DataInfo(kind="images", shape=(1, 8, 16)), {"latent_dim": 8, "fmap_base": 8, "fmap_max": 8,
                                                      "fade_images": 1, "stable_images": 1, "mbstd_group": 4})
