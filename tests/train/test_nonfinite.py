"""The non-finite guard: a NaN injected into the critic at a chosen step is caught without a per-step host sync, the bad
window is skipped, persistent NaNs roll back with halved learning rates, and a run that cannot recover stops with one
line while its last good checkpoint stays loadable. Nothing non-finite is ever logged or saved."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from torch import nn

import ganzoo
from ganzoo.train import resolve_config, train
from ganzoo.train.checkpoint import load_checkpoint
from ganzoo.train.run import prepare_new_run
from tests.conftest import make_registry

CALLS_PER_STEP = 3  # bce, n_critic 1: D on real and on fake, then once in the generator's update


class PoisonedCritic(nn.Module):
    """Returns NaN scores on forward calls ``first <= call < last`` (1-based), the wrapped critic's otherwise."""

    def __init__(self, inner: nn.Module, first: int, last: int):
        super().__init__()
        self.inner, self.first, self.last, self.calls = inner, first, last, 0

    def forward(self, x: torch.Tensor, y=None) -> torch.Tensor:
        self.calls += 1
        out = self.inner(x, y)
        return out * math.nan if self.first <= self.calls < self.last else out


def _build(info, hp, num_classes=0):
    from ganzoo.zoo.builders import build_vanilla

    models = build_vanilla(info, {"latent_dim": 0, "hidden": 16, "depth": 2, "g_batchnorm": "off"}, num_classes)
    models.discriminator = PoisonedCritic(models.discriminator, hp["nan_from"], hp["nan_until"])
    return models


class Plugin:
    package = "test-poison"

    @staticmethod
    @ganzoo.hookimpl
    def register_architectures(register):
        register(ganzoo.Architecture(name="poisoned", description="vanilla with NaN scores on chosen critic calls", build=_build,
                                     hyperparameters={"nan_from": 0, "nan_until": 0},
                                     training={"batch_size": 32}, capabilities=frozenset({"penalty"})))


def _run(tmp_path: Path, nan_from_step: int, nan_until_step: int, steps: int = 20, **extra):
    registry = make_registry(Plugin)
    options = {"arch": "poisoned", "dataset": "ring", "steps": steps, "log_every": 5, "checkpoint_every": 5,
               "val_every": 0, "sample_every": 0, "seed": 0}
    sets = [f"nan_from={CALLS_PER_STEP * (nan_from_step - 1) + 1}", f"nan_until={CALLS_PER_STEP * nan_until_step + 1}",
            "nonfinite_check_every=5", "data.n=2000", *[f"{k}={v}" for k, v in extra.items()]]
    resolved = resolve_config(registry, options, sets)
    prepare_new_run(tmp_path)
    return registry, train(resolved, tmp_path)


def _records(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_a_nan_at_step_7_skips_its_window_and_the_run_finishes_finite(tmp_path: Path) -> None:
    _, result = _run(tmp_path, 7, 7)
    assert result.status == "finished" and result.step == 20
    records = _records(tmp_path)
    events = [r for r in records if r.get("event") == "nonfinite"]
    assert events == [{"step": 10, "event": "nonfinite", "window": [6, 10], "action": "skip", "resume_from": 5}]
    logged = [r for r in records if "d_loss" in r]
    assert [r["step"] for r in logged] == [5, 10, 15, 20]  # step 10 logged once, after the retry
    assert all(math.isfinite(v) for r in logged for v in r.values() if isinstance(v, float))
    tensors, state = load_checkpoint(tmp_path / "checkpoints" / "last.safetensors")
    assert all(torch.isfinite(t).all() for t in tensors.values() if t.is_floating_point())
    assert state["lr_scale"] == 1.0 and state["rollbacks"] == 0


def test_persistent_nans_roll_back_with_halved_learning_rates_then_stop_as_diverged(tmp_path: Path) -> None:
    _, result = _run(tmp_path, 7, 10**6, nonfinite_patience=2, max_rollbacks=2)
    assert result.status == "diverged"
    actions = [(r["action"], r.get("lr_scale")) for r in _records(tmp_path) if r.get("event") == "nonfinite"]
    assert actions == [("skip", None), ("rollback", 0.5), ("skip", None), ("rollback", 0.25), ("skip", None),
                       ("stop", None)]
    tensors, state = load_checkpoint(tmp_path / "checkpoints" / "last.safetensors")
    assert state["step"] == 5 and all(torch.isfinite(t).all() for t in tensors.values() if t.is_floating_point())


def test_the_cli_reports_divergence_in_one_line_with_exit_1(tmp_path: Path, run_cli, monkeypatch) -> None:
    import ganzoo.registry

    monkeypatch.setattr(ganzoo.registry, "default_registry", lambda: make_registry(Plugin))
    result = run_cli("train", "--arch", "poisoned", "--steps", "20", "--out", str(tmp_path / "run"), "--quiet",
                     "--val-every", "0", "--sample-every", "0", "--log-every", "5", "--set", "nan_from=1",
                     "--set", f"nan_until={10**6}", "--set", "nonfinite_check_every=5", "--set", "max_rollbacks=1",
                     "--set", "nonfinite_patience=1")
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("error: training diverged: losses or gradients stayed NaN/Inf through 1 rollbacks")
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("key, value", [("nonfinite_patience", 0), ("max_rollbacks", -1), ("nonfinite_check_every", -2)])
def test_bad_guard_settings_are_refused(key: str, value: int) -> None:
    with pytest.raises(ganzoo.errors.ConfigError, match=key):
        resolve_config(make_registry(), {"arch": "wgan_gp"}, [f"{key}={value}"])


def test_an_infinite_gradient_behind_a_finite_loss_is_caught_by_the_parameter_check() -> None:
    """The guard watches only the loss per update; a non-finite gradient with a finite loss reaches the parameters
    through Adam (Inf / Inf), and the check at the window's end catches it there and rolls the window back."""
    from ganzoo.train import distributed
    from ganzoo.train.guard import NonFiniteGuard
    from ganzoo.train.state import TrainState

    net = torch.nn.Linear(3, 1)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, fused=True)
    state = TrainState()
    guard = NonFiniteGuard({"D": net}, {"opt_d": opt}, state, torch.device("cpu"), patience=3, max_rollbacks=3)
    good = [p.detach().clone() for p in net.parameters()]
    loss = net(torch.randn(4, 3)).mean()
    loss.backward()
    net.weight.grad[0, 0] = math.inf
    opt.step()
    guard.watch(loss.detach())
    state.step = 1
    assert torch.isfinite(loss) and not torch.isfinite(net.weight).all()
    event = guard.check(distributed.World())
    assert event is not None and event["action"] == "skip" and state.step == 0
    assert all(torch.equal(a, b) for a, b in zip(good, net.parameters()))
    assert guard.check(distributed.World()) is None  # the restored window is clean


def test_the_rollback_snapshot_is_one_copy_reused_in_place_and_restores_exactly() -> None:
    """Bounded guard memory: the snapshot holds one copy of the weights and optimizer state (BatchNorm buffers and
    Adam's moments included), every later take overwrites the same buffers, and a restore brings back exactly what was
    taken without handing the optimizer the snapshot's own tensors (its next update would otherwise change the copy)."""
    from ganzoo.train.guard import Snapshot
    from ganzoo.train.state import TrainState

    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.Linear(4 * 6 * 6, 1))
    net = net.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(net.parameters(), lr=0.1)

    def update() -> None:
        opt.zero_grad()
        net(torch.randn(5, 1, 8, 8)).square().mean().backward()
        opt.step()

    update()
    state = TrainState(step=3)
    snapshot = Snapshot(torch.device("cpu"))
    snapshot.take({"D": net}, {"opt": opt}, state)
    buffers = [b.data_ptr() for b in snapshot.buffers]
    live = [*net.state_dict().values(), *(v for s in opt.state.values() for v in s.values())]
    assert snapshot.nbytes == sum(t.numel() * t.element_size() for t in live)  # one copy, not two
    update()
    snapshot.take({"D": net}, {"opt": opt}, state)
    assert [b.data_ptr() for b in snapshot.buffers] == buffers  # overwritten in place: no allocation per check
    taken = ({k: v.clone() for k, v in net.state_dict().items()},
             {k: v.clone() for k, v in opt.state[next(net.parameters())].items()}, state.step)

    update()
    update()
    state.step = 9
    snapshot.restore({"D": net}, {"opt": opt}, state)
    assert all(torch.equal(v, taken[0][k]) for k, v in net.state_dict().items())
    first = opt.state[next(net.parameters())]
    assert all(torch.equal(first[k], taken[1][k]) for k in taken[1]) and state.step == taken[2] == 3
    assert not {v.data_ptr() for s in opt.state.values() for v in s.values()} & set(buffers)
    update()  # trains on from the restored point, leaving the snapshot as it was
    snapshot.restore({"D": net}, {"opt": opt}, state)
    assert all(torch.equal(v, taken[0][k]) for k, v in net.state_dict().items())
