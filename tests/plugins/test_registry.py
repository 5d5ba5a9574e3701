"""The registry over in-memory plugins: discovery, clashes, qualifiers, close matches and plugin isolation."""

from __future__ import annotations

import types

import pytest

import ganzoo
from ganzoo import Architecture, Dataset, Loss, Metric, hookimpl
from ganzoo.errors import AmbiguousNameError, UnknownNameError
from tests.conftest import make_registry


def _plugin(package: str, **hooks):
    ns = types.SimpleNamespace(**{name: hookimpl(fn) for name, fn in hooks.items()})
    ns.__name__ = package.replace("-", "_")
    return (ns, package, "1.2.3")


def _dataset(name: str, description: str = "a test dataset") -> Dataset:
    return Dataset(name=name, description=description, kind="points", load=lambda request: None)


def test_builtins_come_through_entry_points() -> None:
    registry = make_registry()
    names = registry.names("dataset")
    for expected in ("ring", "grid", "swissroll", "digits", "mnist", "fashion_mnist", "folder", "npz"):
        assert expected in names
        assert registry.entry("dataset", expected).package == "ganzoo"
    assert registry.failures == []


def test_in_memory_plugin_registers_every_kind() -> None:
    def archs(register):
        register(Architecture(name="toy_gan", description="toy architecture", build=lambda info, hp, n: None))

    def losses(register):
        register(Loss(name="toy_loss", description="toy loss", discriminator=lambda r, f: 0, generator=lambda f: 0))

    def datasets(register):
        register(_dataset("toy_data"))

    def metrics(register):
        register(Metric(name="toy_metric", description="toy metric", compute=lambda inp: {"score": 1.0}, primary="score",
                        higher_is_better=True))

    registry = make_registry(_plugin("ganzoo-toy", register_architectures=archs, register_losses=losses,
                                     register_datasets=datasets, register_metrics=metrics))
    for kind, name in (("arch", "toy_gan"), ("loss", "toy_loss"), ("dataset", "toy_data"), ("metric", "toy_metric")):
        entry = registry.entry(kind, name)
        assert (entry.package, entry.version) == ("ganzoo-toy", "1.2.3")


def test_two_providers_of_one_name_is_an_error_naming_both() -> None:
    registry = make_registry(_plugin("ganzoo-ring2", register_datasets=lambda register: register(_dataset("ring"))))
    with pytest.raises(AmbiguousNameError) as err:
        registry.get("dataset", "ring")
    assert "ganzoo 0.1.0" in str(err.value) or "ganzoo " in str(err.value)
    assert "ganzoo-ring2 1.2.3" in str(err.value)
    assert "'ganzoo-ring2:ring'" in str(err.value)
    assert registry.entry("dataset", "ganzoo-ring2:ring").package == "ganzoo-ring2"
    assert registry.entry("dataset", "ganzoo:ring").package == "ganzoo"
    assert len(registry.clashes("dataset")) == 1


def test_unknown_name_lists_close_matches() -> None:
    registry = make_registry()
    with pytest.raises(UnknownNameError, match=r"unknown dataset 'rnig': did you mean 'ring'"):
        registry.get("dataset", "rnig")
    with pytest.raises(UnknownNameError, match="known: "):
        registry.get("dataset", "zzzzzz")


@pytest.mark.parametrize("bad_name", ["Ring", "2d", "my-data", "", "has space"])
def test_invalid_names_are_reported_and_skipped(bad_name: str) -> None:
    registry = make_registry(_plugin("ganzoo-bad", register_datasets=lambda register: register(_dataset(bad_name))))
    assert [f.package for f in registry.failures] == ["ganzoo-bad"]
    assert "lowercase identifier" in registry.failures[0].error
    assert "ring" in registry.names("dataset")  # the rest still works


def test_raising_hook_loses_only_its_plugin() -> None:
    def boom(register):
        raise RuntimeError("database not reachable")

    good = _plugin("ganzoo-good", register_datasets=lambda register: register(_dataset("good_data")))
    registry = make_registry(_plugin("ganzoo-boom", register_datasets=boom), good)
    assert registry.failures[0].package == "ganzoo-boom"
    assert registry.failures[0].error == "RuntimeError: database not reachable"
    assert "good_data" in registry.names("dataset")


def test_wrong_spec_type_and_missing_callable_are_rejected() -> None:
    wrong = _plugin("ganzoo-wrong", register_datasets=lambda register: register(Metric(name="m", description="d", compute=len, primary="x",
                                                                                     higher_is_better=True)))
    not_callable = _plugin("ganzoo-nc", register_datasets=lambda register: register(Dataset(name="nc", description="d", kind="points", load=3)))
    registry = make_registry(wrong, not_callable)
    errors = {f.package: f.error for f in registry.failures}
    assert "expected Dataset" in errors["ganzoo-wrong"]
    assert "'load' must be callable" in errors["ganzoo-nc"]


def test_api_version_mismatch_is_reported_not_raised() -> None:
    module = types.SimpleNamespace(GANZOO_API_VERSION=ganzoo.API_VERSION + 1,
                                   register_datasets=hookimpl(lambda register: register(_dataset("future"))))
    registry = make_registry((module, "ganzoo-future", "9.0"))
    assert "plugin API" in registry.failures[0].error
    assert "future" not in registry.names("dataset")


def test_registering_one_name_twice_in_one_package_fails_that_plugin() -> None:
    def twice(register):
        register(_dataset("dup"))
        register(_dataset("dup"))

    registry = make_registry(_plugin("ganzoo-twice", register_datasets=twice))
    assert "twice" in registry.failures[0].error
    assert "dup" not in registry.names("dataset")


def test_import_of_ganzoo_does_not_import_torch() -> None:
    import subprocess
    import sys

    code = "import sys, ganzoo, ganzoo.cli, ganzoo.registry; sys.exit(1 if 'torch' in sys.modules else 0)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


# ----------------------------------------------------------------------------------------------- no silent failures
def test_a_misspelled_hook_fails_its_plugin_with_the_right_name() -> None:
    registry = make_registry(_plugin("ganzoo-typo", register_metric=lambda register: None))
    (failure,) = registry.failures
    assert failure.package == "ganzoo-typo"
    assert "register_metric is not a ganzoo hook: did you mean 'register_metrics'?" in failure.error


def test_a_hook_without_hookimpl_fails_its_plugin() -> None:
    ns = types.SimpleNamespace(register_datasets=lambda register: register(_dataset("lost")))
    ns.__name__ = "ganzoo_plain"
    registry = make_registry((ns, "ganzoo-plain", "1.0"))
    (failure,) = registry.failures
    assert "register_datasets is not marked @ganzoo.hookimpl, so ganzoo never calls it" in failure.error
    assert "lost" not in registry.names("dataset")


def test_an_api_version_given_as_a_string_says_to_write_an_int() -> None:
    ns, package, version = _plugin("ganzoo-str", register_datasets=lambda register: register(_dataset("strset")))
    ns.GANZOO_API_VERSION = "1"
    (failure,) = make_registry((ns, package, version)).failures
    assert "GANZOO_API_VERSION must be an int, got '1' (str): write GANZOO_API_VERSION = 2" in failure.error


def test_an_unknown_name_mentions_the_plugins_that_failed_to_load() -> None:
    def broken(register):
        raise RuntimeError("resmlp could not build")

    registry = make_registry(_plugin("ganzoo-resmlp", register_architectures=broken))
    with pytest.raises(UnknownNameError) as err:
        registry.get("arch", "resmlp")
    assert "1 plugin(s) failed to load: ganzoo-resmlp (RuntimeError: resmlp could not build)" in str(err.value)
    (failure,) = registry.failures
    assert "Traceback" in failure.traceback and "resmlp could not build" in failure.traceback


def test_a_lazy_target_that_does_not_resolve_is_named_with_the_fix() -> None:
    from ganzoo.errors import PluginError

    with pytest.raises(PluginError, match=r"has no 'discriminator_los'; did you mean ganzoo.ops:discriminator_loss\?"):
        ganzoo.lazy("ganzoo.ops:discriminator_los")()
    with pytest.raises(PluginError, match="module 'ganzoo.nope' cannot be imported"):
        ganzoo.lazy("ganzoo.nope:x")()
    with pytest.raises(PluginError, match="is a int, not a function"):
        ganzoo.lazy("ganzoo.hookspecs:API_VERSION")()
    assert ganzoo.lazy("math:prod")([2, 3]) == 6


# ------------------------------------------------------------------------------------------------ plugin API 2
def test_spec_fields_are_keyword_only_and_a_positional_plugin_is_told_so() -> None:
    with pytest.raises(TypeError):
        Dataset("x", "d", "points", lambda request: None)  # type: ignore[misc]
    registry = make_registry(_plugin("ganzoo-positional", register_datasets=lambda register: register(
        Dataset("x", "d", "points", lambda request: None))))  # type: ignore[misc]
    (failure,) = registry.failures
    assert "spec fields are passed by keyword since plugin API 2" in failure.error


def test_a_version_1_plugin_is_told_what_to_change() -> None:
    ns, package, version = _plugin("ganzoo-old", register_datasets=lambda register: register(_dataset("olddata")))
    ns.GANZOO_API_VERSION = 1
    (failure,) = make_registry((ns, package, version)).failures
    assert failure.error.startswith("PluginError: written for plugin API 1, this ganzoo provides 2: pass every spec "
                                    "field by keyword")
    assert "give a Loss either kind or discriminator" in failure.error and "GANZOO_API_VERSION = 2" in failure.error


def test_the_version_1_message_pins_a_release_that_provides_api_1() -> None:
    """The release number moves with the contract: this ganzoo's major.minor is the series of the API it provides, so the
    pin the version-1 message gives excludes this release and every later one."""
    from ganzoo import __version__
    from ganzoo.hookspecs import API_RELEASES, API_VERSION

    ns, package, version = _plugin("ganzoo-old", register_datasets=lambda register: register(_dataset("olddata")))
    ns.GANZOO_API_VERSION = 1
    (failure,) = make_registry((ns, package, version)).failures
    series = ".".join(__version__.split(".")[:2])
    assert API_RELEASES[API_VERSION] == series, f"ganzoo {__version__} provides plugin API {API_VERSION}: bump one of them"
    assert f"or pin ganzoo<{series} for ganzoo-old" in failure.error
    assert tuple(map(int, API_RELEASES[1].split("."))) < tuple(map(int, series.split(".")))


def test_a_loss_gives_kind_or_discriminator_not_both() -> None:
    from ganzoo.errors import PluginError
    from ganzoo.specs import validate_spec

    d = g = lambda *a, **k: 0  # noqa: E731
    with pytest.raises(PluginError, match=r"gives both kind='hinge' and a discriminator: give one"):
        validate_spec(Loss(name="x", description="d", kind="hinge", discriminator=d))
    with pytest.raises(PluginError, match="field 'discriminator' is required without a kind"):
        validate_spec(Loss(name="x", description="d", generator=g))
    with pytest.raises(PluginError, match="field 'generator' is required without a kind"):
        validate_spec(Loss(name="x", description="d", discriminator=d))
    standard = Loss(name="x", description="d", kind="hinge")  # the kind stands for both losses
    validate_spec(standard)
    import torch

    real, fake = torch.tensor([2.0, -1.0]), torch.tensor([0.5, -3.0])
    assert float(standard.discriminator_loss()(real, fake)) == pytest.approx((0 + 2) / 2 + (1.5 + 0) / 2)
    assert float(standard.generator_loss()(fake)) == pytest.approx(1.25)


@pytest.mark.parametrize("bad", [{"penalty"}, frozenset({"Penalty"}), frozenset({1})], ids=["set", "caps", "int"])
def test_capabilities_and_requires_are_frozensets_of_identifiers(bad) -> None:
    from ganzoo.errors import PluginError
    from ganzoo.specs import validate_spec

    with pytest.raises(PluginError, match="must be a frozenset of lowercase identifiers"):
        validate_spec(Architecture(name="a", description="d", build=len, capabilities=bad))
    with pytest.raises(PluginError, match="requires must be a frozenset of lowercase identifiers"):
        validate_spec(Loss(name="x", description="d", kind="bce", requires=bad))


def test_a_metric_without_its_primary_key_is_named_not_a_key_error() -> None:
    import torch

    from ganzoo.errors import PluginError
    from ganzoo.specs import DataInfo, MetricInput
    from ganzoo.train.validation import scores_of

    inp = MetricInput(fake=torch.zeros(2, 2), real=torch.zeros(2, 2), info=DataInfo(kind="points", shape=(2,)))
    good = Metric(name="m", description="d", compute=lambda i: {"score": 1, "other": 2.5}, primary="score",
                  higher_is_better=True)
    assert scores_of(good, inp) == {"score": 1.0, "other": 2.5}
    missing = Metric(name="mmd", description="d", compute=lambda i: {"mmd2": 0.1}, primary="mmd",
                     higher_is_better=False)
    with pytest.raises(PluginError, match=r"metric 'mmd' returned \['mmd2'\] without its primary key 'mmd': return it"):
        scores_of(missing, inp)
    scalar = Metric(name="s", description="d", compute=lambda i: 0.5, primary="s", higher_is_better=False)
    with pytest.raises(PluginError, match="must return a mapping of names to numbers, got float"):
        scores_of(scalar, inp)


def test_a_dataset_may_return_numpy_arrays_and_other_types_are_named() -> None:
    import numpy as np
    import torch

    from ganzoo.data.common import load_dataset
    from ganzoo.errors import PluginError
    from ganzoo.specs import DataInfo, DataRequest, LoadedData

    info = DataInfo(kind="points", shape=(2,), num_classes=2)

    def dataset(x, y=None):
        return Dataset(name="moons", description="d", kind="points", load=lambda request: LoadedData(x=x, y=y, info=info))

    data = load_dataset(dataset(np.ones((5, 2), dtype=np.float64), np.array([0, 1, 0, 1, 1], dtype=np.int32)),
                        DataRequest())
    assert data.x.dtype == torch.float32 and data.x.shape == (5, 2) and data.y.dtype == torch.int64
    with pytest.raises(PluginError, match="LoadedData.x must be a torch.Tensor or a NumPy array .* got list"):
        load_dataset(dataset([[0.0, 1.0]]), DataRequest())
    with pytest.raises(PluginError, match=r"LoadedData.x must have shape \(N, \*info.shape\), got \(4,\)"):
        load_dataset(dataset(np.zeros(4)), DataRequest())


def test_a_dataset_names_its_validation_metric_and_a_clash_does_not_borrow_one() -> None:
    from ganzoo.errors import PluginError
    from ganzoo.specs import validate_spec
    from ganzoo.train.config import resolve_config

    def datasets(register):
        register(Dataset(name="ring", description="another ring", kind="points", load=len))  # no metric of its own
        register(Dataset(name="moons", description="two moons", kind="points", load=len, metric="swd"))

    registry = make_registry(_plugin("ganzoo-moons", register_datasets=datasets))

    def val_metric(dataset: str) -> str:
        return resolve_config(registry, {"arch": "wgan_gp", "dataset": dataset}).config.val_metric

    assert val_metric("ganzoo:ring") == "modes"  # the built-in ring names it
    assert val_metric("ganzoo-moons:ring") == "swd"  # the same bare name, another spec: ganzoo's default
    assert val_metric("moons") == "swd"
    with pytest.raises(PluginError, match="metric must be None or a metric name"):
        validate_spec(Dataset(name="d", description="d", kind="points", load=len, metric="Not A Name"))


def test_a_plugin_dataset_named_ring_does_not_break_the_bare_default() -> None:
    from ganzoo.train.config import resolve_config

    registry = make_registry(_plugin("ganzoo-ring2", register_datasets=lambda register: register(_dataset("ring"))))
    resolved = resolve_config(registry, {})  # wgan_gp's default dataset, ring: the built-in, and its metric
    assert resolved.dataset.description.startswith("8 Gaussians") and resolved.config.val_metric == "modes"
    with pytest.raises(AmbiguousNameError):  # typed by the user, the bare name still asks which
        resolve_config(registry, {"dataset": "ring"})


def test_an_architecture_sets_only_the_training_keys_of_the_contract() -> None:
    from ganzoo.errors import PluginError
    from ganzoo.specs import TRAINING_KEYS, validate_spec

    validate_spec(Architecture(name="a", description="d", build=len,
                               training={"lr_g": 1e-4, "points": {"batch_size": 256}, "images": {"n_critic": 5}}))
    assert "log_every" not in TRAINING_KEYS
    with pytest.raises(PluginError, match=r"training sets 'log_every', which an architecture may not set"):
        validate_spec(Architecture(name="a", description="d", build=len, training={"log_every": 10}))
    with pytest.raises(PluginError, match=r"training\['images'\] sets 'device'"):
        validate_spec(Architecture(name="a", description="d", build=len, training={"images": {"device": "cuda"}}))


def test_dataset_defaults_set_trainer_settings_or_hyperparameters_only() -> None:
    from ganzoo.errors import PluginError
    from ganzoo.specs import validate_spec

    validate_spec(Architecture(name="a", description="d", build=len, hyperparameters={"hidden": 128},
                               dataset_defaults={"grid": {"hidden": 256, "steps": 8000}}))
    with pytest.raises(PluginError, match=r"dataset_defaults\['grid'\] sets 'width', which is neither"):
        validate_spec(Architecture(name="a", description="d", build=len, hyperparameters={"hidden": 128},
                                   dataset_defaults={"grid": {"width": 256}}))
    with pytest.raises(PluginError, match=r"dataset_defaults\['grid'\] must be a mapping"):
        validate_spec(Architecture(name="a", description="d", build=len, dataset_defaults={"grid": 3}))
