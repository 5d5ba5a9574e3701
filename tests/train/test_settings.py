"""The trainer's settings are declared once, in ``ganzoo.settings``: the command line's options, the range checks,
what ``--resume`` may change and what an architecture may set are all made from those declarations."""

from __future__ import annotations

import dataclasses

import pytest

from ganzoo.errors import ConfigError
from ganzoo.registry import default_registry
from ganzoo.settings import RESUMABLE_FIELDS, TRAINING_KEYS, TrainConfig, check_ranges, flag_of, settings
from ganzoo.train.config import effective_training_defaults, resolve_config

# The plugin API's keys as ganzoo 0.2 published them (docs/plugins.md): a setting dropped from them, or renamed, breaks
# plugins that set it, so a change here must be a deliberate one.
API_TRAINING_KEYS = ("steps", "batch_size", "lr_g", "lr_d", "betas", "n_critic", "ema", "label_smoothing",
                     "penalty_weight", "penalty_every", "grad_clip", "lr_decay",
                     # added in 0.2.x: an architecture's augmentation policy, and its precision (auto: bf16 where native)
                     "augment", "precision")


def test_every_field_is_a_declared_setting() -> None:
    for f in dataclasses.fields(TrainConfig):
        assert "setting" in f.metadata, f"TrainConfig.{f.name} is a plain field: declare it with setting(...)"
        assert f.metadata["setting"].help, f.name


def test_the_plugin_apis_training_keys_are_those_declared_as_such() -> None:
    assert TRAINING_KEYS == API_TRAINING_KEYS
    assert set(RESUMABLE_FIELDS) == {"steps", "device", "fused", "log_every", "sample_every", "checkpoint_every",
                                     "val_every", "val_samples", "early_stop_patience", "batch_size"}


def test_every_setting_with_a_flag_is_an_option_of_train_and_the_others_are_not() -> None:
    from ganzoo.cli import cli

    options = {param.name: param for param in cli.commands["train"].params}
    for name, about in settings().items():
        if about.flag is None:
            assert name not in options, name
            continue
        assert name in options, name
        param = options[name]
        assert param.default is None, f"--{name} must default to None (not given) so a flag can be told from a default"
        assert about.help in param.help and flag_of(name) in param.opts, name


@pytest.mark.parametrize("name, bad", [
    ("steps", 0), ("n_critic", -1), ("val_samples", 0), ("lr_g", 0.0), ("lr_d", float("inf")), ("ema", 1.0),
    ("label_smoothing", 0.5), ("grad_clip", -1.0), ("penalty_weight", -0.5), ("log_every", -1),
    ("lr_decay", "cosine"), ("precision", "fp8"), ("device", "gpu"), ("channels", 2), ("betas", (0.5,)),
    ("nonfinite_patience", 0), ("max_rollbacks", -2),
])
def test_a_value_outside_its_range_is_refused_naming_how_it_is_given(name: str, bad: object) -> None:
    config = TrainConfig()
    check_ranges(config)  # the defaults are in range
    setattr(config, name, bad)
    with pytest.raises(ConfigError) as raised:
        check_ranges(config)
    message = str(raised.value)
    assert message.startswith(flag_of(name) if name != "betas" else "betas"), message
    assert "\n" not in message


def test_a_set_only_setting_is_named_as_set() -> None:
    with pytest.raises(ConfigError, match="--set nonfinite_patience must be at least 1, got 0"):
        resolve_config(default_registry(), {"arch": "wgan_gp"}, ["nonfinite_patience=0"])


def test_the_loss_and_dataset_can_be_given_by_set_as_well_as_by_flag() -> None:
    """The architecture's settings for the data kind come from the dataset given, however it was given."""
    registry = default_registry()
    by_flag = resolve_config(registry, {"arch": "wgan_gp", "dataset": "digits"})
    by_set = resolve_config(registry, {"arch": "wgan_gp"}, ["dataset=digits"])
    assert by_set.config == by_flag.config
    assert by_set.config.n_critic == 5 and by_set.config.batch_size == 64  # wgan_gp's images settings


def test_the_resolved_penalty_is_decided_once() -> None:
    registry = default_registry()
    points = resolve_config(registry, {"arch": "wgan_gp"})
    images = resolve_config(registry, {"arch": "wgan_gp", "dataset": "digits"})
    given = resolve_config(registry, {"arch": "wgan_gp", "penalty_weight": 3.0})
    plain = resolve_config(registry, {"arch": "dcgan"})
    assert points.penalty is not None and points.penalty.weight == 0.1  # wgan_gp's lambda on points
    assert images.penalty is not None and images.penalty.weight == images.loss.penalty.weight == 10.0
    assert given.penalty is not None and given.penalty.weight == 3.0
    assert plain.penalty is None


def test_train_help_with_an_arch_ends_with_its_defaults(run_cli) -> None:
    out = run_cli("train", "--arch", "dcgan", "--help").stdout
    assert "Defaults of dcgan:" in out
    shown = " ".join(out.split("Defaults of dcgan:")[1].split())
    registry = default_registry()
    expected = effective_training_defaults(registry, registry.get("arch", "dcgan"), "images")
    assert f"on images steps={expected['steps']} batch_size={expected['batch_size']}" in shown
    assert "Defaults of" not in run_cli("train", "--help").stdout


def test_a_set_value_of_the_wrong_type_is_a_range_error_not_a_crash() -> None:
    with pytest.raises(ConfigError, match="--penalty-weight abc must be 0 or a positive finite number"):
        resolve_config(default_registry(), {"arch": "wgan_gp"}, ["penalty_weight=abc"])


def test_train_help_with_an_unknown_arch_still_helps(run_cli) -> None:
    result = run_cli("train", "--arch", "nope", "--help")
    assert result.exit_code == 0 and "--steps" in result.stdout and "unknown architecture 'nope'" in result.stdout
