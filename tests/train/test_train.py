"""The trainer end to end on tiny settings: every architecture runs, runs are deterministic, resume continues bit for bit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from ganzoo.errors import CheckpointError, ConfigError
from ganzoo.registry import default_registry
from ganzoo.train import resolve_config
from ganzoo.train.models import standing_statistics
from ganzoo.train.run import read_metrics
from ganzoo.train.sample import load_generator
from tests.train.helpers import assert_same_tensors, checkpoint_tensors, tiny_run

TIMINGS = ("samples_per_s", "elapsed_s")  # wall-clock numbers: the only ones two identical runs may differ in


def _losses(run_dir: Path) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in TIMINGS} for r in read_metrics(run_dir)]


@pytest.mark.parametrize("arch, dataset", [
    ("vanilla", "ring"), ("vanilla", "digits"), ("dcgan", "digits"), ("wgan_gp", "ring"), ("wgan_gp", "digits"),
    ("wgan_gp", "swissroll"),
])
def test_every_architecture_trains_and_leaves_a_complete_run(tmp_path: Path, arch: str, dataset: str) -> None:
    result = tiny_run(tmp_path, arch, dataset, steps=4)
    assert result.status == "finished" and result.step == 4
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["config"]["arch"] == arch and config["data_info"]["kind"] in ("points", "images")
    for path in ("checkpoints/last.safetensors", "checkpoints/best.safetensors", "metrics.jsonl",
                 "samples/step_000003.png", "samples/step_000004.png", "loss_curve.png", "val_curve.png"):
        assert (tmp_path / path).is_file(), path
    records = read_metrics(tmp_path)
    assert [r["step"] for r in records if "d_loss" in r] == [2, 4]
    assert all(torch.isfinite(torch.tensor(r["d_loss"])) for r in records if "d_loss" in r)
    assert any("val" in r for r in records)
    elapsed = [r["elapsed_s"] for r in records if "val" in r]
    assert elapsed == sorted(elapsed) and elapsed[0] > 0
    if arch == "wgan_gp":
        assert all("gp" in r for r in records if "d_loss" in r)


@pytest.mark.parametrize("arch, dataset", [("wgan_gp", "ring"), ("dcgan", "digits")])
def test_same_config_twice_is_bit_identical(tmp_path: Path, arch: str, dataset: str) -> None:
    tiny_run(tmp_path / "a", arch, dataset, steps=4)
    tiny_run(tmp_path / "b", arch, dataset, steps=4)
    assert _losses(tmp_path / "a") == _losses(tmp_path / "b")
    assert_same_tensors(checkpoint_tensors(tmp_path / "a"), checkpoint_tensors(tmp_path / "b"))


def test_the_saved_average_holds_batchnorm_statistics_of_its_own(tmp_path: Path) -> None:
    tiny_run(tmp_path, "dcgan", "digits", steps=4, ema=0.999)
    tensors = checkpoint_tensors(tmp_path)
    names = [k.removeprefix("G_ema/") for k in tensors if k.startswith("G_ema/") and k.endswith("running_var")]
    assert names and not any(torch.equal(tensors[f"G_ema/{n}"], tensors[f"G/{n}"]) for n in names)
    loaded = load_generator(default_registry(), tmp_path, "last", "cpu")
    loaded.generator.to(memory_format=torch.channels_last)  # the average's layout in training: the same convolutions
    saved = [b.clone() for b in loaded.generator.buffers()]
    standing_statistics(loaded.generator, loaded.latent_dim, 0, torch.device("cpu"))
    assert all(torch.equal(a, b) for a, b in zip(saved, loaded.generator.buffers()))


def test_different_seeds_differ(tmp_path: Path) -> None:
    tiny_run(tmp_path / "a", "wgan_gp", "ring", steps=2, seed=1)
    tiny_run(tmp_path / "b", "wgan_gp", "ring", steps=2, seed=2)
    assert _losses(tmp_path / "a") != _losses(tmp_path / "b")


@pytest.mark.parametrize("arch, dataset, extra", [
    ("wgan_gp", "ring", ()), ("dcgan", "digits", ()), ("dcgan", "digits", ("label_smoothing=0.1",)),
    # spectral norm's power-iteration vectors are buffers that every training forward moves: a resume must restore them
    ("dcgan", "digits", ("norm=spectral",)), ("wgan_gp", "digits", ("norm=spectral",)),
])
def test_resume_ends_with_the_same_weights_as_a_straight_run(tmp_path: Path, arch: str, dataset: str, extra) -> None:
    tiny_run(tmp_path / "straight", arch, dataset, steps=7, extra_sets=extra)
    tiny_run(tmp_path / "split", arch, dataset, steps=4, extra_sets=extra)
    tiny_run(tmp_path / "split", arch, dataset, steps=7, resume=True)
    assert_same_tensors(checkpoint_tensors(tmp_path / "straight"), checkpoint_tensors(tmp_path / "split"))
    straight = [r for r in _losses(tmp_path / "straight") if "d_loss" in r]
    split = [r for r in _losses(tmp_path / "split") if "d_loss" in r]
    assert straight == split


def test_r1_trains_a_conv_critic_without_normalisation_with_the_lazy_penalty(tmp_path: Path) -> None:
    result = tiny_run(tmp_path, "wgan_gp", "digits", steps=4, loss="bce_r1", penalty_every=2, augment="translation",
                      extra_sets=("norm=none",))
    assert result.status == "finished" and result.step == 4
    config = json.loads((tmp_path / "config.json").read_text())["config"]
    assert config["loss"] == "bce_r1"
    logged = [r for r in read_metrics(tmp_path) if "d_loss" in r]
    assert logged and all(r["gp"] > 0 and torch.isfinite(torch.tensor(r["d_loss"])) for r in logged)


def test_validation_records_carry_the_training_time_across_a_resume(tmp_path: Path) -> None:
    tiny_run(tmp_path, "wgan_gp", "ring", steps=4)
    tiny_run(tmp_path, "wgan_gp", "ring", steps=7, resume=True)
    elapsed = {r["step"]: r["elapsed_s"] for r in read_metrics(tmp_path) if "val" in r}
    before, after = [t for s, t in elapsed.items() if s <= 4], [t for s, t in elapsed.items() if s > 4]
    assert before and after and max(before) < min(after)  # the resumed run adds to the saved time, not from zero


def test_interrupt_checkpoints_and_resumes_exactly(tmp_path: Path) -> None:
    result = tiny_run(tmp_path / "run", "wgan_gp", "ring", steps=8, stop_after=3)
    assert result.status == "interrupted" and result.step == 3
    tiny_run(tmp_path / "run", "wgan_gp", "ring", steps=8, resume=True)
    tiny_run(tmp_path / "straight", "wgan_gp", "ring", steps=8)
    assert_same_tensors(checkpoint_tensors(tmp_path / "run"), checkpoint_tensors(tmp_path / "straight"))


def test_resume_a_finished_run_with_fewer_steps_is_refused(tmp_path: Path) -> None:
    tiny_run(tmp_path, "wgan_gp", "ring", steps=4)
    with pytest.raises(ConfigError, match="already at step 4"):
        tiny_run(tmp_path, "wgan_gp", "ring", steps=3, resume=True)


def test_ema_generator_is_saved_and_differs_from_g(tmp_path: Path) -> None:
    tiny_run(tmp_path, "wgan_gp", "ring", steps=4)
    tensors = checkpoint_tensors(tmp_path)
    g_keys = [k for k in tensors if k.startswith("G/")]
    assert g_keys and all(f"G_ema/{k[2:]}" in tensors for k in g_keys)
    assert any(not torch.equal(tensors[k], tensors["G_ema/" + k[2:]]) for k in g_keys)


@pytest.mark.parametrize("sets", [(), ("g_conditioning=batchnorm",), ("g_conditioning=both",)],
                         ids=["one-hot", "class-batchnorm", "both"])
def test_conditional_dcgan_trains(tmp_path: Path, sets: tuple[str, ...]) -> None:
    result = tiny_run(tmp_path, "dcgan", "digits", steps=2, conditional=True, extra_sets=sets)
    assert result.status == "finished"
    assert json.loads((tmp_path / "config.json").read_text())["config"]["conditional"] is True
    if sets:  # the class maps (zero at the start) are trained, averaged and saved with the rest of G
        tensors = checkpoint_tensors(tmp_path)
        class_maps = [k for k in tensors if k.startswith("G_ema/") and k.endswith((".gain", ".embed.weight"))]
        assert len(class_maps) == 2 and all(f"G/{k[6:]}" in tensors for k in class_maps)  # one block at 8x8
        assert all(tensors["G/" + k[6:]].any() for k in class_maps if k.endswith(".gain"))


def test_mode_seeking_trains_a_conditional_dcgan_and_logs_its_ratio(tmp_path: Path) -> None:
    result = tiny_run(tmp_path, "dcgan", "digits", steps=3, conditional=True, mode_seeking=1.0, log_every=1)
    assert result.status == "finished"
    assert json.loads((tmp_path / "config.json").read_text())["config"]["mode_seeking"] == 1.0
    ratios = [r["ms_ratio"] for r in read_metrics(tmp_path) if "g_loss" in r]
    assert len(ratios) == 3 and all(r > 0 for r in ratios)


@pytest.mark.parametrize("arch, twin", [("dcgan", False), ("wgan_gp", False), ("dcgan", True)])
def test_the_class_loss_trains_a_class_head_on_d_that_a_resume_restores(tmp_path: Path, arch: str, twin: bool) -> None:
    options = {"conditional": True, "class_loss": 1.0, "twin_classifier": twin, "log_every": 1}
    tiny_run(tmp_path / "straight", arch, "digits", steps=5, **options)
    tiny_run(tmp_path / "split", arch, "digits", steps=3, **options)
    tiny_run(tmp_path / "split", arch, "digits", steps=5, resume=True)
    tensors = checkpoint_tensors(tmp_path / "split")
    assert {"D/class_head.weight", "D/class_head.bias"} <= set(tensors)
    assert_same_tensors(checkpoint_tensors(tmp_path / "straight"), tensors)
    records = _losses(tmp_path / "straight")
    assert sum("d_class" in r for r in records) == 5 and sum("g_class" in r for r in records) == 5
    assert sum("d_twin" in r for r in records) == sum("g_twin" in r for r in records) == (5 if twin else 0)
    assert tensors["D/class_head.weight"].shape[0] == (20 if twin else 10)
    assert records == _losses(tmp_path / "split")


def test_early_stopping_stops(tmp_path: Path) -> None:
    # lr so small nothing changes: validation cannot improve after the first, so patience 1 stops at the second
    result = tiny_run(tmp_path, "wgan_gp", "ring", steps=30, val_every=2, early_stop_patience=1, lr_g=1e-12, lr_d=1e-12)
    assert result.status == "early_stopped" and result.step == 4
    assert (tmp_path / "checkpoints" / "best.safetensors").is_file()


@pytest.mark.parametrize("options, sets, message", [
    ({"arch": "wgan_gp", "loss": "wasserstein"}, [], "needs a critic Lipschitz by construction"),
    ({"arch": "dcgan", "loss": "wgan_gp"}, [], "without BatchNorm"),
    ({"arch": "dcgan", "loss": "bce_r1"}, [], "without BatchNorm"),
    ({"arch": "dcgan", "dataset": "ring"}, [], "models images, but dataset 'ring' holds points"),
    ({"arch": "wgan_gp", "steps": 0}, [], "--steps must be at least 1"),
    ({"arch": "wgan_gp", "batch_size": -3}, [], "--batch-size must be at least 1"),
    ({"arch": "wgan_gp", "ema": 1.5}, [], "--ema"),
    ({"arch": "wgan_gp", "mode_seeking": -1.0}, [], "--mode-seeking -1.0 must be 0 .off. or a positive"),
    ({"arch": "dcgan", "mode_seeking": 1.0, "batch_size": 5}, [], "--batch-size 5 is odd: give an even batch size"),
    ({"arch": "dcgan", "class_loss": -1.0}, [], "--class-loss -1.0 must be 0 .off. or a positive"),
    ({"arch": "dcgan", "conditional": True, "twin_classifier": True}, [], "--twin-classifier is a second class head"),
    ({"arch": "dcgan", "class_loss": 1.0}, [], "--class-loss trains D to name the classes of a conditional run: add "
                                               "--conditional"),
    ({"arch": "wgan_gp", "label_smoothing": 0.1}, [], "no meaning for loss 'wgan_gp'"),
    ({"arch": "wgan_gp", "conditional": True, "dataset": "swissroll"}, [], "has no labels"),
    ({"arch": "wgan_gp"}, ["widht=3"], "--set widht: not a setting"),
    ({"arch": "wgan_gp"}, ["hidden=lots"], "expected an integer"),
    ({"arch": "wgan_gp"}, ["norm=batch"], None),
    ({"arch": "wgan_gp", "loss": "bce", "penalty_weight": 1.0}, [], "--penalty-weight needs a loss with a gradient penalty"),
])
def test_bad_configs_are_refused_before_training(options, sets, message) -> None:
    if message is None:  # an architecture-level check, raised when the networks are built
        resolved = resolve_config(default_registry(), options, sets)
        from ganzoo.specs import DataInfo

        with pytest.raises(ConfigError, match="BatchNorm couples"):
            resolved.arch.build(DataInfo(kind="points", shape=(2,)), resolved.config.hparams, 0)
        return
    with pytest.raises(ConfigError, match=message):
        resolve_config(default_registry(), options, sets)


def test_batch_larger_than_the_dataset_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="larger than the dataset"):
        tiny_run(tmp_path, "dcgan", "digits", batch_size=5000)


def test_per_kind_defaults_of_wgan_gp() -> None:
    points = resolve_config(default_registry(), {"arch": "wgan_gp", "dataset": "ring"}).config
    images = resolve_config(default_registry(), {"arch": "wgan_gp", "dataset": "digits"}).config
    assert (points.batch_size, points.betas, points.penalty_weight) == (256, (0.5, 0.9), 0.1)
    assert (images.batch_size, images.betas, images.penalty_weight, images.n_critic) == (64, (0.0, 0.9), None, 5)
    explicit = resolve_config(default_registry(), {"arch": "wgan_gp", "batch_size": 32}).config
    assert explicit.batch_size == 32


def test_dataset_defaults_sit_over_the_kinds_and_under_the_users_flags() -> None:
    from dataclasses import replace

    from ganzoo import hookimpl
    from ganzoo.zoo.architectures import WGAN_GP
    from tests.conftest import make_registry

    arch = replace(WGAN_GP, name="wgan_grid", dataset_defaults={"grid": {"hidden": 64, "steps": 123, "lr_g": 5e-4}})

    class Plugin:
        @hookimpl
        def register_architectures(self, register):
            register(arch)

    registry = make_registry(Plugin())
    grid = resolve_config(registry, {"arch": "wgan_grid", "dataset": "grid"}).config
    assert (grid.hparams["hidden"], grid.steps, grid.lr_g, grid.lr_d, grid.batch_size) == (64, 123, 5e-4, 1e-3, 256)
    ring = resolve_config(registry, {"arch": "wgan_grid", "dataset": "ring"}).config
    assert (ring.hparams["hidden"], ring.steps, ring.lr_g) == (128, 8000, 1e-3)  # another dataset: the kind's defaults
    mine = resolve_config(registry, {"arch": "wgan_grid", "dataset": "grid", "steps": 7}, ["hidden=32", "lr_g=1e-2"]).config
    assert (mine.hparams["hidden"], mine.steps, mine.lr_g) == (32, 7, 1e-2)


def test_resume_of_something_that_is_not_a_run(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="not a ganzoo run"):
        tiny_run(tmp_path, "wgan_gp", "ring", resume=True)


def test_lazy_penalty_runs_resumes_exactly_and_is_checked(tmp_path: Path) -> None:
    tiny_run(tmp_path / "straight", "wgan_gp", "ring", steps=5, penalty_every=3)
    tiny_run(tmp_path / "split", "wgan_gp", "ring", steps=2, penalty_every=3)
    tiny_run(tmp_path / "split", "wgan_gp", "ring", steps=5, resume=True)
    assert_same_tensors(checkpoint_tensors(tmp_path / "straight"), checkpoint_tensors(tmp_path / "split"))
    eager = tiny_run(tmp_path / "every", "wgan_gp", "ring", steps=5)
    assert _losses(tmp_path / "every") != _losses(tmp_path / "straight")
    assert eager.status == "finished"
    with pytest.raises(ConfigError, match="--penalty-every needs a loss with a gradient penalty"):
        resolve_config(default_registry(), {"arch": "wgan_gp", "loss": "hinge", "penalty_every": 4})
    with pytest.raises(ConfigError, match="--penalty-every must be at least 1"):
        resolve_config(default_registry(), {"arch": "wgan_gp", "penalty_every": 0})


def test_linear_lr_decay_is_a_function_of_the_step_and_resumes_exactly(tmp_path: Path) -> None:
    from ganzoo.train.checkpoint import load_checkpoint
    from ganzoo.train.run import checkpoint_path

    tiny_run(tmp_path / "straight", "wgan_gp", "ring", steps=4, lr_decay="linear")
    _, state = load_checkpoint(checkpoint_path(tmp_path / "straight", "last"))
    lr_g = state["opt_g"]["param_groups"][0]["lr"]
    base = resolve_config(default_registry(), {"arch": "wgan_gp"}).config.lr_g
    assert lr_g == pytest.approx(base * (1 - 3 / 4))  # set before the last step (step index 3 of 4)
    # interrupted after step 2 of 4, then resumed: the schedule (relative to --steps) continues where it was
    tiny_run(tmp_path / "split", "wgan_gp", "ring", steps=4, lr_decay="linear", stop_after=2)
    tiny_run(tmp_path / "split", "wgan_gp", "ring", steps=4, resume=True)
    assert_same_tensors(checkpoint_tensors(tmp_path / "straight"), checkpoint_tensors(tmp_path / "split"))


def test_unknown_lr_decay_is_refused() -> None:
    with pytest.raises(ConfigError, match="--lr-decay 'cosine' must be one of none, linear"):
        resolve_config(default_registry(), {"arch": "wgan_gp", "lr_decay": "cosine"})


@pytest.mark.parametrize("kind, setting, expected", [
    ("images", "auto", True), ("points", "auto", False), ("points", "on", True), ("images", "off", False),
])
def test_vanilla_generator_batchnorm_setting(kind: str, setting: str, expected: bool) -> None:
    from ganzoo.specs import DataInfo
    from ganzoo.zoo.builders import build_vanilla

    info = DataInfo(kind=kind, shape=(1, 8, 8) if kind == "images" else (2,))
    models = build_vanilla(info, {"latent_dim": 0, "hidden": 8, "depth": 2, "g_batchnorm": setting})
    has_bn = any(isinstance(m, torch.nn.BatchNorm1d) for m in models.generator.modules())
    assert has_bn is expected
    assert not any(isinstance(m, torch.nn.BatchNorm1d) for m in models.discriminator.modules())
    with pytest.raises(ConfigError, match="g_batchnorm='yes' must be auto, on or off"):
        build_vanilla(info, {"latent_dim": 0, "hidden": 8, "depth": 2, "g_batchnorm": "yes"})


def test_the_validation_curve_plots_the_score_against_training_minutes(tmp_path: Path, monkeypatch) -> None:
    import numpy as np
    from PIL import Image

    from ganzoo import viz
    from ganzoo.train.records import save_validation_curve

    lines = [{"step": 50, "d_loss": 1.0}, {"step": 500, "val": {"inception": {"fid": 90.0}}, "elapsed_s": 120.0},
             {"step": 700, "val": {"inception": {"fid": 70.0}}},  # a record without the time: not plotted
             {"step": 1000, "val": {"inception": {"fid": 60.0}}, "elapsed_s": 240.0}]
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    save_validation_curve(tmp_path, read_metrics(tmp_path), "swd", "swd")  # no validation by that metric: no picture
    assert not (tmp_path / "val_curve.png").exists()
    drawn, draw = [], viz.save_curves

    def recording(series, path, **options):
        drawn.append(series)
        draw(series, path, **options)

    monkeypatch.setattr(viz, "save_curves", recording)
    save_validation_curve(tmp_path, read_metrics(tmp_path), "inception", "fid")
    assert drawn == [{"inception.fid": ([2.0, 4.0], [90.0, 60.0])}]  # minutes, not steps
    with Image.open(tmp_path / "val_curve.png") as picture:
        pixels = np.asarray(picture.convert("RGB"))
        # a line across the plot in the first colour of the palette (the legend's text alone is a few dozen pixels)
        assert int((pixels == np.array(viz._PALETTE[0], dtype=np.uint8)).all(axis=-1).sum()) > 400
