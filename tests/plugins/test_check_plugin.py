"""``ganzoo check-plugin DIST``: the in-repo plugins and the built-ins pass; real installed packages with faults get one
FAIL line per fault, naming it; a misspelled lazy target stops the checks that would run it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_subprocess
from tests.plugins.packages import install_into, write_plugin_package

FAULTY = "ganzoo-faulty"
TYPO = "ganzoo-typo"
MISSPELT = "ganzoo-misspelt"


@pytest.fixture(scope="module")
def faulty_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("check-src")
    site = tmp_path_factory.mktemp("check-site")
    faulty = write_plugin_package(root, FAULTY, {
        "plugin.py": """
            import torch  # at module top: every `ganzoo list` pays for it

            import ganzoo

            GANZOO_API_VERSION = 2


            @ganzoo.hookimpl
            def register_architectures(register):
                register(ganzoo.Architecture(name="wrong_shape", description="G draws 3-d points for 2-d data",
                                             build=ganzoo.lazy("ganzoo_faulty.impl:build"), data_kinds=("points",),
                                             conditional=False))


            @ganzoo.hookimpl
            def register_datasets(register):
                register(ganzoo.Dataset(name="hot_pixels", description="images outside (-1, 1)", kind="images",
                                        load=ganzoo.lazy("ganzoo_faulty.impl:load")))


            @ganzoo.hookimpl
            def register_metrics(register):
                register(ganzoo.Metric(name="nameless", description="returns no primary key", primary="score",
                                       compute=ganzoo.lazy("ganzoo_faulty.impl:compute"), higher_is_better=False))
        """,
        "impl.py": """
            import torch
            from torch import nn

            import ganzoo


            class G(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.net = nn.Linear(2, 3)

                def forward(self, z, y=None):
                    return self.net(z)


            class D(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.net = nn.Linear(2, 1)

                def forward(self, x, y=None):
                    return self.net(x).flatten()


            def build(info, hparams, num_classes=0):
                return ganzoo.GanModels(generator=G(), discriminator=D(), latent_dim=2)


            def load(request):
                info = ganzoo.DataInfo(kind="images", shape=(1, 8, 8))
                return ganzoo.LoadedData(x=torch.full((10, 1, 8, 8), 3.0), y=None, info=info)


            def compute(inp):
                return {"other": 1.0}
        """,
    })
    typo = write_plugin_package(root, TYPO, {
        "plugin.py": """
            import ganzoo

            GANZOO_API_VERSION = 2


            @ganzoo.hookimpl
            def register_datasets(register):
                register(ganzoo.Dataset(name="typo_points", description="a lazy target spelled wrong", kind="points",
                                        load=ganzoo.lazy("ganzoo_typo.impl:lod")))
        """,
        "impl.py": """
            def load(request):
                raise AssertionError("never reached")
        """,
    })
    misspelt = write_plugin_package(root, MISSPELT, {
        "plugin.py": """
            import ganzoo

            GANZOO_API_VERSION = 2


            @ganzoo.hookimpl
            def register_metric(register):  # the hook is register_metrics
                raise AssertionError("never called")


            @ganzoo.hookimpl
            def register_datasets(register):
                register(ganzoo.Dataset(name="typo_too", description="a lazy target spelled wrong", kind="points",
                                        load=ganzoo.lazy("ganzoo_misspelt.impl:lod")))
                register(ganzoo.Dataset(name="fine", description="resolves", kind="points",
                                        load=ganzoo.lazy("ganzoo_misspelt.impl:load")))


            def register_losses(register):  # a hook's name without @ganzoo.hookimpl
                pass
        """,
        "impl.py": """
            def load(request):
                raise AssertionError("never reached")
        """,
    })
    return install_into(site, faulty, typo, misspelt)


def _checks(site: Path, dist: str) -> tuple[list[dict], int]:
    proc = run_subprocess(["check-plugin", dist, "--json"], env={"PYTHONPATH": str(site)})
    assert "Traceback" not in proc.stderr, proc.stderr
    return json.loads(proc.stdout), proc.returncode


def _verdict(checks: list[dict], starts: str) -> dict:
    (found,) = [c for c in checks if c["what"].startswith(starts)]
    return found


@pytest.mark.parametrize("dist", ["ganzoo-sngan", "ganzoo-lsgan", "ganzoo-pacgan"])
def test_the_in_repo_plugins_pass(run_cli, dist: str) -> None:
    result = run_cli("check-plugin", dist)
    assert result.exit_code == 0, result.stdout
    lines = result.stdout.strip().splitlines()
    assert lines[-1].startswith(f"{dist} passes check-plugin (") and not any(line.startswith("FAIL") for line in lines)
    assert any(line.startswith("ok    import ") for line in lines)
    assert sum("one training step" in line for line in lines) >= 1


@pytest.mark.parametrize("data", ["as on this machine", "hidden"])
def test_ganzoos_own_built_ins_pass_the_same_checks(run_cli, monkeypatch, tmp_path: Path, data: str) -> None:
    """The built-ins are plugins like any other: every architecture and loss trains a step, every dataset that needs
    no files loads within its declared range, every metric returns its primary key. With the data folders hidden (a
    fresh machine: no Debian dataset, nothing fetched, an empty cache), what needs files is a skip, never a FAIL."""
    if data == "hidden":
        import ganzoo.data.idx

        monkeypatch.setattr(ganzoo.data.idx, "FASHION_MNIST_DIR", str(tmp_path / "no-debian-datasets"))
        monkeypatch.setenv("GANZOO_CACHE_DIR", str(tmp_path / "empty-cache"))
    result = run_cli("check-plugin", "ganzoo", "--json")
    assert result.exit_code == 0
    checks = json.loads(result.stdout)
    assert not [c for c in checks if c["verdict"] == "FAIL"]
    for arch in ("vanilla", "dcgan", "wgan_gp", "progan"):
        assert any(c["what"].startswith(f"architecture {arch!r}: one training step") and c["verdict"] == "ok"
                   for c in checks)
    # 'wasserstein' needs a Lipschitz critic, which only a plugin (sngan) declares: said, not failed
    assert _verdict(checks, "loss 'wasserstein': not trained")["verdict"] == "warn"
    assert {"verdict": "skip", "what": "dataset 'folder'", "detail": "it needs files: pass --data-dir DIR to check it"} in checks
    if data == "hidden":
        for name, fix in (("fashion_mnist", "install Debian's dataset-fashion-mnist"), ("mnist", "ganzoo fetch mnist")):
            (found,) = [c for c in checks if c["what"] == f"dataset {name!r}"]
            assert found["verdict"] == "skip" and "not on this machine" in found["detail"], found
            assert fix in found["detail"], found  # the reason names what provides the data


def test_an_unknown_distribution_is_one_line(run_cli) -> None:
    result = run_cli("check-plugin", "ganzoo-nope")
    assert result.exit_code == 1 and len(result.stderr.strip().splitlines()) == 1
    assert "no installed distribution named 'ganzoo-nope' provides a ganzoo plugin" in result.stderr
    assert "ganzoo-sngan" in result.stderr  # the ones that are installed


def test_each_fault_is_one_failed_line_naming_it(faulty_site: Path) -> None:
    checks, code = _checks(faulty_site, FAULTY)
    assert code == 1
    imported = _verdict(checks, "import ganzoo_faulty.plugin")
    assert imported["verdict"] == "warn" and "imports torch" in imported["detail"]
    arch = _verdict(checks, "architecture 'wrong_shape': one training step on ring")
    assert arch["verdict"] == "FAIL" and "(3,)" in arch["detail"] and "(2,)" in arch["detail"], arch
    data = _verdict(checks, "dataset 'hot_pixels': load the train split")
    assert data["verdict"] == "FAIL" and "outside info.value_range (-1.0, 1.0)" in data["detail"]
    for kind in ("ring", "digits"):
        metric = _verdict(checks, f"metric 'nameless': score {kind}")
        assert metric["verdict"] == "FAIL" and "without its primary key 'score'" in metric["detail"]
    # only this distribution was loaded: the other installed plugins are not checked
    assert not any("typo_points" in c["what"] or "sngan" in c["what"] for c in checks)


def test_a_misspelled_lazy_target_fails_before_anything_runs_it(faulty_site: Path) -> None:
    proc = run_subprocess(["check-plugin", TYPO], env={"PYTHONPATH": str(faulty_site)})
    assert proc.returncode == 1
    lines = proc.stdout.strip().splitlines()
    assert ("FAIL  dataset 'typo_points': load = lazy('ganzoo_typo.impl:lod'): lazy target 'ganzoo_typo.impl:lod': "
            "module 'ganzoo_typo.impl' has no 'lod'; did you mean ganzoo_typo.impl:load?") in lines
    assert "skip  dataset 'typo_points': training, data and metric checks: a lazy target above does not resolve: fix it first" in lines
    assert lines[-1] == f"{TYPO} fails check-plugin (2 ok, 1 skip, 1 FAIL)"


def test_a_plugin_the_loader_rejects_gets_every_finding_in_one_pass(faulty_site: Path) -> None:
    """A misspelled hook makes the loader reject the plugin whole; check-plugin still names each problem on its own line
    and resolves the lazy targets of the hooks that are well formed, then says what could not run."""
    proc = run_subprocess(["check-plugin", MISSPELT], env={"PYTHONPATH": str(faulty_site)})
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    lines = proc.stdout.strip().splitlines()
    load = "FAIL  load ganzoo_misspelt = ganzoo_misspelt.plugin: "
    assert load + "register_metric is not a ganzoo hook: did you mean 'register_metrics'?" in lines
    assert load + "register_losses is not marked @ganzoo.hookimpl, so ganzoo never calls it: decorate it" in lines
    assert ("FAIL  dataset 'typo_too': load = lazy('ganzoo_misspelt.impl:lod'): lazy target 'ganzoo_misspelt.impl:lod': "
            "module 'ganzoo_misspelt.impl' has no 'lod'; did you mean ganzoo_misspelt.impl:load?") in lines
    assert "ok    dataset 'fine': load = lazy('ganzoo_misspelt.impl:load'): resolves" in lines
    assert ("skip  training, data and metric checks: ganzoo cannot train with ganzoo-misspelt until it loads: fix the "
            "load failures above") in lines
    assert lines[-1] == f"{MISSPELT} fails check-plugin (2 ok, 1 skip, 3 FAIL)"


def test_lazy_problems_names_each_target_that_does_not_resolve() -> None:
    import ganzoo
    from ganzoo.check_plugin import lazy_problems

    good = ganzoo.Dataset(name="good", description="d", kind="points", load=ganzoo.lazy("math:prod"))
    typo = ganzoo.Loss(name="typo", description="d", discriminator=ganzoo.lazy("math:prd"),
                       generator=ganzoo.lazy("no_such_module_here:f"))
    assert lazy_problems([good]) == []
    problems = lazy_problems([good, typo])
    assert problems[0] == "typo.discriminator: lazy target 'math:prd': module 'math' has no 'prd'; did you mean math:prod?"
    assert problems[1].startswith("typo.generator: lazy target 'no_such_module_here:f': module 'no_such_module_here' "
                                  "cannot be imported")
    assert len(problems) == 2
