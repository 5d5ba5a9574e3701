"""Checkpoints: exact round trips, and refusal (one line, nothing unpickled) of anything that is not one of ours."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch

from ganzoo.errors import CheckpointError
from ganzoo.train.checkpoint import flatten_optimizer, load_checkpoint, save_checkpoint, unflatten_optimizer


def test_round_trip_is_exact(tmp_path: Path) -> None:
    tensors = {"a": torch.randn(3, 4), "b/c": torch.arange(5), "rng": torch.Generator().manual_seed(3).get_state()}
    state = {"step": 12, "best": {"value": 0.5}, "arch": "wgan_gp"}
    save_checkpoint(tmp_path / "x.safetensors", tensors, state)
    loaded, loaded_state = load_checkpoint(tmp_path / "x.safetensors", expect={"arch": "wgan_gp"})
    assert loaded_state == state
    assert set(loaded) == set(tensors) and all(torch.equal(loaded[k], tensors[k]) for k in tensors)


def test_optimizer_state_round_trips(tmp_path: Path) -> None:
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.5, 0.9))
    model(torch.randn(4, 3)).sum().backward()
    opt.step()
    tensors, meta = flatten_optimizer("opt", opt.state_dict())
    save_checkpoint(tmp_path / "o.safetensors", tensors, {"opt": meta})
    loaded, state = load_checkpoint(tmp_path / "o.safetensors")
    fresh = torch.optim.Adam(torch.nn.Linear(3, 2).parameters(), lr=1.0)
    fresh.load_state_dict(unflatten_optimizer("opt", loaded, state["opt"]))
    restored = fresh.state_dict()
    assert restored["param_groups"][0]["betas"] == (0.5, 0.9) and restored["param_groups"][0]["lr"] == 1e-3
    for pid, entries in opt.state_dict()["state"].items():
        for key, value in entries.items():
            assert torch.equal(restored["state"][pid][key], value)


def test_wrong_architecture_is_named(tmp_path: Path) -> None:
    save_checkpoint(tmp_path / "x.safetensors", {"a": torch.zeros(1)}, {"arch": "dcgan"})
    with pytest.raises(CheckpointError, match="written for arch 'dcgan', not 'wgan_gp'"):
        load_checkpoint(tmp_path / "x.safetensors", expect={"arch": "wgan_gp"})


class _Boom:
    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.marker}",))


def test_a_pickle_renamed_to_safetensors_is_refused_and_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    boom = _Boom()
    boom.marker = marker
    path = tmp_path / "last.safetensors"
    path.write_bytes(pickle.dumps({"G": boom}))
    with pytest.raises(CheckpointError, match="not a readable safetensors checkpoint"):
        load_checkpoint(path)
    assert not marker.exists()


@pytest.mark.parametrize("damage", ["truncate", "empty", "foreign"])
def test_damaged_or_foreign_files_are_refused(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "c.safetensors"
    save_checkpoint(path, {"a": torch.randn(64, 64)}, {"step": 1})
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:-1000])
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        from safetensors.torch import save_file

        save_file({"weight": torch.zeros(2)}, str(path))
    with pytest.raises(CheckpointError):
        load_checkpoint(path)


def test_atomic_write_keeps_the_old_checkpoint_when_writing_fails(tmp_path: Path) -> None:
    path = tmp_path / "last.safetensors"
    save_checkpoint(path, {"a": torch.ones(2)}, {"step": 1})
    with pytest.raises(Exception):  # noqa: B017 - whatever safetensors raises for a non-tensor: the old file must survive
        save_checkpoint(path, {"a": torch.ones(2), "bad": "not a tensor"}, {"step": 2})  # type: ignore[dict-item]
    tensors, state = load_checkpoint(path)
    assert state["step"] == 1 and torch.equal(tensors["a"], torch.ones(2))
    assert [p.name for p in tmp_path.iterdir()] == ["last.safetensors"]


def test_atomic_files_get_normal_permissions(tmp_path: Path) -> None:
    import os

    from ganzoo.io import atomic_write_bytes

    old = os.umask(0o022)
    try:
        atomic_write_bytes(tmp_path / "new.bin", b"x")
        assert (tmp_path / "new.bin").stat().st_mode & 0o777 == 0o644
        (tmp_path / "kept.bin").write_bytes(b"a")
        os.chmod(tmp_path / "kept.bin", 0o640)
        atomic_write_bytes(tmp_path / "kept.bin", b"b")
        assert (tmp_path / "kept.bin").stat().st_mode & 0o777 == 0o640
    finally:
        os.umask(old)


def test_restored_adam_state_takes_its_parameters_memory_layout() -> None:
    """A checkpoint stores optimizer state contiguous; torch's fused Adam pairs parameter and state elements by memory
    position, so a channels_last weight resumed with a contiguous exp_avg would take wrong steps."""
    from ganzoo.train.models import _adam

    torch.manual_seed(0)
    weight = torch.nn.Parameter(torch.randn(4, 3, 2, 2).contiguous(memory_format=torch.channels_last))
    straight = _adam(torch.nn.ParameterList([weight]), 0.1, (0.5, 0.9), torch.device("cpu"))
    grads = [torch.randn(4, 3, 2, 2) for _ in range(2)]
    weight.grad = grads[0].contiguous(memory_format=torch.channels_last)
    straight.step()
    tensors, meta = flatten_optimizer("opt", straight.state_dict())
    tensors = {k: v.clone() for k, v in tensors.items()}  # as read from a file: nothing shared with `straight`
    resumed_weight = torch.nn.Parameter(weight.detach().clone())
    resumed = _adam(torch.nn.ParameterList([resumed_weight]), 0.1, (0.5, 0.9), torch.device("cpu"))
    resumed.load_state_dict(unflatten_optimizer("opt", tensors, meta))
    assert resumed.state[resumed_weight]["exp_avg"].stride() == resumed_weight.stride()
    for w, opt in ((weight, straight), (resumed_weight, resumed)):
        w.grad = grads[1].contiguous(memory_format=torch.channels_last)
        opt.step()
    assert torch.equal(weight, resumed_weight)
